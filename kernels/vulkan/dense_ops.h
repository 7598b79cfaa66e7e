#pragma once
// The ops a Llama-style dense graph needs beyond ops.h: residual add, SwiGLU without a clamp, an fp16
// key/value cache and causal grouped-query attention over it. Their meaning is that of the dense CPU graph
// (inference/model/dense/dense_model.cpp). Positions come from a device buffer holding one uint32 (the
// position of the first row), so that a recording is reused from one decode step to the next.

#include "kernels/result.h"
#include "kernels/vulkan/stream.h"

#include <cstdint>

namespace lectern::kernels::vulkan {

// y[i] += x[i] for `count` floats.
Result<void> add_in_place(Stream& stream, BufferSpan y, BufferSpan x, std::int64_t count);

// gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for `count` floats.
Result<void> silu_mul(Stream& stream, BufferSpan gate, BufferSpan up, std::int64_t count);

// Writes `rows` rows of keys and values [rows, kv_dim] (fp32) as fp16 into rows first .. first + rows - 1
// of the caches [capacity, kv_dim], where `first` is the uint32 in `first_position`. kv_dim must be even.
// Rows past the capacity are not written: the caller keeps first + rows <= capacity.
Result<void> kv_store(Stream& stream, BufferSpan keys, BufferSpan values, std::int64_t rows,
                      std::int64_t kv_dim, BufferSpan key_cache, BufferSpan value_cache,
                      std::int64_t capacity, BufferSpan first_position);

// Causal grouped-query attention. queries [rows, heads, head_dim]; row r is at position first + r and
// sees cache positions 0 .. first + r of its key/value head (head / (heads / kv_heads)); the caches are
// [capacity, kv_heads * head_dim] fp16 (from kv_store). softmax(q . k * scale) over those positions,
// with the query and the probabilities rounded to fp16 as the dense CPU graph does; out [rows, heads,
// head_dim]. head_dim even and at most 256.
Result<void> causal_attention(Stream& stream, BufferSpan queries, std::int64_t rows, std::int64_t heads,
                              std::int64_t kv_heads, std::int64_t head_dim, BufferSpan key_cache,
                              BufferSpan value_cache, std::int64_t capacity, BufferSpan first_position,
                              float scale, BufferSpan out);

} // namespace lectern::kernels::vulkan
