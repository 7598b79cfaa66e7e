// The DeepSeek-V4 CPU ops against obvious references: number formats (bf16, e4m3, e8m0, FP4, with
// round-to-nearest-even), QAT, the four weight formats' linear (fast path vs reference), RoPE, Hadamard,
// Sinkhorn and sink attention.
#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"
#include "tests/kernels/check.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

namespace {

using namespace lectern::kernels::cpu;

void number_formats() {
    CHECK(e4m3_to_f32(0x38) == 1.0f && e4m3_to_f32(0x7E) == 448.0f &&
          e4m3_to_f32(0x01) == std::ldexp(1.0f, -9));
    CHECK(e4m3_to_f32(0xB8) == -1.0f && std::isnan(e4m3_to_f32(0x7F)));
    int round_trips = 0;
    for (int b = 0; b < 256; ++b) {
        if ((b & 0x7F) == 0x7F || b == 0x80) continue; // NaNs, negative zero
        round_trips += f32_to_e4m3(e4m3_to_f32(static_cast<std::uint8_t>(b))) == b;
    }
    CHECK(round_trips == 253);
    CHECK(round_e4m3(1.0625f) == 1.0f);  // tie between 1 and 1.125: even mantissa
    CHECK(round_e4m3(1.1875f) == 1.25f); // tie between 1.125 and 1.25: even mantissa
    CHECK(round_e4m3(1000.0f) == 448.0f && round_e4m3(-1000.0f) == -448.0f);
    CHECK(round_e4m3(std::ldexp(3.0f, -11)) == std::ldexp(1.0f, -9)); // 0.75 of the subnormal step -> step
    CHECK(e8m0_to_f32(127) == 1.0f && e8m0_to_f32(130) == 8.0f && e8m0_to_f32(120) == std::ldexp(1.0f, -7));
    for (std::uint8_t n = 0; n < 16; ++n)
        if (n != 8) CHECK(f32_to_fp4(fp4_to_f32(n)) == n);
    CHECK(fp4_to_f32(0x7) == 6.0f && fp4_to_f32(0xF) == -6.0f && fp4_to_f32(0x3) == 1.5f);
    CHECK(round_fp4(2.5f) == 2.0f && round_fp4(5.0f) == 4.0f && round_fp4(0.25f) == 0.0f &&
          round_fp4(0.75f) == 1.0f);
    CHECK(round_fp4(7.0f) == 6.0f && round_fp4(-3.4f) == -3.0f);
    CHECK(round_bf16(1.0f + std::ldexp(1.0f, -8)) == 1.0f);                            // tie -> even
    CHECK(round_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 1.0f + std::ldexp(1.0f, -6)); // tie -> even (up)
    CHECK(bf16_to_f32(f32_to_bf16(-2.5f)) == -2.5f);
    CHECK(pow2_scale(448.0f, 448.0f, 1e-4f) == 1.0f && pow2_scale(449.0f, 448.0f, 1e-4f) == 2.0f);
    CHECK(pow2_scale(0.0f, 448.0f, 1e-4f) == std::ldexp(1.0f, -22)); // the 1e-4 floor
    float infinite_block[4] = {1.0f, INFINITY, -2.0f, 0.0f};         // an infinite scale: the whole block NaN
    fp8_qat(infinite_block, 4, 4);
    CHECK(std::all_of(std::begin(infinite_block), std::end(infinite_block),
                      [](float v) { return std::isnan(v); }));

    // QAT against the obvious per-block computation.
    std::mt19937 random(5);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> values(300);
    for (float& v : values) v = normal(random);
    std::vector<float> fp8 = values, fp4 = values;
    fp8_qat(fp8.data(), 300, 128);
    fp4_qat(fp4.data(), 300, 32);
    for (int start = 0; start < 300; start += 128) {
        float amax = 0.0f;
        for (int i = start; i < std::min(300, start + 128); ++i) amax = std::max(amax, std::fabs(values[i]));
        const float scale = std::exp2(std::ceil(std::log2(amax / 448.0f)));
        for (int i = start; i < std::min(300, start + 128); ++i) {
            CHECK(fp8[i] == round_e4m3(values[i] / scale) * scale);
            CHECK(std::fabs(fp8[i] - values[i]) <= std::fabs(values[i]) / 16 + scale * std::ldexp(1.0f, -9));
        }
    }
    for (int start = 0; start < 288; start += 32) {
        float amax = 0.0f;
        for (int i = start; i < start + 32; ++i) amax = std::max(amax, std::fabs(values[i]));
        const float scale = std::exp2(std::ceil(std::log2(amax / 6.0f)));
        for (int i = start; i < start + 32; ++i) CHECK(fp4[i] == round_fp4(values[i] / scale) * scale);
    }
}

void linears() {
    std::mt19937 random(7);
    std::uniform_int_distribution<int> byte(0, 255);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const std::int64_t out = 200, in = 320, rows = 3;
    std::vector<float> x(static_cast<std::size_t>(rows * in));
    for (float& v : x) v = normal(random);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(out * in * 4));
    for (auto& b : bytes) b = static_cast<std::uint8_t>(byte(random));
    for (std::size_t i = 0; i < bytes.size(); ++i) // no NaN e4m3 codes or F32/BF16 NaNs and infinities
        if ((bytes[i] & 0x7F) == 0x7F || (i % 2 == 1 && (bytes[i] & 0x7F) >= 0x70)) bytes[i] = 0x3C;
    std::vector<std::uint8_t> scales(static_cast<std::size_t>(out * in), 0);
    for (auto& s : scales) s = static_cast<std::uint8_t>(120 + byte(random) % 10);
    std::vector<float> f32(static_cast<std::size_t>(out * in));
    for (float& v : f32) v = normal(random);

