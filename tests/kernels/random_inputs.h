#pragma once
// Inputs shared by every backend's parity tests: plain normal values, values with exact ties and top_k's
// special cases, activations that stress the QAT scales, and random rows of every GGUF weight type.

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/dtype.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace lectern::test {

// n normally distributed floats (mean 0, standard deviation sigma).
inline std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Values with many exact ties (multiples of 1/8 in [-levels/8, levels/8]) and, from 11 values on, the
// special cases of top_k's order: NaN (twice), -0, +infinity, -infinity.
inline std::vector<float> tied_values(std::size_t n, std::mt19937& rng, int levels) {
    std::uniform_int_distribution<int> level(-levels, levels);
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(level(rng)) * 0.125f;
    if (n > 10) {
        v[1] = std::numeric_limits<float>::quiet_NaN();
        v[2] = -0.0f;
        v[4] = std::numeric_limits<float>::infinity();
        v[5] = -std::numeric_limits<float>::infinity();
        v[n - 1] = std::numeric_limits<float>::quiet_NaN();
    }
    return v;
}

// Activations for QAT: blocks of very different magnitudes (all-zero blocks take the 1e-4 floor), and
// every third block's amax / format_max 0 .. 60 ulp above 2^k (k from -20 to 12, each pair in turn),
// where the scale's exponent hangs on how the CPU's fp32 log2 rounds (about 1 in 37 of these keeps 2^k).
inline std::vector<float> qat_input(std::int64_t values, std::int64_t block, float format_max,
                                    std::mt19937& rng) {
    std::vector<float> x = random_floats(static_cast<std::size_t>(values), rng);
    std::uniform_int_distribution<int> exponent(-30, 20);
    int pair = 0;
    for (std::int64_t start = 0, b = 0; start < values; start += block, ++b) {
        const float magnitude = std::ldexp(1.0f, exponent(rng));
        for (std::int64_t i = start; i < std::min(values, start + block); ++i)
            x[static_cast<std::size_t>(i)] *= b % 7 == 3 ? 0.0f : magnitude;
        if (b % 3 == 1) {
            const float ratio = std::ldexp(1.0f, -20 + (pair / 61) % 33);
            std::uint32_t bits = std::bit_cast<std::uint32_t>(ratio) + static_cast<std::uint32_t>(pair % 61);
            ++pair;
            // amax whose fp32 quotient by format_max is that ratio (searching a few neighbours).
            float amax = std::bit_cast<float>(bits) * format_max;
            for (int step = 0; step < 8 && amax / format_max != std::bit_cast<float>(bits); ++step)
                amax = std::nextafter(amax, amax / format_max < std::bit_cast<float>(bits) ? INFINITY : 0.0f);
            for (std::int64_t i = start; i < std::min(values, start + block); ++i)
                x[static_cast<std::size_t>(i)] = std::clamp(x[static_cast<std::size_t>(i)], -amax, amax);
            x[static_cast<std::size_t>(start)] = b % 2 ? amax : -amax;
        }
    }
    return x;
}

// Random GGUF blocks: random quant bytes, with the fp16 scale fields set to sane positive values (random
// bits there would be infinities and NaNs, which real files do not hold).
inline std::vector<std::uint8_t> random_gguf_rows(kernels::DType type, std::int64_t rows, std::int64_t n,
                                                  std::mt19937& rng) {
    using namespace kernels;
    const DTypeInfo& info = dtype_info(type);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(*dtype_bytes(type, rows * n)));
    std::uniform_int_distribution<int> byte(0, 255), exponent(118, 130);
    std::uniform_real_distribution<float> scale(0.002f, 0.05f);
    for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(byte(rng));
    if (type == DType::F32 || type == DType::F16 || type == DType::BF16) {
        const auto values = random_floats(static_cast<std::size_t>(rows * n), rng, 0.5f);
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (type == DType::F32) std::memcpy(&bytes[i * 4], &values[i], 4);
            const std::uint16_t h =
                type == DType::F16 ? quant::float_to_half(values[i]) : cpu::f32_to_bf16(values[i]);
            if (type != DType::F32) std::memcpy(&bytes[i * 2], &h, 2);
        }
        return bytes;
    }
    std::vector<int> half_fields;
    switch (type) {
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K:
        half_fields = {0, 2};
        break;
    case DType::Q2_K:
        half_fields = {80, 82};
        break;
    case DType::Q3_K:
        half_fields = {108};
        break;
    case DType::Q6_K:
        half_fields = {208};
        break;
    case DType::MXFP4:
        break;
    default:
        half_fields = {0};
        break;
    }
    for (std::size_t block = 0; block < bytes.size(); block += static_cast<std::size_t>(info.block_bytes)) {
        for (const int field : half_fields) {
            const std::uint16_t h = quant::float_to_half(scale(rng));
            std::memcpy(&bytes[block + static_cast<std::size_t>(field)], &h, 2);
        }
        if (type == DType::MXFP4) bytes[block] = static_cast<std::uint8_t>(exponent(rng));
    }
    return bytes;
}

} // namespace lectern::test
