#include "kernels/cpu/quant/matmul.h"

#include "kernels/cpu/quant/blocks.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/iq2xxs_grid.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <immintrin.h>
#include <vector>

namespace lectern::kernels::quant {
namespace {

#define LECTERN_AVX2 __attribute__((target("avx2,fma,f16c")))

bool has_integer_path(DType weight_type) {
    return weight_type == DType::Q4_0 || weight_type == DType::Q8_0 || weight_type == DType::Q4_1;
}

// Activations quantized as llama.cpp's Q8_0 / Q8_1 blocks (the same fp16-rounded scale d and scaled sum s),
// with d and s kept as floats so that the dot loops do not convert them again for every weight row.
struct ActivationBlock {
    float d, s;
    std::int8_t qs[32];
};

float fp16_rounded(float value) {
    return half_to_float(float_to_half(value));
}

// --- activation quantization, as llama.cpp's AVX2 path: scale amax / 127 (stored fp16), values times
// 127 / amax rounded half to even ---------------------------------------------------------------------

void quantize_row_portable(const float* x, ActivationBlock* out, std::int64_t cols) {
    for (std::int64_t b = 0; b < cols / kBlock32; ++b) {
        const float* xb = x + b * kBlock32;
        float amax = 0.0f;
        for (int j = 0; j < kBlock32; ++j) amax = std::max(amax, std::fabs(xb[j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < kBlock32; ++j) {
            const int q = static_cast<int>(std::nearbyint(xb[j] * id));
            out[b].qs[j] = static_cast<std::int8_t>(q);
            sum += q;
        }
        out[b].d = fp16_rounded(d);
        out[b].s = fp16_rounded(d * static_cast<float>(sum));
    }
}

LECTERN_AVX2 void quantize_row_avx2(const float* x, ActivationBlock* out, std::int64_t cols) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    for (std::int64_t b = 0; b < cols / kBlock32; ++b) {
        const float* xb = x + b * kBlock32;
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax_value = _mm_cvtss_f32(m4);
        const float d = amax_value / 127.0f;
        const __m256 id = _mm256_set1_ps(amax_value != 0.0f ? 127.0f / amax_value : 0.0f);
        __m256i q[4];
        for (int k = 0; k < 4; ++k)
            q[k] = _mm256_cvtps_epi32(
                _mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        out[b].d = fp16_rounded(d);
        {
            const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_hadd_epi32(s4, s4);
            s4 = _mm_hadd_epi32(s4, s4);
            out[b].s = fp16_rounded(d * static_cast<float>(_mm_cvtsi128_si32(s4)));
        }
        // Pack 32 int32 to int8; the packs interleave 128-bit lanes, the permute puts them back in order.
        const __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
        const __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
        __m256i packed = _mm256_packs_epi16(p01, p23);
        packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), packed);
    }
}

// --- integer dot products over nb blocks --------------------------------------------------------------

float dot_q8_0_portable(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t nb) {
    float sum = 0.0f;
    for (std::int64_t b = 0; b < nb; ++b) {
        int acc = 0;
        for (int j = 0; j < 32; ++j) acc += w[b].qs[j] * x[b].qs[j];
        sum += half_to_float(w[b].d) * x[b].d * static_cast<float>(acc);
    }
    return sum;
}

float dot_q4_0_portable(const BlockQ4_0* w, const ActivationBlock* x, std::int64_t nb) {
    float sum = 0.0f;
    for (std::int64_t b = 0; b < nb; ++b) {
        int acc = 0;
        for (int j = 0; j < 16; ++j)
            acc += ((w[b].qs[j] & 0x0f) - 8) * x[b].qs[j] + ((w[b].qs[j] >> 4) - 8) * x[b].qs[j + 16];
        sum += half_to_float(w[b].d) * x[b].d * static_cast<float>(acc);
    }
    return sum;
}

float dot_q4_1_portable(const BlockQ4_1* w, const ActivationBlock* x, std::int64_t nb) {
    float sum = 0.0f;
    for (std::int64_t b = 0; b < nb; ++b) {
        int acc = 0;
        for (int j = 0; j < 16; ++j)
            acc += (w[b].qs[j] & 0x0f) * x[b].qs[j] + (w[b].qs[j] >> 4) * x[b].qs[j + 16];
        sum += half_to_float(w[b].d) * x[b].d * static_cast<float>(acc) + half_to_float(w[b].m) * x[b].s;
    }
    return sum;
}

LECTERN_AVX2 inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Signed int8 x signed int8, 32 lanes, summed into 8 int32 (maddubs needs one unsigned operand: move the
// weight's sign onto the activation).
LECTERN_AVX2 inline __m256 dot_i8_block(__m256i w, __m256i x) {
    const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(products, _mm256_set1_epi16(1)));
}

LECTERN_AVX2 inline __m256i unpack_nibbles(const std::uint8_t* qs) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// One weight row against N activation rows at once: the weights are loaded and unpacked once per block
// for all N. Each row's sum runs in the same order whatever N is, so results do not depend on N.
LECTERN_AVX2 inline __m256i load_signed(const BlockQ8_0& w) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs));
}
LECTERN_AVX2 inline __m256i load_signed(const BlockQ4_0& w) {
    return _mm256_sub_epi8(unpack_nibbles(w.qs), _mm256_set1_epi8(8));
}

