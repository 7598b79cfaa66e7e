// Every CUDA op against the CPU backend on fresh random inputs, with the tolerance each states. Outputs
// are poisoned with NaN before each run, so an element the kernel never wrote fails. Without a device
// the test exits 77 (skipped).

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/matmul.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/cuda_buffers.h"
#include "tests/kernels/random_inputs.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

using namespace lectern::kernels;
using lectern::test::from_device;
using lectern::test::poisoned;
using lectern::test::random_gguf_rows;
using lectern::test::to_device;

namespace {

std::mt19937 rng(20261128);

std::vector<float> random_floats(std::size_t n, float stddev = 1.0f) {
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Checks every element against expected within abs + rel * |expected|, reporting the first miss.
void expect_close(const char* op, const std::vector<float>& actual, const std::vector<float>& expected,
                  double abs, double rel) {
    double worst = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double bound = abs + rel * std::fabs(expected[i]);
        worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - expected[i]) / bound);
        if (!CHECK_CLOSE(actual[i], expected[i], bound)) {
            std::fprintf(stderr, "  %s: element %zu\n", op, i);
            return;
        }
    }
    std::printf("  %-20s max error %.3f of the tolerance over %zu values\n", op, worst, expected.size());
}

void rms_norm_parity() {
    for (const auto& [rows, n] : {std::pair<int, int>{1, 1}, {3, 255}, {7, 4096}, {2, 10000}}) {
        const auto x = random_floats(static_cast<std::size_t>(rows) * n, 2.0f);
        const auto w = random_floats(static_cast<std::size_t>(n));
        std::vector<float> expected(x.size());
        cpu::rms_norm(x.data(), w.data(), expected.data(), rows, n, 1e-6f);
        auto dx = to_device(x), dw = to_device(w), dy = poisoned(x.size());
        CHECK(cuda::rms_norm(dx.as<float>(), dw.as<float>(), dy.as<float>(), rows, n, 1e-6f).ok());
        // fp32 sums in another order than the double reference.
        expect_close("rms_norm", from_device(dy, x.size()), expected, 1e-5, 1e-5);
    }
}

// Random weight bytes in `format`, avoiding the NaN codes, with scales near 1 (2^-4 .. 2^3).
struct HostWeight {
    std::vector<std::uint8_t> data;
    std::vector<std::uint8_t> scales;
};

HostWeight random_weight(cpu::WeightFormat format, std::int64_t out, std::int64_t in) {
    std::uniform_int_distribution<int> byte(0, 255), scale(123, 130);
    HostWeight w;
    switch (format) {
    case cpu::WeightFormat::F32: {
        const auto values = random_floats(static_cast<std::size_t>(out * in), 0.1f);
        w.data.resize(values.size() * 4);
        std::memcpy(w.data.data(), values.data(), w.data.size());
        break;
    }
    case cpu::WeightFormat::BF16: {
        const auto values = random_floats(static_cast<std::size_t>(out * in), 0.1f);
        w.data.resize(values.size() * 2);
        for (std::size_t i = 0; i < values.size(); ++i) {
            const std::uint16_t bits = cpu::f32_to_bf16(values[i]);
            std::memcpy(w.data.data() + 2 * i, &bits, 2);
        }
        break;
    }
    case cpu::WeightFormat::F8_E4M3_BLOCK128:
        w.data.resize(static_cast<std::size_t>(out * in));
        for (auto& b : w.data) {
            do b = static_cast<std::uint8_t>(byte(rng));
            while ((b & 0x7F) == 0x7F);
        }
        w.scales.resize(static_cast<std::size_t>(((out + 127) / 128) * ((in + 127) / 128)));
        break;
    case cpu::WeightFormat::FP4_E2M1_BLOCK32:
        w.data.resize(static_cast<std::size_t>(out * in / 2));
        for (auto& b : w.data) b = static_cast<std::uint8_t>(byte(rng));
        w.scales.resize(static_cast<std::size_t>(out * in / 32));
        break;
    case cpu::WeightFormat::GGUF_BLOCK: // random_gguf_rows makes these
        break;
    }
    for (auto& s : w.scales) s = static_cast<std::uint8_t>(scale(rng));
    return w;
}

