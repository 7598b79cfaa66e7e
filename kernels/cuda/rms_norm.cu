#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace lectern::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row: a block-wide sum of squares in shared memory, then a scaled write.
__global__ void rms_norm_kernel(const float* x, const float* weight, float* y, std::int64_t n, float eps) {
    __shared__ float partial[kThreads];
    const float* xr = x + blockIdx.x * n;
    float* yr = y + blockIdx.x * n;
    float sum = 0.0f;
    for (std::int64_t i = threadIdx.x; i < n; i += kThreads) sum += xr[i] * xr[i];
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    const float inv = rsqrtf(partial[0] / static_cast<float>(n) + eps);
    for (std::int64_t i = threadIdx.x; i < n; i += kThreads)
        yr[i] = xr[i] * inv * (weight ? weight[i] : 1.0f);
}

} // namespace

Result<void> rms_norm(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n,
                      float eps) {
    if (rows <= 0 || n <= 0) return Error{"rms_norm: empty shape"};
    rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads>>>(x, weight, y, n, eps);
    return finish_launch("rms_norm");
}

} // namespace lectern::kernels::cuda
