// Every Vulkan op against the CPU reference (kernels/cpu/ops.h), once with the shader variants the device
// allows and once with the portable fallbacks forced. Tolerances are stated per op, with the reason.

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/matmul.h"
#include "kernels/vulkan/ops.h"
#include "tests/vulkan/device_buffers.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace lectern::kernels;
using lectern::test::device_zeros;
using lectern::test::expect_close;
using lectern::test::from_device;
using lectern::test::random_floats;
using lectern::test::random_gguf_rows;
using lectern::test::run_op;
using lectern::test::to_device;

namespace {

// As expect_close, with a tolerance per element.
void expect_within(const char* op, const std::vector<float>& actual, const std::vector<float>& expected,
                   const std::vector<float>& tolerance) {
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - expected[i]) / tolerance[i]);
        if (!CHECK_CLOSE(actual[i], expected[i], tolerance[i])) {
            std::fprintf(stderr, "  %s: element %zu of %zu\n", op, i, expected.size());
            return;
        }
    }
    std::printf("  %-28s max error %.2f of the tolerance over %zu values\n", op, worst, expected.size());
}

void rms_norm_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const auto& [rows, n] : {std::pair<int, int>{1, 1}, {3, 255}, {7, 4096}, {2, 10000}}) {
        for (const bool with_weight : {true, false}) {
            const auto x = random_floats(static_cast<std::size_t>(rows) * n, rng, 2.0f);
            const auto w = random_floats(static_cast<std::size_t>(n), rng, 2.0f);
            std::vector<float> expected(x.size());
            cpu::rms_norm(x.data(), with_weight ? w.data() : nullptr, expected.data(), rows, n, 1e-6f);
            vulkan::Buffer dx = to_device(context, x), dw = to_device(context, w);
            vulkan::Buffer dy = device_zeros<float>(context, x.size());
            if (!run_op(context, "rms_norm", [&](vulkan::Stream& s) {
                    return vulkan::rms_norm(s, dx.span(),
                                            with_weight ? std::optional(dw.span()) : std::nullopt, dy.span(),
                                            rows, n, 1e-6f);
                }))
                continue;
            // fp32 sums in another order than the double reference: relative error well under 1e-5.
            expect_close("rms_norm", from_device<float>(context, dy, x.size()), expected, 1e-5, 1e-5);
        }
    }
}

// Random weights of each format, as the checkpoints store them (no NaN codes; scales near 1).
struct HostWeight {
    std::vector<std::uint8_t> data, scales;
    cpu::WeightMatrix matrix;
};

HostWeight random_weight(cpu::WeightFormat format, std::int64_t out, std::int64_t in, std::mt19937& rng) {
    HostWeight w;
    std::uniform_int_distribution<int> byte(0, 255), scale(118, 130);
    w.data.resize(cpu::weight_data_bytes(format, out, in));
    w.scales.resize(cpu::weight_scale_bytes(format, out, in));
    const auto normal = random_floats(static_cast<std::size_t>(out * in), rng, 0.5f);
    for (std::size_t i = 0; i < normal.size(); ++i) {
        switch (format) {
        case cpu::WeightFormat::F32:
            std::memcpy(&w.data[i * 4], &normal[i], 4);
            break;
        case cpu::WeightFormat::BF16: {
            const std::uint16_t bits = cpu::f32_to_bf16(normal[i]);
            std::memcpy(&w.data[i * 2], &bits, 2);
            break;
        }
        case cpu::WeightFormat::F8_E4M3_BLOCK128:
            w.data[i] = cpu::f32_to_e4m3(normal[i] * 64.0f);
            break;
        case cpu::WeightFormat::FP4_E2M1_BLOCK32:
            if (i % 2 == 0) w.data[i / 2] = static_cast<std::uint8_t>(byte(rng));
            break;
        case cpu::WeightFormat::GGUF_BLOCK: // random_gguf_rows makes these
            break;
        }
    }
    for (std::uint8_t& s : w.scales) s = static_cast<std::uint8_t>(scale(rng));
    w.matrix = {format, w.data.data(), w.scales.empty() ? nullptr : w.scales.data(), out, in};
    return w;
}