void linear_parity() {
    struct Shape {
        std::int64_t rows, out, in;
    };
    const cpu::WeightFormat formats[] = {cpu::WeightFormat::F32, cpu::WeightFormat::BF16,
                                         cpu::WeightFormat::F8_E4M3_BLOCK128,
                                         cpu::WeightFormat::FP4_E2M1_BLOCK32};
    for (const cpu::WeightFormat format : formats) {
        for (const Shape shape :
             {Shape{1, 1, 32}, Shape{3, 200, 320}, Shape{2, 1024, 4096}, Shape{5, 130, 96}}) {
            const HostWeight w = random_weight(format, shape.out, shape.in);
            const cpu::WeightMatrix matrix{format, w.data.data(),
                                           w.scales.empty() ? nullptr : w.scales.data(), shape.out, shape.in};
            const auto x = random_floats(static_cast<std::size_t>(shape.rows * shape.in));
            std::vector<float> expected(static_cast<std::size_t>(shape.rows * shape.out));
            cpu::linear_reference(x.data(), shape.rows, matrix, expected.data());

            auto dx = to_device(x), dwd = to_device(w.data), dy = poisoned(expected.size());
            cuda::DeviceBuffer dws;
            if (!w.scales.empty()) dws = to_device(w.scales);
            const cuda::DeviceWeight weight{
                format, dwd.data(), w.scales.empty() ? nullptr : dws.as<std::uint8_t>(), shape.out, shape.in};
            CHECK(cuda::linear(dx.as<float>(), shape.rows, weight, dy.as<float>()).ok());
            // fp32 accumulation against the CPU's double: the error is bounded by about n * 2^-24 times the
            // sum of |x_i w_i|; with 32 lanes of partial sums it is far less. A wrong dequantisation is off
            // by the whole magnitude.
            std::vector<float> row(static_cast<std::size_t>(shape.in));
            std::vector<float> bound(expected.size());
            for (std::int64_t o = 0; o < shape.out; ++o) {
                cpu::dequantize_row(matrix, o, row.data());
                for (std::int64_t r = 0; r < shape.rows; ++r) {
                    double magnitude = 0.0;
                    for (std::int64_t i = 0; i < shape.in; ++i)
                        magnitude +=
                            std::fabs(static_cast<double>(x[static_cast<std::size_t>(r * shape.in + i)]) *
                                      row[static_cast<std::size_t>(i)]);
                    bound[static_cast<std::size_t>(r * shape.out + o)] =
                        static_cast<float>(1e-6 + 1e-6 * magnitude);
                }
            }
            const auto actual = from_device(dy, expected.size());
            for (std::size_t i = 0; i < expected.size(); ++i)
                if (!CHECK_CLOSE(actual[i], expected[i], bound[i])) {
                    std::fprintf(stderr, "  linear format %d: element %zu\n", static_cast<int>(format), i);
                    break;
                }
        }
        std::printf("  linear format %d: checked\n", static_cast<int>(format));
    }
}

constexpr DType kGgufTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0,  DType::Q4_1,
                                DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K,  DType::Q3_K,
                                DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::MXFP4, DType::IQ2_XXS};

bool quantizes_activations(DType type) {
    return type == DType::Q4_0 || type == DType::Q4_1 || type == DType::Q8_0;
}

