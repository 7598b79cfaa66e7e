#pragma once
// DeepSeek-V4's sparse sink attention for a chunk of tokens in one op (two dispatches), in place of one
// candidate buffer and one sink_attention per token. The meaning is kernels/cpu/ops.h sink_attention over
// each row's candidate list as inference/model/v4/graph.cpp (Graph::attention) builds it; sums are fp32
// where the CPU sums in double (tolerance in tests/vulkan/vulkan_attention_ops_test.cpp).

#include "kernels/result.h"
#include "kernels/vulkan/storage.h"
#include "kernels/vulkan/stream.h"

#include <cstdint>
#include <optional>

namespace lectern::kernels::vulkan {

// Sparse sink attention for `rows` consecutive tokens at positions first .. first + rows - 1 (heads share
// the candidates). Row r (position p = first + r) attends to, in this order,
//  - the sliding window: positions max(0, p - window + 1) .. p. A position q < first is read from `ring`
//    [window, dim] at slot q % window (the ring as it was BEFORE this chunk: the caller writes the chunk's
//    rows into the ring afterwards); q >= first from `fresh` [rows, dim], row q - first;
//  - compressed entries [entry_capacity, dim]: with `selected` ([rows, k] uint32), entries selected[r, i]
//    for i < counts[r]; without it, entries 0 .. counts[r] - 1. counts is [rows] uint32 (0 allowed).
//    counts[r] is clamped to k (with `selected`) or to entry_capacity (without), and a selected index at
//    or past entry_capacity is skipped (no candidate), so device data never reads out of bounds.
// One softmax per (row, head) over all its candidates and the sink logit sinks[head] (whose value is 0),
// logits = (q . candidate) * scale, probabilities rounded to bf16, then the weighted sum; out
// [rows, heads, dim]. queries [rows, heads, dim]; sinks [heads]; dim at most 2048.
// entry_capacity may be 0 (a layer without compression; `entries` must still be a bound, non-empty span,
// e.g. the ring); k is read only with `selected` (then at least 1).
// `scratch` holds the logits between the two passes: sparse_attention_scratch_bytes(...) bytes, i.e.
// rows * heads * (min(window, first + rows) + (selected ? k : entry_capacity)) floats.
// `cache` is how `ring` and `entries` hold their values (both alike: a layer without compression passes
// its ring as `entries`); `fresh` and everything else is fp32. With BF16 the result equals the F32 path's
// on the same values widened.
Result<void> sparse_attention(Stream& stream, BufferSpan queries, std::int64_t rows, std::int64_t heads,
                              std::int64_t dim, BufferSpan ring, std::int64_t window, BufferSpan fresh,
                              std::int64_t first, BufferSpan entries, std::int64_t entry_capacity,
                              std::optional<BufferSpan> selected, std::int64_t k, BufferSpan counts,
                              float scale, BufferSpan sinks, BufferSpan scratch, BufferSpan out,
                              Storage cache = Storage::F32);

// The bytes sparse_attention needs in `scratch` for these sizes (`has_selected`: a `selected` is given).
std::uint64_t sparse_attention_scratch_bytes(std::int64_t rows, std::int64_t heads, std::int64_t window,
                                             std::int64_t first, std::int64_t entry_capacity,
                                             bool has_selected, std::int64_t k);

} // namespace lectern::kernels::vulkan
