#pragma once
// Device decoders for the checkpoint number formats (the same values as kernels/cpu/numerics.h).

#include <cuda_fp16.h>

#include <cstdint>

namespace lectern::kernels::cuda {

__device__ inline float bf16_to_f32(std::uint16_t bits) {
    return __int_as_float(static_cast<int>(bits) << 16);
}

__device__ inline float round_bf16(float value) {
    const unsigned bits = static_cast<unsigned>(__float_as_int(value));
    if (value != value)
        return __int_as_float(static_cast<int>(((bits >> 16) | 0x40u) << 16)); // quiet, as the CPU
    const unsigned rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
    return __int_as_float(static_cast<int>(rounded));
}

// e8m0 byte b is 2^(b-127); 0 is 2^-127 (a subnormal), 255 is NaN.
__device__ inline float e8m0_to_f32(std::uint8_t bits) {
    if (bits == 255) return __int_as_float(0x7FC00000);
    if (bits == 0) return __int_as_float(0x00400000);
    return __int_as_float(static_cast<int>(bits) << 23);
}

// e4m3 (the "fn" variant: no infinities; S.1111.111 is NaN), exponent bias 7. Its exponent and mantissa
// bits, moved into an fp16's (bias 15), give the same value times 2^-8, subnormals included; the
// conversion and the rescale are exact.
__device__ inline float e4m3_to_f32(std::uint8_t bits) {
    if ((bits & 0x7F) == 0x7F) return __int_as_float(0x7FC00000);
    const auto half_bits = static_cast<unsigned short>(((bits & 0x80) << 8) | ((bits & 0x7F) << 7));
    return __half2float(__ushort_as_half(half_bits)) * 256.0f;
}

// FP4 e2m1: magnitude {0, .5, 1, 1.5, 2, 3, 4, 6}[n & 7], sign in bit 3.
__device__ inline float fp4_to_f32(std::uint8_t nibble) {
    constexpr float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    const float magnitude = kMagnitude[nibble & 7];
    return (nibble & 8) ? -magnitude : magnitude;
}

} // namespace lectern::kernels::cuda