// Every GGUF weight type against the CPU. Q4_0, Q4_1 and Q8_0 quantize the activations to 8-bit blocks as
// the CPU does: they are checked against the CPU's product (quant::matmul) within 1e-6 + 2.5e-7 * sum |w x|
// (the same block products summed in another order, and the CPU rounds each 8-lane part of a block apart),
// while one activation quantized differently would be off by about |w| amax / 127. Every other type is
// checked against the exact product (quant::dot_reference) within quant::matmul's float-path bound,
// cols * 2^-23 * sum |w x|: the device decodes exactly and sums in fp32. One element decoded wrong is off by
// about sum |w x| / cols, far past either; gguf_decode_exact checks the float path's decode to the bit.
void linear_gguf_parity() {
    std::mt19937 gguf_rng(20261207);
    struct Case {
        std::int64_t rows, in;
    };
    for (const DType type : kGgufTypes) {
        CHECK(cuda::linear_gguf_supports(type));
        const bool quantized = quantizes_activations(type);
        // One pass of token rows, and two; for the integer path also a lane with two blocks (33 of 32).
        for (const Case c : {Case{1, 512}, Case{11, 512}, Case{3, 1056}}) {
            if (!quantized && c.in % 256 != 0) continue;
            const std::int64_t rows = c.rows, out = 67, in = c.in;
            const auto w = random_gguf_rows(type, out, in, gguf_rng);
            const auto x = random_floats(static_cast<std::size_t>(rows * in), 2.0f);
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
                    double magnitude = 0;
                    for (std::int64_t i = 0; i < in; ++i)
                        magnitude +=
                            std::fabs(static_cast<double>(xr[i]) * decoded[static_cast<std::size_t>(i)]);
                    const auto at = static_cast<std::size_t>(r * out + o);
                    if (!quantized)
                        expected[at] = static_cast<float>(quant::dot_reference(type, row, xr, in));
                    bound[at] = static_cast<float>(
                        1e-6 +
                        (quantized ? 2.5e-7 : static_cast<double>(in) * std::ldexp(1.0, -23)) * magnitude);
                }
            }
            auto dx = to_device(x), dw = to_device(w), dy = poisoned(expected.size()),
                 dz = poisoned(expected.size());
            CHECK(cuda::linear_gguf(dx.as<float>(), rows, type, dw.data(), out, in, dy.as<float>()).ok());
            const auto y = from_device(dy, expected.size());
            double worst = 0;
            for (std::size_t i = 0; i < expected.size(); ++i) {
                worst = std::max(worst, std::fabs(static_cast<double>(y[i]) - expected[i]) / bound[i]);
                if (!CHECK_CLOSE(y[i], expected[i], bound[i])) {
                    std::fprintf(stderr, "  linear_gguf %s: element %zu\n", dtype_info(type).name.data(), i);
                    break;
                }
            }
            // linear on a GGUF_BLOCK weight (a model's cpu::WeightMatrix) is linear_gguf.
            const cuda::DeviceWeight weight{cpu::WeightFormat::GGUF_BLOCK, dw.data(), nullptr, out, in, type};
            CHECK(cuda::linear(dx.as<float>(), rows, weight, dz.as<float>()).ok());
            CHECK(from_device(dz, expected.size()) == y);
            std::printf("  linear_gguf %-8s %2lld x %4lld: max error %.3f of the bound (%s)\n",
                        std::string(dtype_info(type).name).c_str(), static_cast<long long>(rows),
                        static_cast<long long>(in), worst, quantized ? "quant::matmul" : "exact");
        }
    }
    const auto no_kernel = cuda::linear_gguf(nullptr, 1, DType::Q8_K, nullptr, 1, 256, nullptr);
    CHECK(!no_kernel.ok() && no_kernel.error().find("Q8_K") != std::string::npos);
    CHECK(!cuda::linear_gguf(nullptr, 1, DType::Q8_0, nullptr, 1, 48, nullptr).ok()); // not whole blocks
}

