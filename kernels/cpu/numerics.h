#pragma once
// Scalar number formats of the DeepSeek-V4 checkpoints and their QAT simulations: bf16, FP8 e4m3,
// E8M0 power-of-two scales, FP4 e2m1. All rounding is round-to-nearest-even, as the hardware does.

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace lectern::kernels::cpu {

inline float bf16_to_f32(std::uint16_t bits) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

inline std::uint16_t f32_to_bf16(float value) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if (std::isnan(value)) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
    const std::uint32_t rounding = 0x7FFF + ((bits >> 16) & 1);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

inline float round_bf16(float value) {
    return bf16_to_f32(f32_to_bf16(value));
}

// e8m0 byte b is 2^(b-127); 255 is NaN.
inline float e8m0_to_f32(std::uint8_t bits) {
    if (bits == 255) return NAN;
    if (bits == 0) return std::ldexp(1.0f, -127);
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 23);
}

// The e8m0 byte of a power of two 2^e (e in [-127, 127]).
inline std::uint8_t e8m0_from_exponent(int exponent) {
    return static_cast<std::uint8_t>(exponent + 127);
}

float e4m3_to_f32(std::uint8_t bits);
const float* e4m3_table(); // all 256 codes as floats
// Round to the nearest e4m3 value (saturating at +-448); returns the byte.
std::uint8_t f32_to_e4m3(float value);
// Nearest e4m3 value as a float (saturating at +-448).
float round_e4m3(float value);

// FP4 e2m1: nibble n has magnitude {0, .5, 1, 1.5, 2, 3, 4, 6}[n & 7], sign in bit 3.
float fp4_to_f32(std::uint8_t nibble);
const float* fp4_table();             // all 16 nibbles as floats
std::uint8_t f32_to_fp4(float value); // nearest, saturating at +-6
float round_fp4(float value);

// The power-of-two scale that maps a block's absolute maximum onto the format's largest value:
// 2^ceil(log2(max(amax, floor) / format_max)).
float pow2_scale(float amax, float format_max, float amax_floor);

// In-place QAT simulations (quantise then dequantise, per block of `block` consecutive values):
// FP8 e4m3 with ue8m0 scales (amax floor 1e-4), and FP4 e2m1 with ue8m0 scales. NaN does not count
// toward a block's amax; a block holding an infinity has an infinite scale and becomes NaN throughout.
void fp8_qat(float* values, std::int64_t count, std::int64_t block);
void fp4_qat(float* values, std::int64_t count, std::int64_t block);

} // namespace lectern::kernels::cpu
