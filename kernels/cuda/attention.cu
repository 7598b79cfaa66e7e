#include "kernels/cuda/check.h"
#include "kernels/cuda/numbers.cuh"
#include "kernels/cuda/ops.h"

namespace lectern::kernels::cuda {
namespace {

constexpr int kMaxSinkhornK = 16;

// One thread per matrix, in double and in the CPU reference's order.
__global__ void sinkhorn_kernel(float* matrices, std::int64_t count, int k, std::int64_t iterations,
                                double eps) {
    const std::int64_t index = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (index >= count) return;
    float* matrix = matrices + index * k * k;
    double m[kMaxSinkhornK * kMaxSinkhornK];
    for (int i = 0; i < k * k; ++i) m[i] = matrix[i];
    for (int j = 0; j < k; ++j) {
        double top = m[j * k];
        for (int c = 1; c < k; ++c) top = fmax(top, m[j * k + c]);
        double sum = 0.0;
        for (int c = 0; c < k; ++c) sum += m[j * k + c] = exp(m[j * k + c] - top);
        for (int c = 0; c < k; ++c) m[j * k + c] = m[j * k + c] / sum + eps;
    }
    for (std::int64_t it = 0; it < iterations; ++it) {
        if (it > 0) {
            for (int j = 0; j < k; ++j) {
                double sum = 0.0;
                for (int c = 0; c < k; ++c) sum += m[j * k + c];
                for (int c = 0; c < k; ++c) m[j * k + c] /= (sum + eps);
            }
        }
        for (int c = 0; c < k; ++c) {
            double sum = 0.0;
            for (int j = 0; j < k; ++j) sum += m[j * k + c];
            for (int j = 0; j < k; ++j) m[j * k + c] /= (sum + eps);
        }
    }
    for (int i = 0; i < k * k; ++i) matrix[i] = static_cast<float>(m[i]);
}

constexpr int kThreads = 256;

__device__ double block_reduce(double value, double* shared, bool take_max) {
    shared[threadIdx.x] = value;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride)
            shared[threadIdx.x] = take_max ? fmax(shared[threadIdx.x], shared[threadIdx.x + stride])
                                           : shared[threadIdx.x] + shared[threadIdx.x + stride];
        __syncthreads();
    }
    const double result = shared[0];
    __syncthreads();
    return result;
}

// One block per head: logits into scratch, the softmax with the sink in double, probabilities rounded to
// bf16 as the reference kernel does, then the weighted sum over entries per dim.
__global__ void sink_attention_kernel(const float* queries, const float* entries, std::int64_t count,
                                      std::int64_t dim, float scale, const float* sinks, float* scratch,
                                      float* out) {
    __shared__ double reduce[kThreads];
    const std::int64_t head = blockIdx.x;
    const float* q = queries + head * dim;
    float* logits = scratch + head * count;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (std::int64_t e = warp; e < count; e += kThreads / 32) {
        const float* entry = entries + e * dim;
        double sum = 0.0;
        for (std::int64_t i = lane; i < dim; i += 32) sum += static_cast<double>(q[i]) * entry[i];
        for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xFFFFFFFFu, sum, offset);
        if (lane == 0) logits[e] = static_cast<float>(sum) * scale;
    }
    __syncthreads();
    double top = sinks[head];
    for (std::int64_t e = threadIdx.x; e < count; e += kThreads)
        top = fmax(top, static_cast<double>(logits[e]));
    top = static_cast<float>(block_reduce(top, reduce, true));
    double partial = 0.0;
    for (std::int64_t e = threadIdx.x; e < count; e += kThreads) {
        logits[e] = static_cast<float>(exp(static_cast<double>(logits[e]) - top));
        partial += logits[e];
    }
    const double denominator =
        block_reduce(partial, reduce, false) + exp(static_cast<double>(sinks[head]) - top);
    for (std::int64_t e = threadIdx.x; e < count; e += kThreads)
        logits[e] = round_bf16(static_cast<float>(logits[e] / denominator));
    __syncthreads();
    for (std::int64_t i = threadIdx.x; i < dim; i += kThreads) {
        double sum = 0.0;
        for (std::int64_t e = 0; e < count; ++e) sum += static_cast<double>(logits[e]) * entries[e * dim + i];
        out[head * dim + i] = static_cast<float>(sum);
    }
}

} // namespace

Result<void> sinkhorn(float* matrices, std::int64_t count, std::int64_t k, std::int64_t iterations,
                      float eps) {
    if (count <= 0 || k <= 0 || k > kMaxSinkhornK || iterations < 1)
        return Error{"sinkhorn: k must be 1.." + std::to_string(kMaxSinkhornK) +
                     " with at least one iteration"};
    sinkhorn_kernel<<<blocks_for(count, 128), 128>>>(matrices, count, static_cast<int>(k), iterations, eps);
    return finish_launch("sinkhorn");
}

Result<void> sink_attention(const float* queries, std::int64_t heads, const float* entries,
                            std::int64_t count, std::int64_t dim, float scale, const float* sinks,
                            float* scratch, float* out) {
    if (heads <= 0 || count < 0 || dim <= 0) return Error{"sink_attention: empty shape"};
    sink_attention_kernel<<<static_cast<unsigned>(heads), kThreads>>>(queries, entries, count, dim, scale,
                                                                      sinks, scratch, out);
    return finish_launch("sink_attention");
}

} // namespace lectern::kernels::cuda
