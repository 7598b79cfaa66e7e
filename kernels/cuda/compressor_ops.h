#pragma once
// DeepSeek-V4's compressor state machine on device pointers, batched over a chunk of tokens: the meaning of
// kernels/vulkan/compressor_ops.h (the per-token Graph::compress of inference/model/v4/graph.cpp up to the
// pool, with cpu::compressor_pool of kernels/cpu/graph_ops.h). Each call checks its launches and returns
// without waiting, as ops.h.

#include "kernels/result.h"

#include <cstdint>

namespace lectern::kernels::cuda {

// For each token t (position p = first + t): its row a[t] ([lanes * width]) goes to kv slot s and
// z[t] + ape[p % ratio] to score slot s, s = (overlap ? ratio : 0) + p % ratio (overlap = ratio == 4,
// lanes = 2, slots = 2 * ratio; else lanes 1, slots = ratio); when (p + 1) % ratio == 0 the block is pooled
// (cpu::compressor_pool) into the next row of `pooled` and, with overlap, slots [ratio, 2 ratio) move to
// [0, ratio). `pooled` [blocks, width] gets the blocks completed in this chunk in order (blocks =
// (first + rows) / ratio - first / ratio); state_kv/state_score ([slots, lanes * width] fp32) end as the
// CPU's would after the last token.
//
// a and z are [rows, lanes * width], ape [ratio, lanes * width], all fp32. Two kernels: every completed
// block pooled in parallel from the old state and the chunk's rows (none when blocks is 0; `pooled` is
// then not touched and may be null), then the final state written. The state comes out bit for bit as the
// CPU's (copies, and one fp32 add per score); pooled is cpu::compressor_pool's arithmetic in double on the
// same inputs, so it differs only by the last bit of a double exp. The state must not alias a, z, ape or
// pooled.
Result<void> compressor_chunk(const float* a, const float* z, const float* ape, std::int64_t rows,
                              std::int64_t first, std::int64_t ratio, std::int64_t width, float* state_kv,
                              float* state_score, float* pooled);

} // namespace lectern::kernels::cuda
