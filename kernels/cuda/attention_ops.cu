#include "kernels/cuda/attention_ops.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numbers.cuh"

#include <algorithm>
#include <string>

namespace lectern::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kLogitThreads = 256; // one warp per candidate
constexpr int kLogitWarps = kLogitThreads / kWarp;
constexpr int kSumThreads = 256;
constexpr int kOutTile = 64; // output dims per block of the weighted sum
constexpr int kSplits = kSumThreads / kOutTile;
constexpr std::int64_t kMaxGrid = 65535; // grid.y (heads) and grid.z (rows)

// Where a candidate's values lie.
enum Source : int { kRing, kFresh, kEntries, kNone };

struct Location {
    int source;
    std::int64_t offset; // of the candidate's first value in its buffer
};

// Everything both kernels need to find a row's candidates.
struct Problem {
    const float* queries;
    const void* ring;
    const float* fresh;
    const void* entries;
    const std::uint32_t* selected; // null: the first counts[r] entries
    const std::uint32_t* counts;
    std::int64_t heads, dim, window, first, capacity, k, stride;
    float scale;
};

// Row r's candidates: `window_count` window positions from `window_start`, then `compressed` entries.
struct Candidates {
    std::int64_t window_start, window_count, compressed;
};

__device__ Candidates candidates_of(const Problem& p, std::int64_t r) {
    const std::int64_t position = p.first + r;
    Candidates c;
    c.window_start = max(position - p.window + 1, std::int64_t{0});
    c.window_count = position + 1 - c.window_start;
    c.compressed = min(static_cast<std::int64_t>(p.counts[r]), p.selected ? p.k : p.capacity);
    return c;
}

// Candidate `index` of row r. Positions before the chunk are in the ring as it was before the chunk;
// a selected index past the capacity is no candidate (kNone), so bad device data reads nothing.
__device__ Location locate(const Problem& p, std::int64_t r, const Candidates& c, std::int64_t index) {
    if (index < c.window_count) {
        const std::int64_t q = c.window_start + index;
        if (q < p.first) return Location{kRing, q % p.window * p.dim};
        return Location{kFresh, (q - p.first) * p.dim};
    }
    const std::int64_t i = index - c.window_count;
    const std::int64_t entry = p.selected ? static_cast<std::int64_t>(p.selected[r * p.k + i]) : i;
    if (entry < p.capacity) return Location{kEntries, entry * p.dim};
    return Location{kNone, 0};
}

// bf16 widens exactly, so both instantiations compute on the same floats and give the same bits.
template <bool Bf16>
__device__ inline float cache_at(const void* values, std::int64_t i) {
    if constexpr (Bf16)
        return bf16_to_f32(static_cast<const std::uint16_t*>(values)[i]);
    else
        return static_cast<const float*>(values)[i];
}

template <bool Bf16>
__device__ inline float element(const Problem& p, const Location& at, std::int64_t i) {
    if (at.source == kRing) return cache_at<Bf16>(p.ring, at.offset + i);
    if (at.source == kFresh) return p.fresh[at.offset + i];
    return cache_at<Bf16>(p.entries, at.offset + i);
}

// Grid (candidate tiles, heads, rows): the head's query in shared memory, one warp per candidate, the dot
// split over the lanes (explicit fma, so that it does not hang on the compiler's contraction) and summed
// across the warp. Candidates past the row's count, or not candidates, leave their logit unwritten.
template <bool Bf16>
__global__ void logits_kernel(Problem p, float* logits) {
    __shared__ float query[kMaxSparseAttentionDim];
    const std::int64_t head = blockIdx.y, r = blockIdx.z;
    const float* q = p.queries + (r * p.heads + head) * p.dim;
    for (std::int64_t i = threadIdx.x; i < p.dim; i += kLogitThreads) query[i] = q[i];
    __syncthreads();
    const Candidates c = candidates_of(p, r);
    const std::int64_t index = static_cast<std::int64_t>(blockIdx.x) * kLogitWarps + threadIdx.x / kWarp;
    if (index >= c.window_count + c.compressed) return; // whole warps leave together
    const Location at = locate(p, r, c, index);
    if (at.source == kNone) return; // the weighted sum skips it too
    const int lane = static_cast<int>(threadIdx.x % kWarp);
    float dot = 0.0f;
    for (std::int64_t i = lane; i < p.dim; i += kWarp) dot = fmaf(query[i], element<Bf16>(p, at, i), dot);
    for (int offset = kWarp / 2; offset > 0; offset /= 2)
        dot = __fadd_rn(dot, __shfl_xor_sync(~0u, dot, offset));
    if (lane == 0) logits[(r * p.heads + head) * p.stride + index] = __fmul_rn(dot, p.scale);
}

