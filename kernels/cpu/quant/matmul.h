#pragma once
// Weight-times-activations products for every GGUF weight type: y = W x for a chunk of tokens.
//
// Paths, chosen per weight type at run time (AVX2 + FMA + F16C when the CPU has them, portable C++
// otherwise, with identical results up to summation order):
//   - Q4_0, Q8_0 and Q4_1: integer dot products against activations quantized to Q8_0 (Q8_1 for Q4_1)
//     blocks of 32, as llama.cpp does. Bound against the exact product (dot_reference):
//       |y - ref| <= sum over blocks b of (sum_{i in b} |w_i|) * 0.6 * amax_b(x) / 127
//                    + 2^-10 * sum_b |m_b| * sum_{i in b} |x_i|      (Q4_1's offsets meet fp16 sums)
//                    + cols * 2^-23 * sum_i |w_i x_i|
//     (half a quantization step plus fp16 rounding of the block scale, then float summation).
//   - every other type (F32, F16, BF16, Q5_0, Q5_1, K-quants, IQ2_XXS, MXFP4): rows decoded exactly to
//     float, then a float dot product with float activations: |y - ref| <= cols * 2^-23 * sum |w_i x_i|.

#include "kernels/cpu/quant/thread_pool.h"
#include "kernels/dtype.h"

#include <cstddef>
#include <cstdint>

namespace lectern::kernels::quant {

bool cpu_has_avx2(); // AVX2, FMA and F16C

struct MatmulOptions {
    ThreadPool* pool = nullptr; // nullptr: the calling thread only
    bool allow_avx2 = true;     // tests turn it off to check the portable path on AVX2 machines
};

// y[t * rows + r] = sum_c W[r][c] * x[t * cols + c] for t < tokens, r < rows. W is row-major, `rows` rows
// of `cols` elements of `weight_type` (is_weight_type), each row a whole number of blocks.
void matmul(DType weight_type, const std::byte* weights, std::int64_t rows, std::int64_t cols, const float* x,
            std::int64_t tokens, float* y, const MatmulOptions& options = {});

// fp16 to float (for attention over an fp16 cache), dispatched like matmul.
void f16_to_f32(const std::uint16_t* in, float* out, std::int64_t n);

} // namespace lectern::kernels::quant