const char* format_name(cpu::WeightFormat format) {
    switch (format) {
    case cpu::WeightFormat::F32:
        return "linear F32";
    case cpu::WeightFormat::BF16:
        return "linear BF16";
    case cpu::WeightFormat::F8_E4M3_BLOCK128:
        return "linear F8_E4M3_BLOCK128";
    case cpu::WeightFormat::FP4_E2M1_BLOCK32:
        return "linear FP4_E2M1_BLOCK32";
    case cpu::WeightFormat::GGUF_BLOCK:
        return "linear GGUF_BLOCK";
    }
    return "linear";
}

void linear_parity(vulkan::Context& context, std::mt19937& rng) {
    struct Shape {
        std::int64_t rows, out, in;
    };
    for (const cpu::WeightFormat format :
         {cpu::WeightFormat::F32, cpu::WeightFormat::BF16, cpu::WeightFormat::F8_E4M3_BLOCK128,
          cpu::WeightFormat::FP4_E2M1_BLOCK32}) {
        // A decode step (one row), and small prefill chunks with partial scale blocks and row tiles.
        // Below 8 rows the matrix-vector kernel runs, from 8 on the tiled one (with partial tiles here).
        for (const Shape shape : {Shape{1, 300, 4096}, Shape{5, 129, 992}, Shape{20, 129, 992}}) {
            const HostWeight w = random_weight(format, shape.out, shape.in, rng);
            const auto x = random_floats(static_cast<std::size_t>(shape.rows * shape.in), rng, 2.0f);
            std::vector<float> expected(static_cast<std::size_t>(shape.rows * shape.out));
            cpu::linear_reference(x.data(), shape.rows, w.matrix, expected.data());

            vulkan::Buffer dx = to_device(context, x), dw = to_device(context, w.data);
            vulkan::Buffer ds =
                to_device(context, w.scales.empty() ? std::vector<std::uint8_t>(1) : w.scales);
            vulkan::Buffer dy = device_zeros<float>(context, expected.size());
            vulkan::DeviceWeight weight{format, dw.span(), std::nullopt, shape.out, shape.in};
            if (!w.scales.empty()) weight.scales = ds.span();
            if (!run_op(context, "linear", [&](vulkan::Stream& s) {
                    return vulkan::linear(s, dx.span(), shape.rows, weight, dy.span());
                }))
                continue;
            // fp32 accumulation in a tree against the double reference: the error is bounded by a few
            // fp32 epsilons (1.2e-7) times sum |x_i w_i|; 5e-7 leaves room for 4096-term sums.
            std::vector<float> bound(expected.size());
            std::vector<float> row(static_cast<std::size_t>(shape.in));
            for (std::int64_t o = 0; o < shape.out; ++o) {
                cpu::dequantize_row(w.matrix, o, row.data());
                for (std::int64_t r = 0; r < shape.rows; ++r) {
                    double magnitude = 0;
                    for (std::int64_t i = 0; i < shape.in; ++i)
                        magnitude += std::fabs(static_cast<double>(x[r * shape.in + i]) * row[i]);
                    bound[r * shape.out + o] = static_cast<float>(1e-6 + 5e-7 * magnitude);
                }
            }
            expect_within(format_name(format), from_device<float>(context, dy, expected.size()), expected,
                          bound);
        }
    }
}

