#include "kernels/cpu/numerics.h"
#include "kernels/cpu/simd.h"

#include <immintrin.h>

namespace lectern::kernels::cpu::avx2 {

float dot(const float* a, const float* b, std::int64_t n) {
    // fp32 products are exact in double; accumulating in double makes the result the correctly rounded
    // sum in practice, independent of summation order (see ops.h).
    __m256d sum0 = _mm256_setzero_pd(), sum1 = _mm256_setzero_pd();
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
        sum0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(va)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(vb)), sum0);
        sum1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(va, 1)),
                               _mm256_cvtps_pd(_mm256_extractf128_ps(vb, 1)), sum1);
    }
    const __m256d sum = _mm256_add_pd(sum0, sum1);
    __m128d half = _mm_add_pd(_mm256_castpd256_pd128(sum), _mm256_extractf128_pd(sum, 1));
    double total = _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)));
    for (; i < n; ++i) total += static_cast<double>(a[i]) * b[i];
    return static_cast<float>(total);
}

void bf16_to_f32(const std::uint16_t* in, float* out, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        const __m256i wide = _mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16);
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(wide));
    }
    for (; i < n; ++i) {
        const std::uint32_t bits = static_cast<std::uint32_t>(in[i]) << 16;
        __builtin_memcpy(out + i, &bits, 4);
    }
}

void fp8_row_to_f32(const std::uint8_t* codes, const std::uint8_t* scales, float* out, std::int64_t n) {
    const float* table = e4m3_table();
    for (std::int64_t i = 0; i < n; i += 8) {
        std::int64_t eight = 0;
        __builtin_memcpy(&eight, codes + i, 8);
        const __m256i index = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(eight));
        const __m256 values = _mm256_i32gather_ps(table, index, 4);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(values, _mm256_set1_ps(e8m0_to_f32(scales[i / 128]))));
    }
}

void fp4_row_to_f32(const std::uint8_t* packed, const std::uint8_t* scales, float* out, std::int64_t n) {
    const float* table = fp4_table();
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28); // low nibble first
    const __m256i low_four = _mm256_set1_epi32(15);
    for (std::int64_t i = 0; i < n; i += 8) {
        std::int32_t four = 0;
        __builtin_memcpy(&four, packed + i / 2, 4);
        const __m256i index = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(four), shifts), low_four);
        const __m256 values = _mm256_i32gather_ps(table, index, 4);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(values, _mm256_set1_ps(e8m0_to_f32(scales[i / 32]))));
    }
}

} // namespace lectern::kernels::cpu::avx2
