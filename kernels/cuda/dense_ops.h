#pragma once
// The CUDA backend's ops for a Llama-style dense graph beyond ops.h and graph_ops.h (whose `add` is the
// residual add): SwiGLU without a clamp, an fp16 key/value cache and causal grouped-query attention over
// it, with the meaning of kernels/vulkan/dense_ops.h, which is that of the dense CPU graph
// (inference/model/dense/dense_model.cpp). The first position comes from device memory holding one
// uint32 (the position of the first row), as on Vulkan, where one recording serves every decode step (a
// captured CUDA graph could do the same; none is captured yet). The caches hold fp16 bits. Each call checks
// its launch and returns without waiting, as ops.h.

#include "kernels/result.h"

#include <cstdint>

namespace lectern::kernels::cuda {

// gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for `count` floats, in place (fp32 exp and division).
Result<void> silu_mul(float* gate, const float* up, std::int64_t count);

// Writes `rows` rows of keys and values [rows, kv_dim] (fp32) as fp16 into rows first .. first + rows - 1
// of the caches [capacity, kv_dim], where `first` is *first_position; bit for bit quant::float_to_half
// (round to nearest even, NaN included). Rows past the capacity are not written: the caller keeps
// first + rows <= capacity.
Result<void> kv_store(const float* keys, const float* values, std::int64_t rows, std::int64_t kv_dim,
                      std::uint16_t* key_cache, std::uint16_t* value_cache, std::int64_t capacity,
                      const std::uint32_t* first_position);

// The largest head size causal_attention takes.
constexpr std::int64_t kMaxAttentionHeadDim = 256;

// Causal grouped-query attention. queries [rows, heads, head_dim]; row r is at position first + r
// (first = *first_position) and sees cache positions 0 .. first + r of its key/value head
// (head / (heads / kv_heads)); the caches are [capacity, kv_heads * head_dim] fp16 (from kv_store).
// softmax(q . k * scale) over those positions, with the query and the probabilities rounded to fp16 as
// the dense CPU graph does; out [rows, heads, head_dim]. head_dim even and at most kMaxAttentionHeadDim.
// Positions at or past the capacity are not read: the caller keeps first + rows <= capacity.
Result<void> causal_attention(const float* queries, std::int64_t rows, std::int64_t heads,
                              std::int64_t kv_heads, std::int64_t head_dim, const std::uint16_t* key_cache,
                              const std::uint16_t* value_cache, std::int64_t capacity,
                              const std::uint32_t* first_position, float scale, float* out);

} // namespace lectern::kernels::cuda