void linear_gguf_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const DType type : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                             DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K,
                             DType::Q6_K, DType::MXFP4, DType::IQ2_XXS}) {
        CHECK(vulkan::linear_gguf_supports(type));
        // Q4_0, Q4_1 and Q8_0 quantize the activations to 8-bit blocks, as the CPU does: they are checked
        // against the CPU's product (quant::matmul), every other type against the exact one.
        const bool quantized = type == DType::Q4_0 || type == DType::Q4_1 || type == DType::Q8_0;
        for (const std::int64_t rows : {2, 11}) { // the matrix-vector and the tiled (or many-row) kernel
            const std::int64_t out = 67, in = 512;
            const auto w = random_gguf_rows(type, out, in, rng);
            const auto x = random_floats(static_cast<std::size_t>(rows * in), rng, 2.0f);
            const std::size_t row_bytes = static_cast<std::size_t>(*dtype_bytes(type, in));
            std::vector<float> expected(static_cast<std::size_t>(rows * out)), bound(expected.size());
            std::vector<float> decoded(static_cast<std::size_t>(in));
            if (quantized)
                quant::matmul(type, reinterpret_cast<const std::byte*>(w.data()), out, in, x.data(), rows,
                              expected.data());
            for (std::int64_t o = 0; o < out; ++o) {
                const std::uint8_t* row = w.data() + static_cast<std::size_t>(o) * row_bytes;
                quant::dequantize_row(type, row, decoded.data(), in);
                for (std::int64_t r = 0; r < rows; ++r) {
                    const float* xr = x.data() + r * in;
                    if (!quantized)
                        expected[static_cast<std::size_t>(r * out + o)] =
                            static_cast<float>(quant::dot_reference(type, row, xr, in));
                    double magnitude = 0;
                    for (std::int64_t i = 0; i < in; ++i)
                        magnitude += std::fabs(static_cast<double>(xr[i]) * decoded[i]);
                    // As for linear; the per-element decode may also fuse a multiply-add (one more rounding).
                    // Quantized: the same block products summed in another order (and the CPU rounds each
                    // 8-lane part of a block apart): a few float roundings of the sum of |w x|, while one
                    // activation rounded differently would be off by about |w| amax / 127.
                    bound[static_cast<std::size_t>(r * out + o)] =
                        static_cast<float>(1e-6 + (quantized ? 2.5e-7 : 5e-7) * magnitude);
                }
            }
            vulkan::Buffer dx = to_device(context, x), dw = to_device(context, w);
            vulkan::Buffer dy = device_zeros<float>(context, expected.size());
            const std::string op = "linear_gguf " + std::string(dtype_info(type).name);
            if (!run_op(context, op.c_str(), [&](vulkan::Stream& s) {
                    return vulkan::linear_gguf(s, dx.span(), rows, type, dw.span(), out, in, dy.span());
                }))
                continue;
            const auto y = from_device<float>(context, dy, expected.size());
            expect_within(op.c_str(), y, expected, bound);
            // linear on a GGUF_BLOCK weight (a model's cpu::WeightMatrix) is linear_gguf.
            const vulkan::DeviceWeight weight{
                cpu::WeightFormat::GGUF_BLOCK, dw.span(), std::nullopt, out, in, type};
            vulkan::Buffer dz = device_zeros<float>(context, expected.size());
            if (run_op(context, "linear GGUF_BLOCK", [&](vulkan::Stream& s) {
                    return vulkan::linear(s, dx.span(), rows, weight, dz.span());
                }))
                CHECK(from_device<float>(context, dz, expected.size()) == y);
        }
    }
    // Types without a kernel, and rows that are not whole blocks, are refused with a message.
    vulkan::Buffer one = device_zeros<float>(context, 1024);
    auto stream = context.create_stream();
    CHECK(stream.ok());
    if (!stream) return;
    const auto no_kernel =
        vulkan::linear_gguf(*stream, one.span(), 1, DType::Q8_K, one.span(), 1, 256, one.span());
    CHECK(!no_kernel.ok() && no_kernel.error().find("Q8_K") != std::string::npos);
    CHECK(!vulkan::linear_gguf(*stream, one.span(), 1, DType::Q8_0, one.span(), 1, 48, one.span()).ok());
}

