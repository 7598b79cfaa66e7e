#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace lectern::kernels::cuda {
namespace {

// One thread per (row, head, pair); row r's pairs rotate by row r of the cos/sin table, the inverse by the
// negated sine (exact), as cpu::rope_interleaved rotates by the negative angle.
__global__ void rope_kernel(float* x, const float* cos_sin, std::int64_t rows, std::int64_t heads,
                            std::int64_t head_dim, std::int64_t rope_offset, std::int64_t pairs,
                            bool inverse) {
    const std::int64_t index = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (index >= rows * heads * pairs) return;
    const std::int64_t pair = index % pairs;
    const std::int64_t head = (index / pairs) % heads;
    const std::int64_t row = index / (pairs * heads);
    const float c = cos_sin[2 * (row * pairs + pair)];
    const float s = inverse ? -cos_sin[2 * (row * pairs + pair) + 1] : cos_sin[2 * (row * pairs + pair) + 1];
    float* p = x + (row * heads + head) * head_dim + rope_offset + 2 * pair;
    const float a = p[0], b = p[1];
    // Explicit roundings: no fused multiply-adds, as on the CPU.
    p[0] = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s));
    p[1] = __fadd_rn(__fmul_rn(a, s), __fmul_rn(b, c));
}

// One block per row: the butterflies in shared memory, in the same order and precision as the CPU
// (fp32 adds, then one fp32 scale), so the results agree bit for bit.
__global__ void hadamard_kernel(float* x, std::int64_t n, float scale) {
    extern __shared__ float values[];
    float* row = x + blockIdx.x * n;
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) values[i] = row[i];
    __syncthreads();
    for (std::int64_t half = 1; half < n; half *= 2) {
        for (std::int64_t t = threadIdx.x; t < n / 2; t += blockDim.x) {
            const std::int64_t i = (t / half) * 2 * half + t % half;
            const float a = values[i], b = values[i + half];
            values[i] = a + b;
            values[i + half] = a - b;
        }
        __syncthreads();
    }
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) row[i] = values[i] * scale;
}

} // namespace

Result<void> rope_interleaved(float* x, const float* cos_sin, std::int64_t rows, std::int64_t heads,
                              std::int64_t head_dim, std::int64_t rope_offset, std::int64_t pairs,
                              bool inverse) {
    if (rows <= 0 || heads <= 0 || pairs <= 0) return Error{"rope_interleaved: empty shape"};
    if (rope_offset < 0 || rope_offset + 2 * pairs > head_dim)
        return Error{"rope_interleaved: the rotated dims lie outside the head"};
    constexpr int kThreads = 256;
    rope_kernel<<<blocks_for(rows * heads * pairs, kThreads), kThreads>>>(x, cos_sin, rows, heads, head_dim,
                                                                          rope_offset, pairs, inverse);
    return finish_launch("rope_interleaved");
}

Result<void> hadamard(float* x, std::int64_t rows, std::int64_t n) {
    if (rows <= 0 || n <= 0 || (n & (n - 1)) != 0 || n > 8192)
        return Error{"hadamard: n must be a power of two up to 8192"};
    const float scale = 1.0f / sqrtf(static_cast<float>(n));
    hadamard_kernel<<<static_cast<unsigned>(rows), 256, static_cast<std::size_t>(n) * sizeof(float)>>>(x, n,
                                                                                                       scale);
    return finish_launch("hadamard");
}

} // namespace lectern::kernels::cuda
