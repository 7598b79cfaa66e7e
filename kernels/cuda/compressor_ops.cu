#include "kernels/cuda/check.h"
#include "kernels/cuda/compressor_ops.h"

#include <string>

namespace lectern::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__device__ inline std::int64_t thread_index() {
    return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

struct Chunk {
    const float* a;
    const float* z;
    const float* ape;
    float* state_kv;
    float* state_score;
    std::int64_t rows, first, ratio, width;
    std::int64_t row_width; // lanes * width
    std::int64_t offset;    // the slot of the current block's position j is offset + j
    bool overlap;
};

// Candidate j of block `block`, one column of its row: the chunk's row when its position lies in the chunk,
// else the old state's slot. Only the block current at the chunk's start, or a later one, is asked for, so
// a position before the chunk is in the state as the CPU left it.
__device__ float candidate_kv(const Chunk& c, std::int64_t block, std::int64_t j, std::int64_t column) {
    const std::int64_t q = block * c.ratio + j;
    if (q >= c.first) return c.a[(q - c.first) * c.row_width + column];
    return c.state_kv[(c.offset + j) * c.row_width + column];
}

// The score as cpu::add makes it: one fp32 add, never contracted.
__device__ float candidate_score(const Chunk& c, std::int64_t block, std::int64_t j, std::int64_t column) {
    const std::int64_t q = block * c.ratio + j;
    if (q >= c.first)
        return __fadd_rn(c.z[(q - c.first) * c.row_width + column], c.ape[j * c.row_width + column]);
    return c.state_score[(c.offset + j) * c.row_width + column];
}

// One thread per (completed block, channel): cpu::compressor_pool over the candidates the CPU's state holds
// when that block completes. With overlap, candidate r < ratio is lane 0 of the block before (the old
// state's slot r for the chunk's first block, else that block's candidate), r >= ratio lane 1 of this one.
// fp32 maximum, exp and sums in double, operation for operation as the CPU.
__global__ void pool_kernel(Chunk c, std::int64_t blocks, float* pooled) {
    const std::int64_t id = thread_index();
    if (id >= blocks * c.width) return;
    const std::int64_t index = id / c.width, channel = id % c.width;
    const std::int64_t current = c.first / c.ratio, block = current + index;
    const std::int64_t candidates = c.overlap ? 2 * c.ratio : c.ratio;
    const auto kv = [&](std::int64_t r) {
        if (!c.overlap) return candidate_kv(c, block, r, channel);
        if (r >= c.ratio) return candidate_kv(c, block, r - c.ratio, c.width + channel);
        if (block == current) return c.state_kv[r * c.row_width + channel];
        return candidate_kv(c, block - 1, r, channel);
    };
    const auto score = [&](std::int64_t r) {
        if (!c.overlap) return candidate_score(c, block, r, channel);
        if (r >= c.ratio) return candidate_score(c, block, r - c.ratio, c.width + channel);
        if (block == current) return c.state_score[r * c.row_width + channel];
        return candidate_score(c, block - 1, r, channel);
    };
    float top = -INFINITY;
    for (std::int64_t r = 0; r < candidates; ++r) top = fmaxf(top, score(r));
    double sum = 0.0, weighted = 0.0;
    for (std::int64_t r = 0; r < candidates; ++r) {
        const double e = exp(static_cast<double>(score(r)) - top);
        sum = __dadd_rn(sum, e);
        weighted = __dadd_rn(weighted, __dmul_rn(e, static_cast<double>(kv(r))));
    }
    pooled[id] = static_cast<float>(weighted / sum);
}

// One thread per (j < ratio, column): slot offset + j gets the chunk's last token at a position = j mod
// ratio (else keeps its value) and, with overlap and a block completed, slot j gets the last completed
// block's candidate j (what the CPU's move of slots [ratio, 2 ratio) left there). A thread reads and writes
// only its own two elements, so it reads everything before it writes: the lookback may be slot offset + j's
// old value.
__global__ void state_kernel(Chunk c, std::int64_t blocks) {
    const std::int64_t id = thread_index();
    if (id >= c.ratio * c.row_width) return;
    const std::int64_t j = id / c.row_width, column = id % c.row_width;
    const std::int64_t slot = (c.offset + j) * c.row_width + column;
    const std::int64_t last = c.first + c.rows - 1;
    const std::int64_t latest = last - (last % c.ratio + c.ratio - j) % c.ratio;
    float kv = c.state_kv[slot], score = c.state_score[slot];
    if (latest >= c.first) {
        kv = c.a[(latest - c.first) * c.row_width + column];
        score = __fadd_rn(c.z[(latest - c.first) * c.row_width + column], c.ape[j * c.row_width + column]);
    }
    if (c.overlap && blocks > 0) {
        const std::int64_t block = (c.first + c.rows) / c.ratio - 1;
        const float lookback_kv = candidate_kv(c, block, j, column);
        const float lookback_score = candidate_score(c, block, j, column);
        c.state_kv[j * c.row_width + column] = lookback_kv;
        c.state_score[j * c.row_width + column] = lookback_score;
    }
    c.state_kv[slot] = kv;
    c.state_score[slot] = score;
}

Result<void> shape_error(const char* op, const std::string& what) {
    return Error{std::string(op) + ": " + what};
}

} // namespace

Result<void> compressor_chunk(const float* a, const float* z, const float* ape, std::int64_t rows,
                              std::int64_t first, std::int64_t ratio, std::int64_t width, float* state_kv,
                              float* state_score, float* pooled) {
    constexpr const char* op = "compressor_chunk";
    if (rows <= 0 || ratio <= 0 || width <= 0 || first < 0)
        return shape_error(op, "rows, ratio and width must be positive and first not negative (rows " +
                                   std::to_string(rows) + ", ratio " + std::to_string(ratio) + ", width " +
                                   std::to_string(width) + ", first " + std::to_string(first) + ")");
    const bool overlap = ratio == 4;
    const std::int64_t row_width = (overlap ? 2 : 1) * width;
    const std::int64_t blocks = (first + rows) / ratio - first / ratio;
    if (blocks > 0 && !pooled)
        return shape_error(op, std::to_string(blocks) + " blocks complete but pooled is null");
    const Chunk chunk{a,     z,     ape,   state_kv,  state_score,         rows,
                      first, ratio, width, row_width, overlap ? ratio : 0, overlap};
    if (blocks > 0) {
        pool_kernel<<<blocks_for(blocks * width, kThreads), kThreads>>>(chunk, blocks, pooled);
        if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess) return cuda_error(op, err);
    }
    state_kernel<<<blocks_for(ratio * row_width, kThreads), kThreads>>>(chunk, blocks);
    return finish_launch(op);
}

} // namespace lectern::kernels::cuda
