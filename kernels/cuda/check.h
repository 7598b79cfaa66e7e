#pragma once
// Turns CUDA errors into Result errors that name the op.

#include "kernels/result.h"

#include <cuda_runtime.h>

#include <string>

namespace lectern::kernels::cuda {

inline Result<void> cuda_error(const char* op, cudaError_t err) {
    return Error{std::string("CUDA ") + op + ": " + cudaGetErrorString(err)};
}

// After a launch: the launch's own error, then any error while it ran.
inline Result<void> finish_launch(const char* op) {
    if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess) return cuda_error(op, err);
    if (const cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess) return cuda_error(op, err);
    return {};
}

inline unsigned blocks_for(long long items, int threads) {
    return static_cast<unsigned>((items + threads - 1) / threads);
}

} // namespace lectern::kernels::cuda
