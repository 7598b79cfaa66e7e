#pragma once
// Simple encoders for GGUF test fixtures: rows of floats to Q8_0, Q4_K and IQ2_XXS blocks (layouts in
// kernels/cpu/quant/blocks.h). Plain rounding, not llama.cpp's error-minimising searches: the tests only
// need valid blocks whose decoded values follow the input, since they compare a kernel against the exact
// decoding of the same bytes. The gguf Python package cannot quantise K-quants or IQ2_XXS.

#include "kernels/cpu/quant/blocks.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/iq2xxs_grid.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

namespace lectern::test {

namespace quant = kernels::quant;

// q = round(x / d), d = amax / 127 (fp16).
inline quant::BlockQ8_0 encode_q8_0(const float* x) {
    quant::BlockQ8_0 block{};
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    block.d = quant::float_to_half(amax / 127.0f);
    const float d = quant::half_to_float(block.d);
    for (int i = 0; i < 32; ++i)
        block.qs[i] = static_cast<std::int8_t>(d > 0.0f ? std::clamp(std::lround(x[i] / d), -127L, 127L) : 0);
    return block;
}

// Per 32 values: scale (max - min) / 15 and offset -min, as 6-bit multiples of the block's d and dmin.
inline quant::BlockQ4_K encode_q4_k(const float* x) {
    quant::BlockQ4_K block{};
    float scale[8], offset[8], top_scale = 0.0f, top_offset = 0.0f;
    for (int g = 0; g < 8; ++g) {
        const float lo = std::min(0.0f, *std::min_element(x + 32 * g, x + 32 * g + 32));
        const float hi = *std::max_element(x + 32 * g, x + 32 * g + 32);
        scale[g] = (hi - lo) / 15.0f;
        offset[g] = -lo;
        top_scale = std::max(top_scale, scale[g]);
        top_offset = std::max(top_offset, offset[g]);
    }
    block.d = quant::float_to_half(top_scale / 63.0f);
    block.dmin = quant::float_to_half(top_offset / 63.0f);
    const float d = quant::half_to_float(block.d), dmin = quant::half_to_float(block.dmin);
    std::uint8_t sc[8], m[8];
    for (int g = 0; g < 8; ++g) {
        sc[g] = static_cast<std::uint8_t>(d > 0.0f ? std::clamp(std::lround(scale[g] / d), 0L, 63L) : 0);
        m[g] =
            static_cast<std::uint8_t>(dmin > 0.0f ? std::clamp(std::lround(offset[g] / dmin), 0L, 63L) : 0);
        const float step = d * sc[g], shift = dmin * m[g];
        std::uint8_t* q = block.qs + 32 * (g / 2);
        for (int l = 0; l < 32; ++l) {
            const long v = step > 0.0f ? std::clamp(std::lround((x[32 * g + l] + shift) / step), 0L, 15L) : 0;
            q[l] = static_cast<std::uint8_t>(q[l] | (g % 2 == 0 ? v : v << 4));
        }
    }
    for (int j = 0; j < 4; ++j) {
        block.scales[j] = static_cast<std::uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        block.scales[j + 4] = static_cast<std::uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
        block.scales[j + 8] = static_cast<std::uint8_t>((sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4));
    }
    return block;
}

// Per 32 values a 4-bit scale s (step d (0.5 + s) / 4); per 8 values the sign pattern (the smallest value
// gives up its sign when the count of negatives is odd) and the grid point nearest the magnitudes.
inline quant::BlockIQ2_XXS encode_iq2_xxs(const float* x) {
    quant::BlockIQ2_XXS block{};
    float group_step[8], top = 0.0f;
    for (int g = 0; g < 8; ++g) {
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[32 * g + i]));
        group_step[g] = amax / 43.0f; // the largest grid value
        top = std::max(top, group_step[g]);
    }
    block.d = quant::float_to_half(top / (15.5f * 0.25f));
    const float d = quant::half_to_float(block.d);
    for (int g = 0; g < 8; ++g) {
        const long s = d > 0.0f ? std::clamp(std::lround(group_step[g] / (d * 0.25f) - 0.5f), 0L, 15L) : 0;
        const float step = d * (0.5f + static_cast<float>(s)) * 0.25f;
        std::uint32_t indices = 0, rest = static_cast<std::uint32_t>(s) << 28;
        for (int part = 0; part < 4; ++part) {
            const float* v = x + 32 * g + 8 * part;
            std::uint32_t signs = 0;
            int smallest = 0;
            for (int j = 0; j < 8; ++j) {
                if (v[j] < 0.0f) signs |= 1u << j;
                if (std::fabs(v[j]) < std::fabs(v[smallest])) smallest = j;
            }
            if (std::popcount(signs) % 2 != 0) signs ^= 1u << smallest;
            int best = 0;
            float best_error = INFINITY;
            for (int p = 0; p < 256; ++p) {
                float error = 0.0f;
                for (int j = 0; j < 8; ++j) {
                    const float grid = quant::kIq2xxsGridValues[(quant::kIq2xxsGrid[p] >> (2 * j)) & 3];
                    const float target = step > 0.0f ? std::fabs(v[j]) / step : 0.0f;
                    error += (grid - target) * (grid - target);
                }
                if (error < best_error) {
                    best_error = error;
                    best = p;
                }
            }
            indices |= static_cast<std::uint32_t>(best) << (8 * part);
            rest |= (signs & 0x7f) << (7 * part);
        }
        block.qs[4 * g] = static_cast<std::uint16_t>(indices & 0xffff);
        block.qs[4 * g + 1] = static_cast<std::uint16_t>(indices >> 16);
        block.qs[4 * g + 2] = static_cast<std::uint16_t>(rest & 0xffff);
        block.qs[4 * g + 3] = static_cast<std::uint16_t>(rest >> 16);
    }
    return block;
}

// Rows of `cols` floats as `type` (F16, Q8_0, Q4_K or IQ2_XXS), the bytes a GGUF file would hold.
inline std::vector<std::byte> encode_rows(kernels::DType type, const float* x, std::int64_t rows,
                                          std::int64_t cols) {
    std::vector<std::byte> out;
    auto append = [&out](const auto& block) {
        const auto* bytes = reinterpret_cast<const std::byte*>(&block);
        out.insert(out.end(), bytes, bytes + sizeof(block));
    };
    const std::int64_t n = rows * cols;
    switch (type) {
    case kernels::DType::F16:
        for (std::int64_t i = 0; i < n; ++i) append(quant::float_to_half(x[i]));
        break;
    case kernels::DType::Q8_0:
        for (std::int64_t i = 0; i < n; i += 32) append(encode_q8_0(x + i));
        break;
    case kernels::DType::Q4_K:
        for (std::int64_t i = 0; i < n; i += 256) append(encode_q4_k(x + i));
        break;
    case kernels::DType::IQ2_XXS:
        for (std::int64_t i = 0; i < n; i += 256) append(encode_iq2_xxs(x + i));
        break;
    default:
        break; // no encoder: the caller checks the size
    }
    return out;
}

} // namespace lectern::test
