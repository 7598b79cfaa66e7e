#pragma once
// The dense graph's operations other than weight products, each computed in the same float operations and
// the same order as llama.cpp's CPU backend (its AVX2 build), so that a GGUF model run here gives
// llama.cpp's logits bit for bit rather than within rounding noise: a greedy continuation follows
// llama.cpp's even where its top two logits nearly tie. The portable path performs the same operations
// one lane at a time (std::fma where ggml fuses), so both paths give identical results.
//
// Facts taken from llama.cpp's CPU backend (ggml-cpu: ops.cpp, vec.h/vec.cpp, llamafile/sgemm.cpp):
//   - RMSNorm sums float squares in double, takes mean = float(sum / n), scale = 1 / sqrtf(mean + eps),
//     then y = (x * scale) * weight.
//   - RoPE ("normal" mode, adjacent pairs): theta starts at the position as a float and is multiplied by
//     powf(base, -2 / dims) for each pair; cosf / sinf of it; x0' = fma(x0, c, -(x1 s)), x1' = fma(x0, s, x1
//     c).
//   - exp is ggml's vector expf (ARM optimized-routines' algorithm: 2^n times a degree-5 polynomial),
//     used by SwiGLU (silu(g) = g / (1 + exp(-g)), times up) and by softmax.
//   - Softmax over a row: exp(s - max) in groups of 8 whose float sums are added in double; each value
//     times float(1 / sum).
//   - Attention products over the fp16 cache (query and probabilities rounded to fp16 first) take one of
//     two summation orders: a batch of two or more tokens goes through llamafile's tinyBLAS (one 8-lane
//     accumulator per output, sequential over the length), a single token through ggml_vec_dot_f16
//     (four 8-lane accumulators over steps of 32, reduced pairwise).

#include <cstdint>

namespace lectern::kernels::quant {

enum class SumOrder {
    Batch,  // llamafile's tinyBLAS: llama.cpp's order when a batch has two or more tokens
    Single, // ggml_vec_dot_f16: its order for a single token
};

// y[r] = RMSNorm(x[r]) * weight for `rows` rows of n.
void rms_norm_ordered(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n,
                      float eps);

// cos_sin[2i], cos_sin[2i + 1] = cos, sin of pair i's angle at `position`, for `pairs` pairs.
void rope_angles(float base, std::int64_t pairs, std::int64_t position, float* cos_sin);
// Rotates the adjacent pairs (x[2i], x[2i + 1]) by the angles of rope_angles.
void rope_rotate(float* x, const float* cos_sin, std::int64_t pairs);

// The functions below take the AVX2 path when the CPU has AVX2, FMA and F16C; tests pass allow_avx2 =
// false to check that the portable path gives the same bits.

// y = silu(gate) * up, n elements (y may alias gate).
void swiglu(const float* gate, const float* up, float* y, std::int64_t n, bool allow_avx2 = true);

// In place: scores[0, n) become softmax probabilities (positions past n count as masked).
void softmax(float* scores, std::int64_t n, bool allow_avx2 = true);

// a . b over n values (fp16 values held as floats), in `order`; Batch needs n % 8 == 0 and takes
// Single's order otherwise, as llamafile hands such products back to ggml.
float dot_ordered(const float* a, const float* b, std::int64_t n, SumOrder order, bool allow_avx2 = true);

// out[i] = sum over j < count of p[j] * v[j * stride + i], for i < d, in `order` (as llama.cpp's product
// of the transposed fp16 value cache and the fp16 probabilities; it pads the cache to a multiple of 256
// positions, whose zero probabilities change no sum). `scratch` holds 32 * d floats.
void weighted_sum(const float* p, const float* v, std::int64_t stride, std::int64_t count, std::int64_t d,
                  float* out, SumOrder order, float* scratch, bool allow_avx2 = true);

} // namespace lectern::kernels::quant
