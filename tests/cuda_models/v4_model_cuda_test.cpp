// The tiny DeepSeek-V4 checkpoint with every layer and the head in the CUDA half (V4CudaGraph) against the
// CPU graph, with every check of the Vulkan test (tests/vulkan/v4_checks.h; why they are not bit for bit is
// in tests/vulkan/v4_model_vulkan_test.cpp). Built twice: v4_model_cuda on a CUDA device (skipped, 77,
// without one) and v4_model_cuda_emulated on the host emulation of CUDA (tests/cuda_emulation), which checks
// the half's wiring and every kernel it runs but not a GPU's own math or timing.

#include "inference/backend/backend.h"
#include "kernels/cuda/attention_ops.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/v4_checks.h"

#include <cstdio>

using namespace lectern;

int main() {
    if (auto device = kernels::cuda::device_available(); !device) {
        std::printf("v4_model_cuda: skipped: %s\n", device.error().c_str());
        return 77;
    }
    test::v4::all_checks(backend::Choice::Cuda, backend::Kind::Cuda,
                         kernels::cuda::sparse_attention_scratch_bytes);
    return test::finish("v4_model_cuda");
}
