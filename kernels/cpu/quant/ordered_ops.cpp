#include "kernels/cpu/quant/ordered_ops.h"

#include "kernels/cpu/quant/matmul.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <immintrin.h>
#include <limits>

namespace lectern::kernels::quant {
namespace {

#define LECTERN_AVX2 __attribute__((target("avx2,fma,f16c")))

// --- exp: 2^n * (1 + polynomial(b)), b = x - n ln2 (ln2 split in two), as ggml's vector expf -----------

constexpr float kShift = 0x1.8p23f; // adding it rounds x / ln2 to an integer in the low mantissa bits
constexpr float kInvLn2 = 0x1.715476p+0f;
constexpr float kLn2High = 0x1.62e4p-1f, kLn2Low = 0x1.7f7d1cp-20f;
constexpr float kC1 = 0x1.ffffecp-1f, kC2 = 0x1.fffdb6p-2f, kC3 = 0x1.555e66p-3f, kC4 = 0x1.573e2ep-5f,
                kC5 = 0x1.0e4020p-7f;

float exp_portable(float x) {
    const float z = std::fma(x, kInvLn2, kShift);
    const float n = z - kShift;
    const float b = std::fma(-n, kLn2Low, std::fma(-n, kLn2High, x));
    const std::uint32_t e = std::bit_cast<std::uint32_t>(z) << 23;
    const float k = std::bit_cast<float>(e + std::bit_cast<std::uint32_t>(1.0f));
    const float u = b * b;
    const float j = std::fma(std::fma(std::fma(kC5, b, kC4), u, std::fma(kC3, b, kC2)), u, kC1 * b);
    if (!(std::fabs(n) > 126.0f)) return std::fma(j, k, k);
    // 2^n itself over- or underflows: scale in two steps (or saturate past 2^±192).
    const std::uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = std::bit_cast<float>(g + 0x7f000000u);
    const float s2 = std::bit_cast<float>(e - g);
    if (std::fabs(n) > 192.0f) return s1 * s1;
    return std::fma(s2, j, s2) * s1;
}

LECTERN_AVX2 __m256 exp_avx2(__m256 x) {
    const __m256 shift = _mm256_set1_ps(kShift);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(kInvLn2), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b =
        _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Low), _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2High), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 large = _mm256_cmp_ps(abs_n, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j =
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(kC5), b, _mm256_set1_ps(kC4)), u,
                                        _mm256_fmadd_ps(_mm256_set1_ps(kC3), b, _mm256_set1_ps(kC2))),
                        u, _mm256_mul_ps(_mm256_set1_ps(kC1), b));
    const __m256 normal = _mm256_fmadd_ps(j, k, k);
    if (!_mm256_movemask_ps(large)) return normal;
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32(static_cast<int>(0x82000000u)));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 saturated = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 scaled = _mm256_blendv_ps(normal, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1), large);
    return _mm256_blendv_ps(scaled, _mm256_mul_ps(s1, s1), saturated);
}

// --- horizontal sums, in the two orders ggml uses -----------------------------------------------------

// 8 lanes: (l0 + l4) + (l2 + l6), plus (l1 + l5) + (l3 + l7) (ggml's hsum_float_8, tinyBLAS's hsum).
float sum8_portable(const float* l) {
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}
LECTERN_AVX2 float sum8_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Four 8-lane accumulators a[0..31] (accumulator k = lanes 8k .. 8k + 7): lanes L = (a0 + a2) + (a1 + a3),
// then (L0 + L4) + (L1 + L5), plus (L2 + L6) + (L3 + L7) (ggml's GGML_F32x8_REDUCE).
float sum32_portable(const float* a) {
    float l[8];
    for (int i = 0; i < 8; ++i) l[i] = (a[i] + a[16 + i]) + (a[8 + i] + a[24 + i]);
    return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
}
LECTERN_AVX2 float sum32_avx2(const __m256* a) {
    const __m256 l = _mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[1], a[3]));
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(l), _mm256_extractf128_ps(l, 1));
    const __m128 h = _mm_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

// --- dot products --------------------------------------------------------------------------------------

// tinyBLAS needs the length in whole vectors; otherwise llama.cpp takes ggml's own path.
SumOrder effective(SumOrder order, std::int64_t n) {
    return order == SumOrder::Batch && n % 8 != 0 ? SumOrder::Single : order;
}

float dot_portable(const float* a, const float* b, std::int64_t n, SumOrder order) {
    if (order == SumOrder::Batch) {
        float lanes[8] = {};
        for (std::int64_t i = 0; i < n; i += 8)
            for (int l = 0; l < 8; ++l) lanes[l] = std::fma(a[i + l], b[i + l], lanes[l]);
        return sum8_portable(lanes);
    }
    float acc[32] = {};
    const std::int64_t whole = n / 32 * 32;
    for (std::int64_t i = 0; i < whole; i += 32)
        for (int l = 0; l < 32; ++l) acc[l] = std::fma(a[i + l], b[i + l], acc[l]);
    double sum = sum32_portable(acc);
    for (std::int64_t i = whole; i < n; ++i) sum += static_cast<double>(a[i] * b[i]);
    return static_cast<float>(sum);
}

