#pragma once
// DeepSeek-V4's sparse sink attention for a chunk of tokens in one op, on device pointers: the meaning of
// kernels/vulkan/attention_ops.h, i.e. kernels/cpu/ops.h sink_attention over each row's candidate list as
// inference/model/v4/graph.cpp (Graph::attention) builds it. Indices on the device are uint32. The dots
// and the weighted sum are fp32 (explicit fma) where the CPU sums in double; the softmax (maximum, exp,
// denominator, bf16 probabilities) is the CPU's, in double. Tolerance in
// tests/kernels/cuda_attention_ops_test.cpp. Each call checks its launches and returns without waiting, as
// ops.h.

#include "kernels/result.h"

#include <cstdint>

namespace lectern::kernels::cuda {

// The largest head size sparse_attention takes.
constexpr std::int64_t kMaxSparseAttentionDim = 2048;

// Sparse sink attention for `rows` consecutive tokens at positions first .. first + rows - 1 (heads share
// the candidates). Row r (position p = first + r) attends to, in this order,
//  - the sliding window: positions max(0, p - window + 1) .. p. A position q < first is read from `ring`
//    [window, dim] at slot q % window (the ring as it was BEFORE this chunk: the caller writes the chunk's
//    rows into the ring afterwards); q >= first from `fresh` [rows, dim] fp32, row q - first;
//  - compressed entries [entry_capacity, dim]: with `selected` ([rows, k]), entries selected[r, i] for
//    i < counts[r]; without it (null), entries 0 .. counts[r] - 1. counts is [rows] (0 allowed).
//    counts[r] is clamped to k (with `selected`) or to entry_capacity (without), and a selected index at
//    or past entry_capacity is skipped (no candidate), so device data never reads out of bounds.
// One softmax per (row, head) over all its candidates and the sink logit sinks[head] (whose value is 0),
// logits = (q . candidate) * scale, probabilities rounded to bf16, then the weighted sum; out
// [rows, heads, dim]. queries [rows, heads, dim]; sinks [heads]; dim at most kMaxSparseAttentionDim; rows
// and heads at most 65535 (split larger calls).
// entry_capacity may be 0 (a layer without compression; `entries` is then not read and may be null); k is
// read only with `selected` (then at least 1).
// `scratch` holds the logits between the two kernels: sparse_attention_scratch_bytes(...) bytes, i.e.
// rows * heads * (min(window, first + rows) + (selected ? k : entry_capacity)) floats.
// With `bf16_cache` the ring and the entries hold bf16 bits (uint16), widened exactly; else fp32. Either
// way the result is bit for bit the same on the same values.
Result<void> sparse_attention(const float* queries, std::int64_t rows, std::int64_t heads, std::int64_t dim,
                              const void* ring, std::int64_t window, const float* fresh, std::int64_t first,
                              const void* entries, std::int64_t entry_capacity, const std::uint32_t* selected,
                              std::int64_t k, const std::uint32_t* counts, float scale, const float* sinks,
                              float* scratch, float* out, bool bf16_cache = false);

// The bytes sparse_attention needs in `scratch` for these sizes (`has_selected`: a `selected` is given).
std::uint64_t sparse_attention_scratch_bytes(std::int64_t rows, std::int64_t heads, std::int64_t window,
                                             std::int64_t first, std::int64_t entry_capacity,
                                             bool has_selected, std::int64_t k);

} // namespace lectern::kernels::cuda
