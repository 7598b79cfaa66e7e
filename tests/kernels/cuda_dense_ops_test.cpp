// The CUDA dense-graph ops (kernels/cuda/dense_ops.h) against the CPU arithmetic of the dense graph
// (inference/model/dense/dense_model.cpp), built on the host as tests/vulkan/vulkan_dense_ops_test.cpp
// builds it, with that test's cases and tolerances (and a few more checks, each with its reason). The
// attention output starts poisoned. Without a device the test exits 77 (skipped).

#include "kernels/cpu/quant/half.h"
#include "kernels/cuda/dense_ops.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/cuda_buffers.h"
#include "tests/kernels/random_inputs.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace lectern::kernels;
namespace quant = lectern::kernels::quant;
using lectern::test::from_device;
using lectern::test::poisoned;
using lectern::test::random_floats;
using lectern::test::to_device;

namespace {

// Checks |actual - expected| <= abs + rel |expected| everywhere; prints the worst error as a share of its
// bound.
void expect_close(const std::string& op, const std::vector<float>& actual, const std::vector<float>& expected,
                  double abs, double rel) {
    double worst = 0, worst_abs = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double tolerance = abs + rel * std::fabs(expected[i]);
        const double error = std::fabs(static_cast<double>(actual[i]) - expected[i]);
        worst = std::max(worst, tolerance > 0 ? error / tolerance : error);
        worst_abs = std::max(worst_abs, error);
        if (!CHECK_CLOSE(actual[i], expected[i], tolerance)) {
            std::fprintf(stderr, "  %s: element %zu of %zu\n", op.c_str(), i, expected.size());
            return;
        }
    }
    std::printf("  %-40s max abs error %.3g, %.2f of the tolerance, over %zu values\n", op.c_str(), worst_abs,
                worst, expected.size());
}

// Whether every fp16 value matches; prints how many differ.
bool same_halves(const std::string& op, const std::vector<std::uint16_t>& actual,
                 const std::vector<std::uint16_t>& expected) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) differ += actual[i] != expected[i];
    std::printf("  %-40s %zu of %zu fp16 values differ\n", op.c_str(), differ, expected.size());
    return CHECK(differ == 0);
}

void silu_mul_parity(std::mt19937& rng) {
    for (const std::size_t count : {std::size_t{1}, std::size_t{1000}, std::size_t{70001}}) {
        const auto a = random_floats(count, rng, 3.0f), b = random_floats(count, rng, 3.0f);
        std::vector<float> expected(count);
        for (std::size_t i = 0; i < count; ++i) expected[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
        // One more float past the end, which the op must leave alone (not in the Vulkan test: it checks
        // the count is honoured).
        auto gate_host = a;
        gate_host.push_back(1234.5f);
        auto gate = to_device(gate_host), up = to_device(b);
        if (!CHECK(cuda::silu_mul(gate.as<float>(), up.as<float>(), static_cast<std::int64_t>(count)).ok()))
            continue;
        auto result = from_device(gate, count + 1);
        CHECK(result[count] == 1234.5f);
        result.pop_back();
        // CUDA's expf is within 2 ulp of exp (the division is IEEE, correctly rounded), where the Vulkan
        // test allows 3 ulp for exp and 2.5 for division: its 1e-5 relative covers them with room.
        expect_close("silu_mul " + std::to_string(count), result, expected, 1e-6, 1e-5);
    }
}

// kv_store on the values where fp16 rounding has its special cases: NaN (quiet, signalling, negative),
// infinities, the largest half and the values either side of where rounding passes it, signed zeros,
// half subnormals and their ties, a float subnormal, and ties to even among normals. Two calls through
// the same first-position buffer, changed in between, as decode steps reuse a captured graph; the row
// after them stays as it was. Not in the Vulkan test, whose inputs are all normal: CUDA's conversion is a
// port of quant::float_to_half and must match it in every bit, these cases included.
void kv_store_special_values() {
    const std::uint32_t specials[] = {0x7FC01234u,
                                      0x7F800001u,
                                      0xFFC00000u,
                                      0x7F800000u,
                                      0xFF800000u,
                                      0x477FE000u /* 65504 */,
                                      0x477FEFFFu /* rounds to 65504 */,
                                      0x477FF000u /* to infinity */,
                                      0x80000000u,
                                      0x00000000u,
                                      0x33800000u /* 2^-24 */,
                                      0x33000000u /* 2^-25: tie to 0 */,
                                      0x33C00000u /* 3 * 2^-25: tie to 2^-23 */,
                                      0x00000001u /* float subnormal */,
                                      0x38800000u /* 2^-14 */,
                                      0x387FFFFFu /* just below 2^-14 */,
                                      0x3F801000u /* 1 + 2^-11: tie to 1 */,
                                      0x3F803000u /* 1 + 3 * 2^-11: tie up */,
                                      0xBF801001u /* just past a tie */,
                                      0x3EAAAAABu /* 1/3 */};
    const std::int64_t kv_dim = static_cast<std::int64_t>(std::size(specials)), rows = 2, capacity = 5;
    std::vector<float> keys(static_cast<std::size_t>(rows * kv_dim)), values(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        keys[i] = std::bit_cast<float>(specials[i % std::size(specials)]);
        values[i] = -std::bit_cast<float>(specials[(i + 7) % std::size(specials)]);
    }
    std::vector<std::uint16_t> expected_keys(static_cast<std::size_t>(capacity * kv_dim), 0x1234u),
        expected_values(expected_keys.size(), 0x4321u);
    auto key_cache = to_device(expected_keys), value_cache = to_device(expected_values);
    auto key_rows = to_device(keys), value_rows = to_device(values);
    auto first = to_device(std::vector<std::uint32_t>{0});
    for (const std::uint32_t position : {0u, 2u}) {
        CHECK(first.upload(&position, sizeof(position)).ok());
        CHECK(cuda::kv_store(key_rows.as<float>(), value_rows.as<float>(), rows, kv_dim,
                             key_cache.as<std::uint16_t>(), value_cache.as<std::uint16_t>(), capacity,
                             first.as<std::uint32_t>())
                  .ok());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            expected_keys[position * kv_dim + i] = quant::float_to_half(keys[i]);
            expected_values[position * kv_dim + i] = quant::float_to_half(values[i]);
        }
    }
    same_halves("kv_store special keys", from_device<std::uint16_t>(key_cache, expected_keys.size()),
                expected_keys);
    same_halves("kv_store special values", from_device<std::uint16_t>(value_cache, expected_values.size()),
                expected_values);
}

