#pragma once
// Exact conversions between IEEE half / bfloat16 bits and float, without relying on F16C, so that the
// scalar reference builds and runs everywhere.

#include <bit>
#include <cstdint>

namespace lectern::kernels::quant {

inline float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13)); // inf, NaN
    if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    if (mantissa == 0) return std::bit_cast<float>(sign);
    // Subnormal half: normalise into a float (every half subnormal is a float normal).
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        ++shift;
    }
    mantissa &= 0x3ffu;
    return std::bit_cast<float>(sign | ((113u - static_cast<std::uint32_t>(shift)) << 23) | (mantissa << 13));
}

// Round to nearest even, as the hardware and numpy do; NaN stays NaN, overflow becomes infinity.
inline std::uint16_t float_to_half(float value) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t abs_bits = bits & 0x7fffffffu;
    if (abs_bits > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);
    if (abs_bits >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u); // rounds past 65504
    if (abs_bits < 0x38800000u) {                                                   // half subnormal or zero
        // Adding 0.5 (as a float) aligns the value so the float adder does the rounding for us.
        const float magnitude = std::bit_cast<float>(abs_bits) + 0.5f;
        return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(magnitude) - 0x3f000000u));
    }
    const std::uint32_t odd = (abs_bits >> 13) & 1u;
    const std::uint32_t rounded = abs_bits + 0xfffu + odd - (112u << 23);
    return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

inline float bf16_to_float(std::uint16_t b) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

} // namespace lectern::kernels::quant
