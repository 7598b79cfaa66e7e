// The dense graph's Vulkan ops (kernels/vulkan/dense_ops.h) against the CPU arithmetic of the dense graph
// (inference/model/dense/dense_model.cpp), with the shader variants the device allows and again with the
// portable fallbacks forced. Tolerances are stated beside each check.

#include "kernels/cpu/quant/half.h"
#include "kernels/vulkan/dense_ops.h"
#include "tests/vulkan/device_buffers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

using namespace lectern::kernels;
namespace quant = lectern::kernels::quant;
using lectern::test::device_zeros;
using lectern::test::expect_close;
using lectern::test::from_device;
using lectern::test::random_floats;
using lectern::test::run_op;
using lectern::test::to_device;

namespace {

void elementwise_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const std::size_t count : {std::size_t{1}, std::size_t{1000}, std::size_t{70001}}) {
        const auto a = random_floats(count, rng, 3.0f), b = random_floats(count, rng, 3.0f);
        std::vector<float> sum(count), swiglu(count);
        for (std::size_t i = 0; i < count; ++i) {
            sum[i] = a[i] + b[i];
            swiglu[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
        }
        auto y = to_device(context, a), x = to_device(context, b);
        if (run_op(context, "add_in_place", [&](vulkan::Stream& s) {
                return vulkan::add_in_place(s, y.span(), x.span(), static_cast<std::int64_t>(count));
            }))
            // One fp32 addition, correctly rounded on every Vulkan device: bit-equal.
            expect_close("add_in_place", from_device<float>(context, y, count), sum, 0, 0);
        auto gate = to_device(context, a);
        if (run_op(context, "silu_mul", [&](vulkan::Stream& s) {
                return vulkan::silu_mul(s, gate.span(), x.span(), static_cast<std::int64_t>(count));
            }))
            // The shader's exp and division may be a few ulp from the C library's (Vulkan allows 3 ulp
            // for exp, 2.5 for division): 1e-5 relative covers them with room.
            expect_close("silu_mul", from_device<float>(context, gate, count), swiglu, 1e-6, 1e-5);
    }
    auto small = device_zeros<float>(context, 4);
    auto refused = context.create_stream();
    CHECK(refused.ok() && !vulkan::add_in_place(*refused, small.span(), small.span(), 5).ok());
}