void kv_store_and_attention_parity(std::mt19937& rng) {
    struct Shape {
        int rows, first, heads, kv_heads, head_dim;
    };
    // Decode (one row), a prefill slice into an empty cache, and a slice after earlier positions; a head
    // size above the block width; positions past the 128-wide tiles (and the Vulkan shader's 64-wide ones).
    for (const Shape shape : {Shape{1, 0, 9, 3, 64}, Shape{1, 130, 9, 3, 64}, Shape{64, 0, 9, 3, 64},
                              Shape{17, 80, 4, 1, 128}, Shape{5, 3, 2, 2, 256}}) {
        const int capacity = shape.first + shape.rows + 7;
        const int kv_dim = shape.kv_heads * shape.head_dim, q_dim = shape.heads * shape.head_dim;
        const std::string name = std::to_string(shape.rows) + " rows at " + std::to_string(shape.first) +
                                 ", " + std::to_string(shape.heads) + "/" + std::to_string(shape.kv_heads) +
                                 " heads of " + std::to_string(shape.head_dim);
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
        auto key_cache = to_device(keys), value_cache = to_device(values);
        auto key_rows = to_device(new_keys), value_rows = to_device(new_values);
        auto first = to_device(std::vector<std::uint32_t>{static_cast<std::uint32_t>(shape.first)});
        for (std::size_t i = 0; i < new_keys.size(); ++i) {
            keys[static_cast<std::size_t>(shape.first * kv_dim) + i] = quant::float_to_half(new_keys[i]);
            values[static_cast<std::size_t>(shape.first * kv_dim) + i] = quant::float_to_half(new_values[i]);
        }
        if (CHECK(cuda::kv_store(key_rows.as<float>(), value_rows.as<float>(), shape.rows, kv_dim,
                                 key_cache.as<std::uint16_t>(), value_cache.as<std::uint16_t>(), capacity,
                                 first.as<std::uint32_t>())
                      .ok())) {
            // fp32 -> fp16 with round-to-nearest-even on both sides: the same bits, and the rows before and
            // after the new ones untouched.
            same_halves("kv_store keys, " + name, from_device<std::uint16_t>(key_cache, keys.size()), keys);
            same_halves("kv_store values, " + name, from_device<std::uint16_t>(value_cache, values.size()),
                        values);
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
        auto query_buffer = to_device(queries);
        auto out = poisoned(queries.size());
        if (CHECK(cuda::causal_attention(query_buffer.as<float>(), shape.rows, shape.heads, shape.kv_heads,
                                         shape.head_dim, key_cache.as<std::uint16_t>(),
                                         value_cache.as<std::uint16_t>(), capacity, first.as<std::uint32_t>(),
                                         scale, out.as<float>())
                      .ok()))
            // The sums run in another order (fp32, with fma), and a probability a few ulp away in fp32 may
            // round to the neighbouring fp16 value (2^-11 relative); with values of size ~1 and
            // probabilities that sum to 1, 2e-3 absolute bounds both with room.
            expect_close("causal_attention, " + name, from_device(out, queries.size()), expected, 2e-3, 0);
    }
}

// Shapes the ops refuse, before any launch (so null pointers are never followed).
void errors_are_reported() {
    // 3 query heads over 2 key/value heads (the Vulkan test's case).
    CHECK(!cuda::causal_attention(nullptr, 1, 3, 2, 8, nullptr, nullptr, 4, nullptr, 1.0f, nullptr).ok());
    // Head sizes odd and past the largest (the Vulkan op refuses them too).
    CHECK(!cuda::causal_attention(nullptr, 1, 2, 1, 7, nullptr, nullptr, 4, nullptr, 1.0f, nullptr).ok());
    CHECK(!cuda::causal_attention(nullptr, 1, 2, 1, 258, nullptr, nullptr, 4, nullptr, 1.0f, nullptr).ok());
    // A cache too small for the rows written, and no columns.
    CHECK(!cuda::kv_store(nullptr, nullptr, 5, 8, nullptr, nullptr, 4, nullptr).ok());
    CHECK(!cuda::kv_store(nullptr, nullptr, 1, 0, nullptr, nullptr, 4, nullptr).ok());
}

} // namespace

int main() {
    if (const auto available = cuda::device_available(); !available.ok()) {
        std::printf("kernels_cuda_dense_ops: skipped: %s\n", available.error().c_str());
        return 77;
    }
    std::mt19937 rng(99);
    silu_mul_parity(rng);
    kv_store_special_values();
    kv_store_and_attention_parity(rng);
    errors_are_reported();
    return lectern::test::finish("kernels_cuda_dense_ops");
}