template <int N, typename Block>
LECTERN_AVX2 void dot_signed_avx2(const Block* w, const ActivationBlock* const* x, std::int64_t nb,
                                  float* out) {
    __m256 acc[N];
    for (int k = 0; k < N; ++k) acc[k] = _mm256_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        const __m256i wq = load_signed(w[b]);
        const float dw = _cvtsh_ss(w[b].d);
        for (int k = 0; k < N; ++k) {
            const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[k][b].qs));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[k][b].d), dot_i8_block(wq, xq), acc[k]);
        }
    }
    for (int k = 0; k < N; ++k) out[k] = hsum(acc[k]);
}

template <int N>
LECTERN_AVX2 void dot_q4_1_avx2(const BlockQ4_1* w, const ActivationBlock* const* x, std::int64_t nb,
                                float* out) {
    __m256 acc[N];
    float offsets[N];
    for (int k = 0; k < N; ++k) {
        acc[k] = _mm256_setzero_ps();
        offsets[k] = 0.0f;
    }
    for (std::int64_t b = 0; b < nb; ++b) {
        const __m256i wq = unpack_nibbles(w[b].qs); // 0..15: unsigned operand of maddubs as it is
        const float dw = _cvtsh_ss(w[b].d), mw = _cvtsh_ss(w[b].m);
        for (int k = 0; k < N; ++k) {
            const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[k][b].qs));
            const __m256i products = _mm256_maddubs_epi16(wq, xq);
            const __m256 dots = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, _mm256_set1_epi16(1)));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[k][b].d), dots, acc[k]);
            offsets[k] += mw * x[k][b].s;
        }
    }
    for (int k = 0; k < N; ++k) out[k] = hsum(acc[k]) + offsets[k];
}

// --- float dot products ------------------------------------------------------------------------------

float dot_f32_portable(const float* w, const float* x, std::int64_t n) {
    float lanes[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) lanes[k] += w[i + k] * x[i + k];
    float sum = 0.0f;
    for (; i < n; ++i) sum += w[i] * x[i];
    for (const float lane : lanes) sum += lane;
    return sum;
}

LECTERN_AVX2 float dot_f32_avx2(const float* w, const float* x, std::int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; ++i) sum += w[i] * x[i];
    return sum;
}

LECTERN_AVX2 void decode_f16_avx2(const std::uint16_t* h, float* out, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
    for (; i < n; ++i) out[i] = half_to_float(h[i]);
}

// IQ2_XXS rows through tables: each grid point's 8 values and each 7-bit sign pattern's 8 signs (the 8th
// making the count of negatives even) as floats, so 8 weights are (scale * value) * sign, the products the
// reference decode forms: the same bits, without its per-element bit extraction.
struct Iq2xxsTables {
    float grid[256][8];
    float signs[128][8];
};

