#pragma once
// Turns CUDA errors into Result errors that name the op.

#include "kernels/result.h"

#include <cuda_runtime.h>

#include <string>

namespace lectern::kernels::cuda {

inline Result<void> cuda_error(const char* op, cudaError_t err) {
    return Error{std::string("CUDA ") + op + ": " + cudaGetErrorString(err)};
}

// After a launch: the launch's own error (its configuration). The kernel runs on without the host waiting;
// a fault while it runs shows at the next copy to or from the host, or at synchronize() (ops.h).
inline Result<void> finish_launch(const char* op) {
    if (const cudaError_t err = cudaGetLastError(); err != cudaSuccess) return cuda_error(op, err);
    return {};
}

inline unsigned blocks_for(long long items, int threads) {
    return static_cast<unsigned>((items + threads - 1) / threads);
}

} // namespace lectern::kernels::cuda
