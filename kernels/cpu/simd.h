#pragma once
// The AVX2+FMA paths, compiled with -mavx2 -mfma in their own file and called only after have_avx2().

#include <cstdint>

namespace lectern::kernels::cpu::avx2 {

float dot(const float* a, const float* b, std::int64_t n);
void bf16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);

} // namespace lectern::kernels::cpu::avx2