// The decode of every GGUF type on the float path to the bit: identity activations make each output one
// decoded weight times 1 plus exact zeros, so the device's values must equal quant::dequantize_row's
// (gguf-py's). Q4_0, Q4_1 and Q8_0 quantize the activations (a 1 becomes 127 times fp16(1/127)), so no
// output is one decoded weight: linear_gguf_parity and activation_quantization_exact check them.
void gguf_decode_exact() {
    std::mt19937 gguf_rng(7);
    for (const DType type : kGgufTypes) {
        if (quantizes_activations(type)) continue;
        const std::int64_t out = 24, in = 512, rows = in;
        const auto w = random_gguf_rows(type, out, in, gguf_rng);
        const std::size_t row_bytes = static_cast<std::size_t>(*dtype_bytes(type, in));
        std::vector<float> decoded(static_cast<std::size_t>(out * in));
        for (std::int64_t o = 0; o < out; ++o)
            quant::dequantize_row(type, w.data() + static_cast<std::size_t>(o) * row_bytes,
                                  decoded.data() + o * in, in);
        std::vector<float> x(static_cast<std::size_t>(rows * in), 0.0f);
        for (std::int64_t r = 0; r < rows; ++r) x[static_cast<std::size_t>(r * in + r)] = 1.0f;
        auto dw = to_device(w), dx = to_device(x), dy = poisoned(static_cast<std::size_t>(rows * out));
        CHECK(cuda::linear_gguf(dx.as<float>(), rows, type, dw.data(), out, in, dy.as<float>()).ok());
        const auto y = from_device(dy, static_cast<std::size_t>(rows * out));
        std::size_t differ = 0;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t o = 0; o < out; ++o)
                differ +=
                    y[static_cast<std::size_t>(r * out + o)] != decoded[static_cast<std::size_t>(o * in + r)];
        CHECK(differ == 0);
        std::printf("  decode %-8s %zu of %lld weights differ\n", std::string(dtype_info(type).name).c_str(),
                    differ, static_cast<long long>(rows * out));
    }
}

// The activation quantization bit for bit: one block of 32 per row and weights that pick one quantized
// value each (Q8_0 rows with d = 1 and a single q = 1: y[r, o] = d_x q_x[o]) or the block's scaled sum
// (Q4_1 rows with d = 0 and m = 1: y = s_x), so each output is one product of exact values and the device
// must give the CPU's bits. The rows span 2^-20 .. 2^20, hold exact ties of x * 127 / amax, and zeros.
void activation_quantization_exact() {
    const std::int64_t rows = 1024, in = 32, out = 32;
    std::vector<float> x = random_floats(static_cast<std::size_t>(rows * in));
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
    auto dx = to_device(x);
    for (const auto& [type, weights] : {std::pair{DType::Q8_0, &q8}, std::pair{DType::Q4_1, &q4_1}}) {
        std::vector<float> expected(static_cast<std::size_t>(rows * out));
        quant::matmul(type, reinterpret_cast<const std::byte*>(weights->data()), out, in, x.data(), rows,
                      expected.data());
        auto dw = to_device(*weights), dy = poisoned(expected.size());
        CHECK(cuda::linear_gguf(dx.as<float>(), rows, type, dw.data(), out, in, dy.as<float>()).ok());
        const auto y = from_device(dy, expected.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < y.size(); ++i)
            differ += std::memcmp(&y[i], &expected[i], sizeof(float)) != 0;
        std::printf("  activation quantization %-4s %zu of %zu values differ from the CPU's bits\n",
                    std::string(dtype_info(type).name).c_str(), differ, y.size());
        CHECK(differ == 0);
    }
}

void rope_parity() {
    const std::int64_t rows = 5, heads = 4, head_dim = 512, offset = 448, pairs = 32;
    auto x = random_floats(static_cast<std::size_t>(rows * heads * head_dim));
    std::vector<double> positions = {0, 1, 127, 65536, 1048575};
    std::vector<float> frequencies(pairs);
    for (std::int64_t i = 0; i < pairs; ++i)
        frequencies[static_cast<std::size_t>(i)] = static_cast<float>(std::pow(160000.0, -2.0 * i / 64.0));
    for (const bool inverse : {false, true}) {
        std::vector<float> expected = x;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t h = 0; h < heads; ++h)
                cpu::rope_interleaved(expected.data() + (r * heads + h) * head_dim + offset, pairs,
                                      frequencies.data(), positions[static_cast<std::size_t>(r)], inverse);
        auto dx = to_device(x), table = to_device(cpu::rope_cos_sin(positions, frequencies.data(), pairs));
        CHECK(cuda::rope_interleaved(dx.as<float>(), table.as<float>(), rows, heads, head_dim, offset, pairs,
                                     inverse)
                  .ok());
        // The table's angles are the CPU's (in double on the host), the rotation its fp32 products and sums.
        expect_close(inverse ? "rope (inverse)" : "rope", from_device(dx, x.size()), expected, 0.0, 0.0);
    }
}