LECTERN_AVX2 float dot_avx2(const float* a, const float* b, std::int64_t n, SumOrder order) {
    if (order == SumOrder::Batch) {
        __m256 acc = _mm256_setzero_ps();
        for (std::int64_t i = 0; i < n; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
        return sum8_avx2(acc);
    }
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const std::int64_t whole = n / 32 * 32;
    for (std::int64_t i = 0; i < whole; i += 32)
        for (int k = 0; k < 4; ++k)
            acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * k), _mm256_loadu_ps(b + i + 8 * k), acc[k]);
    double sum = sum32_avx2(acc);
    for (std::int64_t i = whole; i < n; ++i) sum += static_cast<double>(a[i] * b[i]);
    return static_cast<float>(sum);
}

// Accumulator rows: position j adds into row j % lanes (8 for Batch, 32 for Single), each row sequential
// over j; then the rows are combined per output element in the order of sum8 / sum32.
void weighted_sum_portable(const float* p, const float* v, std::int64_t stride, std::int64_t count,
                           std::int64_t d, float* out, SumOrder order, float* acc) {
    const std::int64_t lanes = order == SumOrder::Batch ? 8 : 32;
    std::fill(acc, acc + lanes * d, 0.0f);
    for (std::int64_t j = 0; j < count; ++j) {
        float* row = acc + (j % lanes) * d;
        const float* vj = v + j * stride;
        for (std::int64_t i = 0; i < d; ++i) row[i] = std::fma(p[j], vj[i], row[i]);
    }
    for (std::int64_t i = 0; i < d; ++i) {
        float column[32];
        for (std::int64_t l = 0; l < lanes; ++l) column[l] = acc[l * d + i];
        out[i] = lanes == 8 ? sum8_portable(column) : sum32_portable(column);
    }
}

LECTERN_AVX2 inline __m256 row_at(const float* acc, std::int64_t d, std::int64_t row, std::int64_t i) {
    return _mm256_loadu_ps(acc + row * d + i);
}

LECTERN_AVX2 void weighted_sum_avx2(const float* p, const float* v, std::int64_t stride, std::int64_t count,
                                    std::int64_t d, float* out, SumOrder order, float* acc) {
    const std::int64_t lanes = order == SumOrder::Batch ? 8 : 32;
    std::fill(acc, acc + lanes * d, 0.0f);
    const std::int64_t vector_d = d / 8 * 8;
    for (std::int64_t j = 0; j < count; ++j) {
        float* row = acc + (j % lanes) * d;
        const float* vj = v + j * stride;
        const __m256 pj = _mm256_set1_ps(p[j]);
        std::int64_t i = 0;
        for (; i < vector_d; i += 8)
            _mm256_storeu_ps(row + i, _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + i), _mm256_loadu_ps(row + i)));
        for (; i < d; ++i) row[i] = std::fma(p[j], vj[i], row[i]);
    }
    std::int64_t i = 0;
    for (; i < vector_d; i += 8) {
        __m256 sum;
        if (lanes == 8) {
            sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(row_at(acc, d, 0, i), row_at(acc, d, 4, i)),
                                              _mm256_add_ps(row_at(acc, d, 2, i), row_at(acc, d, 6, i))),
                                _mm256_add_ps(_mm256_add_ps(row_at(acc, d, 1, i), row_at(acc, d, 5, i)),
                                              _mm256_add_ps(row_at(acc, d, 3, i), row_at(acc, d, 7, i))));
        } else {
            __m256 l[8];
            for (int k = 0; k < 8; ++k)
                l[k] = _mm256_add_ps(_mm256_add_ps(row_at(acc, d, k, i), row_at(acc, d, 16 + k, i)),
                                     _mm256_add_ps(row_at(acc, d, 8 + k, i), row_at(acc, d, 24 + k, i)));
            sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(l[0], l[4]), _mm256_add_ps(l[1], l[5])),
                                _mm256_add_ps(_mm256_add_ps(l[2], l[6]), _mm256_add_ps(l[3], l[7])));
        }
        _mm256_storeu_ps(out + i, sum);
    }
    for (; i < d; ++i) {
        float column[32];
        for (std::int64_t l = 0; l < lanes; ++l) column[l] = acc[l * d + i];
        out[i] = lanes == 8 ? sum8_portable(column) : sum32_portable(column);
    }
}

// --- softmax and SwiGLU ---------------------------------------------------------------------------------

