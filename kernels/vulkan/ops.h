#pragma once
// The Vulkan backend's op set: the same ops and meaning as kernels/cpu/ops.h, on device buffers. Each op
// records its dispatches into a Stream; nothing runs until Stream::submit(). Each picks the shader variant
// that the Context's features allow (subgroup arithmetic, 16-bit and 8-bit storage) or the portable one.

#include "kernels/cpu/ops.h"
#include "kernels/dtype.h"
#include "kernels/result.h"
#include "kernels/vulkan/stream.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace lectern::kernels::vulkan {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * (weight ? weight[i] : 1), for each of `rows` rows of `n` floats.
Result<void> rms_norm(Stream& stream, BufferSpan x, std::optional<BufferSpan> weight, BufferSpan y,
                      std::int64_t rows, std::int64_t n, float eps);

// A weight matrix [out_features, in_features] in device memory, laid out as cpu::WeightMatrix: `data`,
// and for the block-scaled formats the e8m0 `scales`.
struct DeviceWeight {
    cpu::WeightFormat format = cpu::WeightFormat::F32;
    BufferSpan data;
    std::optional<BufferSpan> scales;
    std::int64_t out_features = 0;
    std::int64_t in_features = 0;
    DType gguf_type = DType::F32; // GGUF_BLOCK only
};

// y[r, o] = sum_i x[r, i] * W[o, i] for `rows` rows of x [rows, in_features]; y is [rows, out_features].
// Dequantises on the fly and accumulates in fp32. A GGUF_BLOCK weight runs through linear_gguf.
Result<void> linear(Stream& stream, BufferSpan x, std::int64_t rows, const DeviceWeight& weight,
                    BufferSpan y);

// linear for a weight in a GGUF tensor type, [out_features, in_features] with each row a whole number of
// blocks, byte for byte as the file stores it (so it can be uploaded straight from the mapped file).
// Q4_0, Q4_1 and Q8_0 multiply x quantized to 8-bit blocks of 32 in integers, bit for bit as the CPU
// quantizes it (kernels/cpu/quant/matmul.h), using the Stream's scratch buffer.
Result<void> linear_gguf(Stream& stream, BufferSpan x, std::int64_t rows, DType type, BufferSpan weight,
                         std::int64_t out_features, std::int64_t in_features, BufferSpan y);
// Whether linear_gguf has a kernel for `type` (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K ... Q6_K,
// MXFP4, IQ2_XXS).
bool linear_gguf_supports(DType type);

// rope_interleaved on x [rows, heads, head_dim]: dims [rope_offset, rope_offset + 2*pairs) of every head of
// row r rotate by row r of `cos_sin` (from cpu::rope_cos_sin); `inverse` rotates by the negative angle.
Result<void> rope_interleaved(Stream& stream, BufferSpan x, BufferSpan cos_sin, std::int64_t rows,
                              std::int64_t heads, std::int64_t head_dim, std::int64_t rope_offset,
                              std::int64_t pairs, bool inverse);

// hadamard on each of `rows` rows of n values (n a power of two, at most 4096), in place.
Result<void> hadamard(Stream& stream, BufferSpan x, std::int64_t rows, std::int64_t n);

// sinkhorn on each of `count` k x k matrices, in place.
Result<void> sinkhorn(Stream& stream, BufferSpan matrices, std::int64_t count, std::int64_t k,
                      std::int64_t iterations, float eps);

// sink_attention for `heads` queries [heads, dim] over the same `count` entries [count, dim], head h with
// sink logit sinks[h]; out is [heads, dim] (dim at most 2048). `scratch` holds heads * count floats (the
// logits, between the two passes).
Result<void> sink_attention(Stream& stream, BufferSpan queries, std::int64_t heads, BufferSpan entries,
                            std::int64_t count, std::int64_t dim, float scale, BufferSpan sinks,
                            BufferSpan scratch, BufferSpan out);

} // namespace lectern::kernels::vulkan