void hadamard_parity() {
    for (const std::int64_t n : {2, 128, 4096}) {
        const std::int64_t rows = 9;
        auto x = random_floats(static_cast<std::size_t>(rows * n));
        std::vector<float> expected = x;
        for (std::int64_t r = 0; r < rows; ++r) cpu::hadamard(expected.data() + r * n, n);
        auto dx = to_device(x);
        CHECK(cuda::hadamard(dx.as<float>(), rows, n).ok());
        // The same butterflies in the same precision: equal to the bit.
        expect_close("hadamard", from_device(dx, x.size()), expected, 0.0, 0.0);
    }
}

void sinkhorn_parity() {
    const std::int64_t count = 1000, k = 4;
    auto m = random_floats(static_cast<std::size_t>(count * k * k), 3.0f);
    std::vector<float> expected = m;
    for (std::int64_t i = 0; i < count; ++i) cpu::sinkhorn(expected.data() + i * k * k, k, 20, 1e-6f);
    auto dm = to_device(m);
    CHECK(cuda::sinkhorn(dm.as<float>(), count, k, 20, 1e-6f).ok());
    // Both in double in the same order; exp may differ in the last bit of a double.
    expect_close("sinkhorn", from_device(dm, m.size()), expected, 1e-7, 1e-6);
}

void sink_attention_parity() {
    for (const std::int64_t count : {0, 1, 200, 1152}) {
        const std::int64_t heads = 8, dim = 512;
        const auto q = random_floats(static_cast<std::size_t>(heads * dim));
        const auto entries = random_floats(static_cast<std::size_t>(count * dim));
        const auto sinks = random_floats(static_cast<std::size_t>(heads));
        const float scale = 1.0f / std::sqrt(512.0f);
        std::vector<float> expected(static_cast<std::size_t>(heads * dim));
        for (std::int64_t h = 0; h < heads; ++h)
            cpu::sink_attention(q.data() + h * dim, entries.data(), count, dim, scale,
                                sinks[static_cast<std::size_t>(h)], expected.data() + h * dim);
        auto dq = to_device(q), de = to_device(entries.empty() ? std::vector<float>{0.0f} : entries),
             ds = to_device(sinks),
             dscratch = poisoned(static_cast<std::size_t>(heads * std::max<std::int64_t>(count, 1))),
             dout = poisoned(expected.size());
        CHECK(cuda::sink_attention(dq.as<float>(), heads, de.as<float>(), count, dim, scale, ds.as<float>(),
                                   dscratch.as<float>(), dout.as<float>())
                  .ok());
        // Logits and sums in double as on the CPU; a probability whose float lands on a bf16 rounding
        // boundary may round the other way (one bf16 step, 2^-8 relative, on one weight).
        expect_close("sink_attention", from_device(dout, expected.size()), expected, 1e-5, 4e-3);
    }
}

void errors_are_reported() {
    CHECK(!cuda::hadamard(nullptr, 1, 3).ok());
    CHECK(!cuda::sinkhorn(nullptr, 1, 17, 20, 1e-6f).ok());
    const cuda::DeviceWeight missing_scales{cpu::WeightFormat::F8_E4M3_BLOCK128, nullptr, nullptr, 4, 128};
    const auto result = cuda::linear(nullptr, 1, missing_scales, nullptr);
    CHECK(!result.ok() && result.error().find("scales") != std::string::npos);
    const cuda::DeviceWeight q8_k{cpu::WeightFormat::GGUF_BLOCK, nullptr, nullptr, 4, 256, DType::Q8_K};
    const auto no_kernel = cuda::linear(nullptr, 1, q8_k, nullptr);
    CHECK(!no_kernel.ok() && no_kernel.error().find("CUDA has no kernel for Q8_K") != std::string::npos);
}

} // namespace

int main() {
    if (const auto available = cuda::device_available(); !available.ok()) {
        std::printf("kernels_cuda_parity: skipped: %s\n", available.error().c_str());
        return 77;
    }
    rms_norm_parity();
    linear_parity();
    linear_gguf_parity();
    activation_quantization_exact();
    gguf_decode_exact();
    rope_parity();
    hadamard_parity();
    sinkhorn_parity();
    sink_attention_parity();
    errors_are_reported();
    return lectern::test::finish("kernels_cuda_parity");
}