// The activation quantization bit for bit: one block of 32 per row and weights that pick one quantized
// value each (Q8_0 rows with d = 1 and a single q = 1: y[r, o] = d_x q_x[o]) or the block's scaled sum
// (Q4_1 rows with d = 0 and m = 1: y = s_x), so each output is one product of exact values and the device
// must give the CPU's bits. The rows span 2^-20 .. 2^20, hold exact ties of x * 127 / amax, and zeros.
void activation_quantization_exact(vulkan::Context& context, std::mt19937& rng) {
    const std::int64_t rows = 1024, in = 32, out = 32;
    std::vector<float> x = random_floats(static_cast<std::size_t>(rows * in), rng, 1.0f);
    std::uniform_int_distribution<int> exponent(-20, 20);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < in; ++j)
            x[static_cast<std::size_t>(r * in + j)] *= std::ldexp(1.0f, exponent(rng) / (j % 4 == 0 ? 1 : 2));
    for (std::int64_t j = 0; j < in; ++j) {
        x[static_cast<std::size_t>(j)] = j == 0 ? 127.0f : static_cast<float>(j % 8) - 3.5f; // 127 / amax = 1
        x[static_cast<std::size_t>(in + j)] = 0.0f;
    }
    const std::uint16_t one = quant::float_to_half(1.0f);
    std::vector<std::uint8_t> q8(static_cast<std::size_t>(out * 34), 0),
        q4_1(static_cast<std::size_t>(out * 20), 0);
    for (std::int64_t o = 0; o < out; ++o) {
        std::memcpy(q8.data() + o * 34, &one, 2);
        q8[static_cast<std::size_t>(o * 34 + 2 + o)] = 1;
        std::memcpy(q4_1.data() + o * 20 + 2, &one, 2); // d = 0, m = 1
    }
    vulkan::Buffer dx = to_device(context, x);
    for (const auto& [type, weights] : {std::pair{DType::Q8_0, &q8}, std::pair{DType::Q4_1, &q4_1}}) {
        std::vector<float> expected(static_cast<std::size_t>(rows * out));
        quant::matmul(type, reinterpret_cast<const std::byte*>(weights->data()), out, in, x.data(), rows,
                      expected.data());
        vulkan::Buffer dw = to_device(context, *weights);
        vulkan::Buffer dy = device_zeros<float>(context, expected.size());
        const std::string op = "activation quantization " + std::string(dtype_info(type).name);
        if (!run_op(context, op.c_str(), [&](vulkan::Stream& s) {
                return vulkan::linear_gguf(s, dx.span(), rows, type, dw.span(), out, in, dy.span());
            }))
            continue;
        const auto y = from_device<float>(context, dy, expected.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            differ += std::memcmp(&y[i], &expected[i], sizeof(float)) != 0;
        std::printf("  %-28s %zu of %zu values differ from the CPU's bits\n", op.c_str(), differ, y.size());
        CHECK(differ == 0);
    }
}

// The IQ2_XXS decode bit for bit: identity activations make each output one decoded weight times 1 plus
// zeros, so the device's values must equal the CPU's (which equal gguf-py's) exactly, in both kernels.
void iq2_xxs_decode_exact(vulkan::Context& context, std::mt19937& rng) {
    const std::int64_t out = 24, in = 512;
    const auto w = random_gguf_rows(DType::IQ2_XXS, out, in, rng);
    const std::size_t row_bytes = static_cast<std::size_t>(*dtype_bytes(DType::IQ2_XXS, in));
    std::vector<float> decoded(static_cast<std::size_t>(out * in));
    for (std::int64_t o = 0; o < out; ++o)
        quant::dequantize_row(DType::IQ2_XXS, w.data() + static_cast<std::size_t>(o) * row_bytes,
                              decoded.data() + o * in, in);
    vulkan::Buffer dw = to_device(context, w);
    for (const std::int64_t first : {std::int64_t{0}, std::int64_t{300}}) {
        // rows [first, first + count) of the identity: 4 rows (matrix-vector kernel), then 212 (tiled).
        const std::int64_t rows = first == 0 ? 4 : in - first;
        std::vector<float> x(static_cast<std::size_t>(rows * in), 0.0f);
        for (std::int64_t r = 0; r < rows; ++r) x[static_cast<std::size_t>(r * in + first + r)] = 1.0f;
        vulkan::Buffer dx = to_device(context, x);
        vulkan::Buffer dy = device_zeros<float>(context, static_cast<std::size_t>(rows * out));
        if (!run_op(context, "linear_gguf IQ2_XXS decode", [&](vulkan::Stream& s) {
                return vulkan::linear_gguf(s, dx.span(), rows, DType::IQ2_XXS, dw.span(), out, in, dy.span());
            }))
            continue;
        const auto y = from_device<float>(context, dy, static_cast<std::size_t>(rows * out));
        std::size_t differ = 0;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t o = 0; o < out; ++o)
                differ += y[static_cast<std::size_t>(r * out + o)] !=
                          decoded[static_cast<std::size_t>(o * in + first + r)];
        CHECK(differ == 0);
        std::printf("  %-28s %zu of %lld decoded weights differ\n", "IQ2_XXS decode", differ,
                    static_cast<long long>(rows * out));
    }
}