// The block's maximum of one value per thread; every thread gets it and must call it.
__device__ float block_max(float value, float* partial) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2)
        value = fmaxf(value, __shfl_xor_sync(~0u, value, offset));
    if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = value;
    __syncthreads();
    float result = partial[0];
    for (int w = 1; w < kSumThreads / kWarp; ++w) result = fmaxf(result, partial[w]);
    return result;
}

// The block's sum, as block_max.
__device__ double block_sum(double value, double* partial) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(~0u, value, offset);
    if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = value;
    __syncthreads();
    double result = partial[0];
    for (int w = 1; w < kSumThreads / kWarp; ++w) result += partial[w];
    return result;
}

// Grid (dim tiles, heads, rows). The softmax is cpu::sink_attention's: the fp32 maximum of the sink and the
// logits, each weight float(exp(double)), their sum in double with the sink's, then
// round_bf16(float(weight / sum)). Then kSumThreads candidates at a time: each thread makes one
// probability and locates its candidate once, into shared memory; each of the kSplits threads of an output
// dim sums every kSplits-th of them (reads of a candidate's dims are contiguous across the tile), and the
// splits' sums are added in split order.
template <bool Bf16>
__global__ void weighted_sum_kernel(Problem p, const float* logits, const float* sinks, float* out) {
    __shared__ float probabilities[kSumThreads];
    __shared__ Location where[kSumThreads];
    __shared__ float partial_out[kSumThreads];
    __shared__ float partial_max[kSumThreads / kWarp];
    __shared__ double partial_sum[kSumThreads / kWarp];
    const std::int64_t head = blockIdx.y, r = blockIdx.z;
    const int t = static_cast<int>(threadIdx.x);
    const float* row_logits = logits + (r * p.heads + head) * p.stride;
    const Candidates c = candidates_of(p, r);
    const std::int64_t count = c.window_count + c.compressed;
    const float sink = sinks[head];

    float top = sink;
    for (std::int64_t e = t; e < count; e += kSumThreads)
        if (locate(p, r, c, e).source != kNone) top = fmaxf(top, row_logits[e]);
    top = block_max(top, partial_max);
    double weights = 0.0;
    for (std::int64_t e = t; e < count; e += kSumThreads)
        if (locate(p, r, c, e).source != kNone)
            weights += static_cast<float>(exp(static_cast<double>(row_logits[e]) - top));
    const double denominator = block_sum(weights, partial_sum) + exp(static_cast<double>(sink) - top);

    const int lane = t % kOutTile, split = t / kOutTile;
    const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kOutTile + lane;
    float value = 0.0f;
    for (std::int64_t chunk = 0; chunk < count; chunk += kSumThreads) {
        const std::int64_t e = chunk + t;
        Location at{kNone, 0};
        float probability = 0.0f;
        if (e < count) {
            at = locate(p, r, c, e);
            if (at.source != kNone) {
                const auto weight = static_cast<float>(exp(static_cast<double>(row_logits[e]) - top));
                probability = round_bf16(static_cast<float>(weight / denominator));
            }
        }
        probabilities[t] = probability;
        where[t] = at;
        __syncthreads();
        if (i < p.dim) {
            const int n = static_cast<int>(min(static_cast<std::int64_t>(kSumThreads), count - chunk));
            for (int j = split; j < n; j += kSplits)
                if (where[j].source != kNone)
                    value = fmaf(probabilities[j], element<Bf16>(p, where[j], i), value);
        }
        __syncthreads(); // the chunk's probabilities are no longer read
    }
    partial_out[t] = value;
    __syncthreads();
    if (split == 0 && i < p.dim) {
        float total = value;
        for (int s = 1; s < kSplits; ++s) total = __fadd_rn(total, partial_out[s * kOutTile + lane]);
        out[(r * p.heads + head) * p.dim + i] = total;
    }
}