    const WeightMatrix matrices[] = {
        {WeightFormat::F32, f32.data(), nullptr, out, in},
        {WeightFormat::BF16, bytes.data(), nullptr, out, in},
        {WeightFormat::F8_E4M3_BLOCK128, bytes.data(), scales.data(), out, in},
        {WeightFormat::FP4_E2M1_BLOCK32, bytes.data(), scales.data(), out, in},
    };
    for (const WeightMatrix& w : matrices) {
        std::vector<float> fast(static_cast<std::size_t>(rows * out)), reference(fast.size());
        linear(x.data(), rows, w, fast.data());
        linear_reference(x.data(), rows, w, reference.data());
        int equal = 0;
        for (std::size_t i = 0; i < fast.size(); ++i) equal += fast[i] == reference[i];
        CHECK(equal == static_cast<int>(fast.size())); // both accumulate in double and round once
    }
    // Dequantisation against the format definitions, element by element.
    std::vector<float> row(static_cast<std::size_t>(in));
    dequantize_row(matrices[2], 130, row.data());
    CHECK(row[200] == e4m3_to_f32(bytes[130 * in + 200]) * e8m0_to_f32(scales[1 * 3 + 1]));
    dequantize_row(matrices[3], 7, row.data());
    CHECK(row[33] == fp4_to_f32(static_cast<std::uint8_t>(bytes[7 * in / 2 + 16] >> 4)) *
                         e8m0_to_f32(scales[7 * 10 + 1]));
    CHECK(row[32] == fp4_to_f32(bytes[7 * in / 2 + 16] & 15) * e8m0_to_f32(scales[7 * 10 + 1]));
    CHECK(dot(x.data(), f32.data(), 37) == dot_reference(x.data(), f32.data(), 37));
}

void rotations_and_mixing() {
    // RoPE: a known rotation, and inverse(forward) is the identity.
    const float frequencies[2] = {1.0f, 0.5f};
    float pair[4] = {1.0f, 0.0f, 0.0f, 2.0f};
    rope_interleaved(pair, 2, frequencies, std::numbers::pi / 2, false);
    CHECK_CLOSE(pair[0], 0.0, 1e-6);
    CHECK_CLOSE(pair[1], 1.0, 1e-6);
    CHECK_CLOSE(pair[2], -2.0 * std::sin(std::numbers::pi / 4), 1e-6);
    rope_interleaved(pair, 2, frequencies, std::numbers::pi / 2, true);
    CHECK_CLOSE(pair[0], 1.0, 1e-6);
    CHECK_CLOSE(pair[3], 2.0, 1e-6);

    // Hadamard against the explicit Sylvester matrix, and H(H x) = x.
    float x[8] = {1, -2, 3, 0.5f, 0, 4, -1, 2};
    float y[8];
    std::copy(x, x + 8, y);
    hadamard(y, 8);
    for (int i = 0; i < 8; ++i) {
        double expected = 0.0;
        for (int j = 0; j < 8; ++j) expected += (__builtin_popcount(i & j) % 2 ? -1.0 : 1.0) * x[j];
        CHECK_CLOSE(y[i], expected / std::sqrt(8.0), 1e-5);
    }
    hadamard(y, 8);
    for (int i = 0; i < 8; ++i) CHECK_CLOSE(y[i], x[i], 1e-5);

    // Sinkhorn: doubly stochastic after 20 iterations.
    float m[16];
    for (int i = 0; i < 16; ++i) m[i] = static_cast<float>((i * 37) % 11) / 3.0f - 1.5f;
    sinkhorn(m, 4, 20, 1e-6f);
    for (int r = 0; r < 4; ++r) {
        double row_sum = 0.0, column_sum = 0.0;
        for (int c = 0; c < 4; ++c) {
            row_sum += m[r * 4 + c];
            column_sum += m[c * 4 + r];
            CHECK(m[r * 4 + c] > 0.0f);
        }
        CHECK_CLOSE(row_sum, 1.0, 1e-3);
        CHECK_CLOSE(column_sum, 1.0, 1e-5);
    }

    // Sink attention against the definition (with bf16 probabilities).
    std::mt19937 random(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int count = 13, dim = 24;
    std::vector<float> query(dim), entries(count * dim), out(dim);
    for (float& v : query) v = normal(random);
    for (float& v : entries) v = normal(random);
    const float scale = 0.3f, sink = 0.7f;
    sink_attention(query.data(), entries.data(), count, dim, scale, sink, out.data());
    std::vector<double> logits(count);
    double denominator = std::exp(static_cast<double>(sink));
    for (int e = 0; e < count; ++e) {
        double s = 0.0;
        for (int i = 0; i < dim; ++i) s += static_cast<double>(query[i]) * entries[e * dim + i];
        logits[e] = std::exp(s * scale);
        denominator += logits[e];
    }
    for (int i = 0; i < dim; ++i) {
        double expected = 0.0;
        for (int e = 0; e < count; ++e)
            expected += round_bf16(static_cast<float>(logits[e] / denominator)) * entries[e * dim + i];
        CHECK_CLOSE(out[i], expected, 1e-5);
    }
}

} // namespace

int main() {
    number_formats();
    linears();
    rotations_and_mixing();
    return lectern::test::finish("kernels_v4_ops");
}
