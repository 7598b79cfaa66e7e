#pragma once
// Device decoders for the checkpoint number formats (the same values as kernels/cpu/numerics.h).

#include <cstdint>

namespace lectern::kernels::cuda {

__device__ inline float bf16_to_f32(std::uint16_t bits) {
    return __int_as_float(static_cast<int>(bits) << 16);
}

__device__ inline float round_bf16(float value) {
    if (value != value) return value;
    const unsigned bits = static_cast<unsigned>(__float_as_int(value));
    const unsigned rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
    return __int_as_float(static_cast<int>(rounded));
}

// e8m0 byte b is 2^(b-127); 0 is 2^-127 (a subnormal), 255 is NaN.
__device__ inline float e8m0_to_f32(std::uint8_t bits) {
    if (bits == 255) return __int_as_float(0x7FC00000);
    if (bits == 0) return __int_as_float(0x00400000);
    return __int_as_float(static_cast<int>(bits) << 23);
}

// e4m3 (the "fn" variant: no infinities; S.1111.111 is NaN), exponent bias 7, subnormals below 2^-6.
__device__ inline float e4m3_to_f32(std::uint8_t bits) {
    const float sign = (bits & 0x80) ? -1.0f : 1.0f;
    const int exponent = (bits >> 3) & 0xF;
    const int mantissa = bits & 0x7;
    if (exponent == 0xF && mantissa == 0x7) return __int_as_float(0x7FC00000);
    if (exponent == 0) return sign * ldexpf(static_cast<float>(mantissa), -9);
    return sign * ldexpf(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

// FP4 e2m1: magnitude {0, .5, 1, 1.5, 2, 3, 4, 6}[n & 7], sign in bit 3.
__device__ inline float fp4_to_f32(std::uint8_t nibble) {
    constexpr float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    const float magnitude = kMagnitude[nibble & 7];
    return (nibble & 8) ? -magnitude : magnitude;
}

} // namespace lectern::kernels::cuda
