#pragma once
// The AVX2+FMA paths, compiled with -mavx2 -mfma in their own file and called only after have_avx2().

#include <cstdint>

namespace lectern::kernels::cpu::avx2 {

float dot(const float* a, const float* b, std::int64_t n);
void bf16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);
// One row of an FP8 (e4m3, one e8m0 scale per 128 values) or packed-FP4 (one e8m0 scale per 32 values)
// matrix as floats; n must be a multiple of 8 (FP8) or 32 (FP4).
void fp8_row_to_f32(const std::uint8_t* codes, const std::uint8_t* scales, float* out, std::int64_t n);
void fp4_row_to_f32(const std::uint8_t* packed, const std::uint8_t* scales, float* out, std::int64_t n);

} // namespace lectern::kernels::cpu::avx2
