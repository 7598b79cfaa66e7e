#pragma once
// The CPU backend's op set. Every op here has a slow, obvious reference that the fast paths and the
// other backends (cuda/, vulkan/) are tested against; see kernels/README.md. Activations are fp32.

#include "kernels/dtype.h"

#include <cstdint>
#include <vector>

namespace lectern::kernels::quant {
class ThreadPool;
}

namespace lectern::kernels::cpu {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * (weight ? weight[i] : 1), for each of `rows` rows of `n` values.
void rms_norm(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n, float eps);

// A weight matrix [out_features, in_features] in one of the checkpoint formats, read in place.
enum class WeightFormat : std::uint8_t {
    F32,
    BF16,
    F8_E4M3_BLOCK128, // e4m3 bytes; e8m0 scales [ceil(out/128), ceil(in/128)]
    FP4_E2M1_BLOCK32, // two values per byte, low nibble first; e8m0 scales [out, in/32]
    GGUF_BLOCK,       // rows of whole `gguf_type` blocks as a GGUF file stores them (F16, Q8_0, Q4_K,
                      // IQ2_XXS, ...: quant::is_weight_type); no separate scales
};

struct WeightMatrix {
    WeightFormat format = WeightFormat::F32;
    const void* data = nullptr;
    const std::uint8_t* scales = nullptr;
    std::int64_t out_features = 0;
    std::int64_t in_features = 0;
    DType gguf_type = DType::F32; // GGUF_BLOCK only
};

// Bytes of a weight's data and of its scales (0 for formats without scales), as this layout has them (every
// backend's); `gguf_type` counts for GGUF_BLOCK only.
std::uint64_t weight_data_bytes(WeightFormat format, std::int64_t out_features, std::int64_t in_features,
                                DType gguf_type = DType::F32);
std::uint64_t weight_scale_bytes(WeightFormat format, std::int64_t out_features, std::int64_t in_features);

// Row `row` of the weight as fp32 values (in_features of them).
void dequantize_row(const WeightMatrix& weight, std::int64_t row, float* out);

// y[r, o] = sum_i x[r, i] * W[o, i], for `rows` rows.
//
// Every sum in this backend accumulates in double and rounds once to fp32: the result is then the
// correctly rounded sum in practice, whatever the summation order, so the fast paths, the reference and
// an independent implementation agree bit for bit before the graph's bf16/FP8 rounding points (where a
// last-bit difference would otherwise flip a rounding and grow).
//
// The exception: linear runs a GGUF_BLOCK weight through quant::matmul, as llama.cpp runs such weights
// (Q4_0/Q4_1/Q8_0 against activations quantised to 8-bit blocks, the other types decoded and summed in
// float), so it differs from linear_reference by up to the bound stated in kernels/cpu/quant/matmul.h.
void linear_reference(const float* x, std::int64_t rows, const WeightMatrix& weight, float* y);
//
// With a pool, linear splits the output features between its threads; each output is still one thread's
// sum in the same order, so the result does not depend on the pool's size.
void linear(const float* x, std::int64_t rows, const WeightMatrix& weight, float* y,
            quant::ThreadPool* pool = nullptr);

// sum_i a[i] * b[i] accumulated in double; the AVX2+FMA path when the CPU has it.
float dot(const float* a, const float* b, std::int64_t n);
float dot_reference(const float* a, const float* b, std::int64_t n);
bool have_avx2();

// Rotates the (2i, 2i+1) pairs of x[0 .. 2*pairs) by angle position * frequencies[i] (GPT-J style);
// `inverse` rotates by the negative angle (the conjugate).
void rope_interleaved(float* x, std::int64_t pairs, const float* frequencies, double position, bool inverse);

// The (cos, sin) of position * frequencies[i] for each position, [positions, pairs] pairs of floats, in
// double as rope_interleaved takes them (an fp32 angle loses the phase at long positions): the table the
// GPU backends' rope_interleaved rotates by.
std::vector<float> rope_cos_sin(const std::vector<double>& positions, const float* frequencies,
                                std::int64_t pairs);

// In-place normalised Walsh-Hadamard transform of n values (n a power of two): H x / sqrt(n).
void hadamard(float* x, std::int64_t n);

// mHC Sinkhorn on a k x k matrix (row-major, logits in): row softmax + eps, column-normalise, then
// (iterations - 1) times row- and column-normalise; each normalisation divides by (sum + eps). In double.
void sinkhorn(float* matrix, std::int64_t k, std::int64_t iterations, float eps);

// One query head against `count` entries of `dim` values (row-major), with an attention sink: a softmax
// over the entry logits (q.e * scale) and the sink logit, whose value is zero. The probabilities are
// rounded to bf16 before the weighted sum, as the reference kernel does. out has `dim` values.
// exp and the sums run in double.
void sink_attention(const float* query, const float* entries, std::int64_t count, std::int64_t dim,
                    float scale, float sink, float* out);

} // namespace lectern::kernels::cpu