const Iq2xxsTables& iq2xxs_tables() {
    static const Iq2xxsTables tables = [] {
        Iq2xxsTables t{};
        for (int p = 0; p < 256; ++p)
            for (int j = 0; j < 8; ++j)
                t.grid[p][j] = static_cast<float>(kIq2xxsGridValues[(kIq2xxsGrid[p] >> (2 * j)) & 3]);
        for (unsigned s = 0; s < 128; ++s) {
            const unsigned bits = s | ((static_cast<unsigned>(std::popcount(s)) & 1u) << 7);
            for (int j = 0; j < 8; ++j) t.signs[s][j] = (bits >> j) & 1u ? -1.0f : 1.0f;
        }
        return t;
    }();
    return tables;
}

void decode_iq2_xxs(const BlockIQ2_XXS* blocks, float* y, std::int64_t cols) {
    const Iq2xxsTables& t = iq2xxs_tables();
    for (std::int64_t b = 0; b < cols / kBlockK; ++b) {
        const BlockIQ2_XXS& block = blocks[b];
        const float d = half_to_float(block.d);
        for (int group = 0; group < 8; ++group) {
            const std::uint32_t indices =
                block.qs[4 * group] | (static_cast<std::uint32_t>(block.qs[4 * group + 1]) << 16);
            const std::uint32_t rest =
                block.qs[4 * group + 2] | (static_cast<std::uint32_t>(block.qs[4 * group + 3]) << 16);
            const float db = d * (0.5f + static_cast<float>(rest >> 28)) * 0.25f;
            for (int part = 0; part < 4; ++part) {
                const float* grid = t.grid[(indices >> (8 * part)) & 0xff];
                const float* sign = t.signs[(rest >> (7 * part)) & 0x7f];
                float* out = y + b * kBlockK + 32 * group + 8 * part;
                for (int j = 0; j < 8; ++j) out[j] = db * grid[j] * sign[j];
            }
        }
    }
}

// --- the driver ----------------------------------------------------------------------------------------

struct Kernels {
    bool avx2;

    void quantize(const float* x, ActivationBlock* out, std::int64_t cols) const {
        if (avx2) return quantize_row_avx2(x, out, cols);
        quantize_row_portable(x, out, cols);
    }
    // out[k] = W row . activation row k, for N activation rows.
    template <int N>
    void dot_int(DType type, const std::byte* w, const std::byte* const* x, std::int64_t nb,
                 float* out) const {
        switch (type) {
        case DType::Q8_0: {
            const auto* wb = reinterpret_cast<const BlockQ8_0*>(w);
            const auto* const* xb = reinterpret_cast<const ActivationBlock* const*>(x);
            if (avx2) return dot_signed_avx2<N>(wb, xb, nb, out);
            for (int k = 0; k < N; ++k) out[k] = dot_q8_0_portable(wb, xb[k], nb);
            return;
        }
        case DType::Q4_0: {
            const auto* wb = reinterpret_cast<const BlockQ4_0*>(w);
            const auto* const* xb = reinterpret_cast<const ActivationBlock* const*>(x);
            if (avx2) return dot_signed_avx2<N>(wb, xb, nb, out);
            for (int k = 0; k < N; ++k) out[k] = dot_q4_0_portable(wb, xb[k], nb);
            return;
        }
        default: {
            const auto* wb = reinterpret_cast<const BlockQ4_1*>(w);
            const auto* const* xb = reinterpret_cast<const ActivationBlock* const*>(x);
            if (avx2) return dot_q4_1_avx2<N>(wb, xb, nb, out);
            for (int k = 0; k < N; ++k) out[k] = dot_q4_1_portable(wb, xb[k], nb);
            return;
        }
        }
    }
    // The row as floats: the weights themselves for F32, else decoded into `scratch`.
    const float* decode(DType type, const std::byte* row, std::int64_t cols, float* scratch) const {
        if (type == DType::F32) return reinterpret_cast<const float*>(row);
        if (type == DType::F16 && avx2)
            decode_f16_avx2(reinterpret_cast<const std::uint16_t*>(row), scratch, cols);
        else if (type == DType::IQ2_XXS)
            decode_iq2_xxs(reinterpret_cast<const BlockIQ2_XXS*>(row), scratch, cols);
        else
            dequantize_row(type, row, scratch, cols);
        return scratch;
    }
    float dot_float(const float* w, const float* x, std::int64_t n) const {
        return avx2 ? dot_f32_avx2(w, x, n) : dot_f32_portable(w, x, n);
    }
};