void softmax_portable(float* s, std::int64_t n, float max) {
    double total = 0.0;
    for (std::int64_t i = 0; i < n; i += 8) {
        float group[8];
        for (std::int64_t l = 0; l < 8; ++l) group[l] = i + l < n ? exp_portable(s[i + l] - max) : 0.0f;
        for (std::int64_t l = 0; l < 8 && i + l < n; ++l) s[i + l] = group[l];
        total += static_cast<double>(sum8_portable(group));
    }
    const float inverse = static_cast<float>(1.0 / total);
    for (std::int64_t i = 0; i < n; ++i) s[i] *= inverse;
}

LECTERN_AVX2 void softmax_avx2(float* s, std::int64_t n, float max) {
    double total = 0.0;
    const __m256 m = _mm256_set1_ps(max);
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + i), m));
        _mm256_storeu_ps(s + i, e);
        total += static_cast<double>(sum8_avx2(e));
    }
    if (i < n) { // the masked positions after n are exp(-inf) = 0
        float group[8];
        for (std::int64_t l = 0; l < 8; ++l)
            group[l] = i + l < n ? s[i + l] : -std::numeric_limits<float>::infinity();
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(group), m));
        _mm256_storeu_ps(group, e);
        for (std::int64_t l = 0; i + l < n; ++l) s[i + l] = group[l];
        total += static_cast<double>(sum8_avx2(e));
    }
    const __m256 inverse = _mm256_set1_ps(static_cast<float>(1.0 / total));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(s + i, _mm256_mul_ps(_mm256_loadu_ps(s + i), inverse));
    for (; i < n; ++i) s[i] *= _mm256_cvtss_f32(inverse);
}

// ggml handles a tail shorter than a vector with libm's expf.
float silu_tail(float g) {
    return g / (1.0f + std::exp(-g));
}

void swiglu_portable(const float* gate, const float* up, float* y, std::int64_t n) {
    const std::int64_t vector_n = n / 8 * 8;
    for (std::int64_t i = 0; i < vector_n; ++i)
        y[i] = gate[i] / (1.0f + exp_portable(0.0f - gate[i])) * up[i];
    for (std::int64_t i = vector_n; i < n; ++i) y[i] = silu_tail(gate[i]) * up[i];
}

LECTERN_AVX2 void swiglu_avx2(const float* gate, const float* up, float* y, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), g));
        const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; ++i) y[i] = silu_tail(gate[i]) * up[i];
}

} // namespace

void rms_norm_ordered(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n,
                      float eps) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        double sum = 0.0;
        for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
        const float mean = static_cast<float>(sum / static_cast<double>(n));
        const float scale = 1.0f / std::sqrt(mean + eps);
        for (std::int64_t i = 0; i < n; ++i) {
            const float scaled = xr[i] * scale;
            yr[i] = scaled * weight[i];
        }
    }
}

void rope_angles(float base, std::int64_t pairs, std::int64_t position, float* cos_sin) {
    const float step = std::pow(base, -2.0f / static_cast<float>(2 * pairs));
    float theta = static_cast<float>(position);
    for (std::int64_t i = 0; i < pairs; ++i) {
        cos_sin[2 * i] = std::cos(theta);
        cos_sin[2 * i + 1] = std::sin(theta);
        theta *= step;
    }
}

void rope_rotate(float* x, const float* cos_sin, std::int64_t pairs) {
    for (std::int64_t i = 0; i < pairs; ++i) {
        const float x0 = x[2 * i], x1 = x[2 * i + 1], c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
        x[2 * i] = std::fma(x0, c, -(x1 * s));
        x[2 * i + 1] = std::fma(x0, s, x1 * c);
    }
}

void swiglu(const float* gate, const float* up, float* y, std::int64_t n, bool allow_avx2) {
    if (allow_avx2 && cpu_has_avx2()) return swiglu_avx2(gate, up, y, n);
    swiglu_portable(gate, up, y, n);
}

void softmax(float* scores, std::int64_t n, bool allow_avx2) {
    float max = -std::numeric_limits<float>::infinity();
    for (std::int64_t i = 0; i < n; ++i) max = std::max(max, scores[i]);
    if (allow_avx2 && cpu_has_avx2()) return softmax_avx2(scores, n, max);
    softmax_portable(scores, n, max);
}

float dot_ordered(const float* a, const float* b, std::int64_t n, SumOrder order, bool allow_avx2) {
    order = effective(order, n);
    return allow_avx2 && cpu_has_avx2() ? dot_avx2(a, b, n, order) : dot_portable(a, b, n, order);
}

void weighted_sum(const float* p, const float* v, std::int64_t stride, std::int64_t count, std::int64_t d,
                  float* out, SumOrder order, float* scratch, bool allow_avx2) {
    if (allow_avx2 && cpu_has_avx2()) return weighted_sum_avx2(p, v, stride, count, d, out, order, scratch);
    weighted_sum_portable(p, v, stride, count, d, out, order, scratch);
}

} // namespace lectern::kernels::quant