void rope_parity(vulkan::Context& context, std::mt19937& rng) {
    // Partial rope as DeepSeek-V4 does it: the last 64 of 192 dims of each head; positions up to ~10^6.
    const std::int64_t rows = 5, heads = 3, head_dim = 192, offset = 128, pairs = 32;
    std::vector<float> frequencies(pairs);
    for (std::int64_t i = 0; i < pairs; ++i)
        frequencies[i] = static_cast<float>(std::pow(10000.0, -2.0 * static_cast<double>(i) / (2 * pairs)));
    const std::vector<double> positions{0, 1, 37, 65535.5, 1048575};
    for (const bool inverse : {false, true}) {
        const auto x = random_floats(static_cast<std::size_t>(rows * heads * head_dim), rng, 2.0f);
        auto expected = x;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t h = 0; h < heads; ++h)
                cpu::rope_interleaved(expected.data() + (r * heads + h) * head_dim + offset, pairs,
                                      frequencies.data(), positions[static_cast<std::size_t>(r)], inverse);
        vulkan::Buffer dx = to_device(context, x);
        vulkan::Buffer table = to_device(context, cpu::rope_cos_sin(positions, frequencies.data(), pairs));
        if (!run_op(context, "rope_interleaved", [&](vulkan::Stream& s) {
                return vulkan::rope_interleaved(s, dx.span(), table.span(), rows, heads, head_dim, offset,
                                                pairs, inverse);
            }))
            continue;
        // The same float cos/sin and one multiply-add per output: only an FMA contraction can differ.
        expect_close("rope_interleaved", from_device<float>(context, dx, x.size()), expected, 1e-6, 1e-6);
    }
}

void hadamard_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const auto& [rows, n] : {std::pair<std::int64_t, std::int64_t>{3, 128}, {2, 4096}, {1, 1}}) {
        const auto x = random_floats(static_cast<std::size_t>(rows * n), rng, 2.0f);
        auto expected = x;
        for (std::int64_t r = 0; r < rows; ++r) cpu::hadamard(expected.data() + r * n, n);
        vulkan::Buffer dx = to_device(context, x);
        if (!run_op(context, "hadamard",
                    [&](vulkan::Stream& s) { return vulkan::hadamard(s, dx.span(), rows, n); }))
            continue;
        // The same butterflies in the same order and the same scale: exact.
        expect_close("hadamard", from_device<float>(context, dx, x.size()), expected, 0, 0);
    }
}

void sinkhorn_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const auto& [count, k] : {std::pair<std::int64_t, std::int64_t>{100, 4}, {3, 7}}) {
        const auto m = random_floats(static_cast<std::size_t>(count * k * k), rng, 2.0f);
        auto expected = m;
        for (std::int64_t i = 0; i < count; ++i) cpu::sinkhorn(expected.data() + i * k * k, k, 20, 1e-6f);
        vulkan::Buffer dm = to_device(context, m);
        if (!run_op(context, "sinkhorn",
                    [&](vulkan::Stream& s) { return vulkan::sinkhorn(s, dm.span(), count, k, 20, 1e-6f); }))
            continue;
        // Same order of operations; exp and division may differ by an ulp or two, over 20 iterations.
        expect_close("sinkhorn", from_device<float>(context, dm, m.size()), expected, 1e-6, 1e-5);
    }
}