// Row range [begin, end) of `part` out of `parts`, in multiples of 4 rows so that parts stay balanced.
std::pair<std::int64_t, std::int64_t> share(std::int64_t rows, int part, int parts) {
    const std::int64_t groups = (rows + 3) / 4;
    const std::int64_t begin = groups * part / parts * 4, end = groups * (part + 1) / parts * 4;
    return {std::min(begin, rows), std::min(end, rows)};
}

} // namespace

bool cpu_has_avx2() {
    static const bool has =
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    return has;
}

void matmul(DType weight_type, const std::byte* weights, std::int64_t rows, std::int64_t cols, const float* x,
            std::int64_t tokens, float* y, const MatmulOptions& options) {
    const Kernels kernels{options.allow_avx2 && cpu_has_avx2()};
    const DTypeInfo& info = dtype_info(weight_type);
    const std::int64_t row_bytes = cols / info.block_elements * info.block_bytes;
    const bool integer = has_integer_path(weight_type);

    thread_local std::vector<std::byte> activations;
    std::int64_t activation_row_bytes = 0;
    if (integer) {
        activation_row_bytes = cols / kBlock32 * static_cast<std::int64_t>(sizeof(ActivationBlock));
        activations.resize(static_cast<std::size_t>(activation_row_bytes * tokens));
        for (std::int64_t t = 0; t < tokens; ++t)
            kernels.quantize(
                x + t * cols,
                reinterpret_cast<ActivationBlock*>(activations.data() + t * activation_row_bytes), cols);
    }
    const std::byte* quantized = activations.data();

    const auto work = [&](int part, int parts) {
        const auto [begin, end] = share(rows, part, parts);
        if (!integer) {
            thread_local std::vector<float> scratch;
            scratch.resize(static_cast<std::size_t>(cols));
            for (std::int64_t r = begin; r < end; ++r) {
                const float* w = kernels.decode(weight_type, weights + r * row_bytes, cols, scratch.data());
                for (std::int64_t t = 0; t < tokens; ++t)
                    y[t * rows + r] = kernels.dot_float(w, x + t * cols, cols);
            }
            return;
        }
        const std::int64_t nb = cols / kBlock32;
        constexpr int kTile = 4;
        for (std::int64_t r = begin; r < end; ++r) {
            const std::byte* row = weights + r * row_bytes;
            std::int64_t t = 0;
            for (; t + kTile <= tokens; t += kTile) {
                const std::byte* x4[kTile];
                float out[kTile];
                for (int k = 0; k < kTile; ++k) x4[k] = quantized + (t + k) * activation_row_bytes;
                kernels.dot_int<kTile>(weight_type, row, x4, nb, out);
                for (int k = 0; k < kTile; ++k) y[(t + k) * rows + r] = out[k];
            }
            for (; t < tokens; ++t) {
                const std::byte* x1 = quantized + t * activation_row_bytes;
                kernels.dot_int<1>(weight_type, row, &x1, nb, y + t * rows + r);
            }
        }
    };
    if (options.pool)
        options.pool->run(work);
    else
        work(0, 1);
}

void f16_to_f32(const std::uint16_t* in, float* out, std::int64_t n) {
    if (cpu_has_avx2()) return decode_f16_avx2(in, out, n);
    for (std::int64_t i = 0; i < n; ++i) out[i] = half_to_float(in[i]);
}

} // namespace lectern::kernels::quant