// Logits per (row, head): the longest window any row sees plus the most compressed entries.
std::int64_t logit_stride(std::int64_t rows, std::int64_t window, std::int64_t first,
                          std::int64_t entry_capacity, bool has_selected, std::int64_t k) {
    return std::min(window, first + rows) + (has_selected ? k : entry_capacity);
}

Result<void> shape_error(const char* op, const std::string& what) {
    return Error{std::string(op) + ": " + what};
}

} // namespace

std::uint64_t sparse_attention_scratch_bytes(std::int64_t rows, std::int64_t heads, std::int64_t window,
                                             std::int64_t first, std::int64_t entry_capacity,
                                             bool has_selected, std::int64_t k) {
    return static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(heads) *
           static_cast<std::uint64_t>(logit_stride(rows, window, first, entry_capacity, has_selected, k)) *
           sizeof(float);
}

Result<void> sparse_attention(const float* queries, std::int64_t rows, std::int64_t heads, std::int64_t dim,
                              const void* ring, std::int64_t window, const float* fresh, std::int64_t first,
                              const void* entries, std::int64_t entry_capacity, const std::uint32_t* selected,
                              std::int64_t k, const std::uint32_t* counts, float scale, const float* sinks,
                              float* scratch, float* out, bool bf16_cache) {
    constexpr const char* op = "sparse_attention";
    if (rows <= 0 || heads <= 0 || dim <= 0 || window <= 0)
        return shape_error(op, "rows, heads, dim and window must be positive (rows " + std::to_string(rows) +
                                   ", heads " + std::to_string(heads) + ", dim " + std::to_string(dim) +
                                   ", window " + std::to_string(window) + ")");
    if (dim > kMaxSparseAttentionDim)
        return shape_error(op, "dim " + std::to_string(dim) + " is past the " +
                                   std::to_string(kMaxSparseAttentionDim) + " supported");
    if (first < 0 || entry_capacity < 0)
        return shape_error(op, "first (" + std::to_string(first) + ") and entry_capacity (" +
                                   std::to_string(entry_capacity) + ") must not be negative");
    if (selected && k <= 0)
        return shape_error(op, "with selected entries k must be positive, not " + std::to_string(k));
    if (rows > kMaxGrid || heads > kMaxGrid)
        return shape_error(op, "more than 65535 rows or heads in one call; split them");
    const std::int64_t k_used = selected ? k : 0;
    const std::int64_t stride =
        logit_stride(rows, window, first, entry_capacity, selected != nullptr, k_used);
    const Problem problem{queries, ring,   fresh, entries,        selected, counts, heads,
                          dim,     window, first, entry_capacity, k_used,   stride, scale};

    const dim3 logit_grid(blocks_for(stride, kLogitWarps), static_cast<unsigned>(heads),
                          static_cast<unsigned>(rows));
    if (bf16_cache)
        logits_kernel<true><<<logit_grid, kLogitThreads>>>(problem, scratch);
    else
        logits_kernel<false><<<logit_grid, kLogitThreads>>>(problem, scratch);
    if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess) return cuda_error(op, err);

    const dim3 sum_grid(blocks_for(dim, kOutTile), static_cast<unsigned>(heads), static_cast<unsigned>(rows));
    if (bf16_cache)
        weighted_sum_kernel<true><<<sum_grid, kSumThreads>>>(problem, scratch, sinks, out);
    else
        weighted_sum_kernel<false><<<sum_grid, kSumThreads>>>(problem, scratch, sinks, out);
    return finish_launch(op);
}

} // namespace lectern::kernels::cuda