void sink_attention_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const auto& [heads, count, dim] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{4, 300, 128},
                                            {2, 1, 512},
                                            {3, 700, 64},
                                            {2, 333, 100}}) {
        const auto queries = random_floats(static_cast<std::size_t>(heads * dim), rng, 0.3f);
        const auto entries = random_floats(static_cast<std::size_t>(count * dim), rng, 1.0f);
        const auto sinks = random_floats(static_cast<std::size_t>(heads), rng, 1.0f);
        const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
        std::vector<float> expected(static_cast<std::size_t>(heads * dim));
        for (std::int64_t h = 0; h < heads; ++h)
            cpu::sink_attention(queries.data() + h * dim, entries.data(), count, dim, scale,
                                sinks[static_cast<std::size_t>(h)], expected.data() + h * dim);
        vulkan::Buffer dq = to_device(context, queries), de = to_device(context, entries),
                       ds = to_device(context, sinks);
        vulkan::Buffer scratch = device_zeros<float>(context, static_cast<std::size_t>(heads * count));
        vulkan::Buffer out = device_zeros<float>(context, expected.size());
        if (!run_op(context, "sink_attention", [&](vulkan::Stream& s) {
                return vulkan::sink_attention(s, dq.span(), heads, de.span(), count, dim, scale, ds.span(),
                                              scratch.span(), out.span());
            }))
            continue;
        // The logits differ in their last bits (another summation order, exp), so a probability p can round
        // to the neighbouring bf16 value (p * 2^-8 away): allow two such steps on the largest p * |entry|.
        std::vector<float> bound(expected.size());
        for (std::int64_t h = 0; h < heads; ++h) {
            std::vector<double> logits(static_cast<std::size_t>(count));
            double top = sinks[static_cast<std::size_t>(h)], denominator = 0;
            for (std::int64_t e = 0; e < count; ++e) {
                double dot = 0;
                for (std::int64_t i = 0; i < dim; ++i)
                    dot += static_cast<double>(queries[static_cast<std::size_t>(h * dim + i)]) *
                           entries[static_cast<std::size_t>(e * dim + i)];
                logits[static_cast<std::size_t>(e)] = dot * scale;
                top = std::max(top, dot * scale);
            }
            denominator = std::exp(sinks[static_cast<std::size_t>(h)] - top);
            for (const double logit : logits) denominator += std::exp(logit - top);
            for (std::int64_t i = 0; i < dim; ++i) {
                double step = 0;
                for (std::int64_t e = 0; e < count; ++e)
                    step = std::max(step, std::exp(logits[static_cast<std::size_t>(e)] - top) / denominator *
                                              std::fabs(entries[static_cast<std::size_t>(e * dim + i)]));
                bound[static_cast<std::size_t>(h * dim + i)] = static_cast<float>(1e-6 + 2.0 * step / 256.0);
            }
        }
        expect_within("sink_attention", from_device<float>(context, out, expected.size()), expected, bound);
    }
}

void all_ops(vulkan::Context& context, std::mt19937& rng) {
    rms_norm_parity(context, rng);
    linear_parity(context, rng);
    linear_gguf_parity(context, rng);
    activation_quantization_exact(context, rng);
    iq2_xxs_decode_exact(context, rng);
    rope_parity(context, rng);
    hadamard_parity(context, rng);
    sinkhorn_parity(context, rng);
    sink_attention_parity(context, rng);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_parity", {});
    const vulkan::Features& f = context->features();
    std::printf("device: %s (%s); subgroup arithmetic %d, float16 %d, 16-bit storage %d, 8-bit storage %d\n",
                context->device().name.c_str(), context->device().type.c_str(), f.subgroup_arithmetic,
                f.shader_float16, f.storage_16bit, f.storage_8bit);
    std::mt19937 rng(1234);
    std::printf("shader variants for this device:\n");
    all_ops(*context, rng);
    context.reset();

    vulkan::ContextOptions fallback;
    fallback.force_fallback = true;
    auto portable = lectern::test::open_context_or_skip("vulkan_parity", fallback);
    std::printf("portable fallback variants:\n");
    all_ops(*portable, rng);
    return lectern::test::finish("vulkan_parity");
}