// The cache after storing rows at `first`, as the CPU graph keeps it: float_to_half of each value.
void kv_store_and_attention_parity(vulkan::Context& context, std::mt19937& rng) {
    struct Shape {
        int rows, first, heads, kv_heads, head_dim;
    };
    // Decode (one row), a prefill slice into an empty cache, and a slice after earlier positions; a head
    // size above the workgroup width; positions past the 64-wide tiles.
    for (const Shape shape : {Shape{1, 0, 9, 3, 64}, Shape{1, 130, 9, 3, 64}, Shape{64, 0, 9, 3, 64},
                              Shape{17, 80, 4, 1, 128}, Shape{5, 3, 2, 2, 256}}) {
        const int capacity = shape.first + shape.rows + 7;
        const int kv_dim = shape.kv_heads * shape.head_dim, q_dim = shape.heads * shape.head_dim;
        // Earlier positions' cache, then the new rows stored by kv_store.
        std::vector<std::uint16_t> keys(static_cast<std::size_t>(capacity * kv_dim)), values(keys.size());
        const auto old_keys = random_floats(keys.size(), rng, 1.0f),
                   old_values = random_floats(keys.size(), rng, 1.0f);
        for (std::size_t i = 0; i < keys.size(); ++i) {
            keys[i] = quant::float_to_half(old_keys[i]);
            values[i] = quant::float_to_half(old_values[i]);
        }
        const auto new_keys = random_floats(static_cast<std::size_t>(shape.rows * kv_dim), rng, 1.0f),
                   new_values = random_floats(new_keys.size(), rng, 1.0f);
        auto key_cache = to_device(context, keys), value_cache = to_device(context, values);
        auto key_rows = to_device(context, new_keys), value_rows = to_device(context, new_values);
        auto first = to_device(context, std::vector<std::uint32_t>{static_cast<std::uint32_t>(shape.first)});
        for (std::size_t i = 0; i < new_keys.size(); ++i) {
            keys[static_cast<std::size_t>(shape.first * kv_dim) + i] = quant::float_to_half(new_keys[i]);
            values[static_cast<std::size_t>(shape.first * kv_dim) + i] = quant::float_to_half(new_values[i]);
        }
        if (run_op(context, "kv_store", [&](vulkan::Stream& s) {
                return vulkan::kv_store(s, key_rows.span(), value_rows.span(), shape.rows, kv_dim,
                                        key_cache.span(), value_cache.span(), capacity, first.span());
            })) {
            // fp32 -> fp16 with round-to-nearest-even on both sides: the same bits.
            const auto stored_keys = from_device<std::uint16_t>(context, key_cache, keys.size());
            const auto stored_values = from_device<std::uint16_t>(context, value_cache, values.size());
            std::size_t differing = 0;
            for (std::size_t i = 0; i < keys.size(); ++i)
                differing += (stored_keys[i] != keys[i]) + (stored_values[i] != values[i]);
            CHECK(differing == 0);
            if (differing) std::fprintf(stderr, "  kv_store: %zu fp16 values differ\n", differing);
        }

        const auto queries = random_floats(static_cast<std::size_t>(shape.rows * q_dim), rng, 1.0f);
        const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.head_dim)));
        std::vector<float> expected(queries.size());
        const int group = shape.heads / shape.kv_heads;
        for (int t = 0; t < shape.rows; ++t)
            for (int head = 0; head < shape.heads; ++head) {
                const int visible = shape.first + t + 1, kv_head = head / group, d = shape.head_dim;
                std::vector<float> query(static_cast<std::size_t>(d)),
                    scores(static_cast<std::size_t>(visible));
                for (int i = 0; i < d; ++i)
                    query[i] = quant::half_to_float(quant::float_to_half(queries[t * q_dim + head * d + i]));
                float top = -std::numeric_limits<float>::infinity();
                for (int j = 0; j < visible; ++j) {
                    float dot = 0;
                    for (int i = 0; i < d; ++i)
                        dot += query[i] * quant::half_to_float(keys[j * kv_dim + kv_head * d + i]);
                    scores[j] = dot * scale;
                    top = std::max(top, scores[j]);
                }
                double total = 0;
                for (float& s : scores) total += (s = std::exp(s - top));
                for (int i = 0; i < d; ++i) {
                    float acc = 0;
                    for (int j = 0; j < visible; ++j)
                        acc += quant::half_to_float(
                                   quant::float_to_half(scores[j] * static_cast<float>(1.0 / total))) *
                               quant::half_to_float(values[j * kv_dim + kv_head * d + i]);
                    expected[t * q_dim + head * d + i] = acc;
                }
            }
        auto query_buffer = to_device(context, queries);
        auto out = device_zeros<float>(context, queries.size());
        if (run_op(context, "causal_attention", [&](vulkan::Stream& s) {
                return vulkan::causal_attention(
                    s, query_buffer.span(), shape.rows, shape.heads, shape.kv_heads, shape.head_dim,
                    key_cache.span(), value_cache.span(), capacity, first.span(), scale, out.span());
            }))
            // The sums run in another order (fp32), and a probability a few ulp away in fp32 may round to
            // the neighbouring fp16 value (2^-11 relative); with values of size ~1 and probabilities that
            // sum to 1, 2e-3 absolute bounds both with room.
            expect_close("causal_attention", from_device<float>(context, out, queries.size()), expected, 2e-3,
                         0);
    }
    auto stream = context.create_stream();
    auto tiny = device_zeros<float>(context, 64);
    CHECK(stream.ok() && !vulkan::causal_attention(*stream, tiny.span(), 1, 3, 2, 8, tiny.span(), tiny.span(),
                                                   4, tiny.span(), 1.0f, tiny.span())
                              .ok()); // 3 query heads over 2 key/value heads: refused
}

void all_ops(vulkan::Context& context, std::mt19937& rng) {
    elementwise_parity(context, rng);
    kv_store_and_attention_parity(context, rng);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_dense_ops", {});
    std::printf("device: %s; subgroup arithmetic %d\n", context->device().name.c_str(),
                context->features().subgroup_arithmetic);
    std::mt19937 rng(99);
    all_ops(*context, rng);
    context.reset();
    vulkan::ContextOptions fallback;
    fallback.force_fallback = true;
    auto portable = lectern::test::open_context_or_skip("vulkan_dense_ops", fallback);
    std::printf("portable fallback variants:\n");
    all_ops(*portable, rng);
    return lectern::test::finish("vulkan_dense_ops");
}
