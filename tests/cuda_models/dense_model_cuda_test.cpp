// The built-in default model (SmolLM2-135M Q4_1) on the CUDA backend against the CPU backend, with the
// checks of the Vulkan test (tests/vulkan/dense_against_cpu.h), then a device cache capped just above what
// it holds keeps it when it cannot grow. Built twice: dense_model_cuda on a CUDA device and
// dense_model_cuda_emulated on the host emulation of CUDA (tests/cuda_emulation). Skipped (77) without the
// model or a CUDA device.

#include "inference/backend/backend.h"
#include "inference/formats/gguf.h"
#include "inference/model/default_model.h"
#include "inference/model/dense/dense_cuda.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/dense_against_cpu.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <utility>

using namespace lectern;

int main() {
    auto path = model::default_model_path();
    if (!path) {
        std::printf("dense_model_cuda: skipped: %s\n", path.error().c_str());
        return 77;
    }
    if (auto device = kernels::cuda::device_available(); !device) {
        std::printf("dense_model_cuda: skipped: %s\n", device.error().c_str());
        return 77;
    }
    const auto started = std::chrono::steady_clock::now();
    lectern::test::dense_against_cpu(*path, backend::Choice::Cuda, backend::Kind::Cuda);
    lectern::test::cache_keeps_what_it_held(
        *path,
        [](const formats::GgufFile& file, const model::dense::DenseConfig& config, std::int64_t layers,
           std::uint64_t limit) -> std::unique_ptr<model::dense::DeviceGraph> {
            auto graph = model::dense::DenseCudaGraph::create(file, config, config.layers - layers, 8, limit);
            if (!graph) return nullptr;
            return std::move(*graph);
        });
    std::printf("took %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return lectern::test::finish("dense_model_cuda");
}
