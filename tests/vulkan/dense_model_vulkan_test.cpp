// The built-in default model (SmolLM2-135M Q4_1) on the Vulkan device (lavapipe in CI) against the CPU
// backend (tests/vulkan/dense_against_cpu.h, shared with tests/cuda_models; here the decode path also reuses
// one recording), then a device cache that has no room to grow keeps what it held. Skipped (77) without
// the model or a Vulkan device.

#include "inference/backend/backend.h"
#include "inference/formats/gguf.h"
#include "inference/model/default_model.h"
#include "inference/model/dense/dense_model.h"
#include "inference/model/dense/dense_vulkan.h"
#include "kernels/vulkan/context.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/dense_against_cpu.h"

#include <chrono>
#include <cstdio>
#include <memory>

using namespace lectern;

int main() {
    auto path = model::default_model_path();
    if (!path) {
        std::printf("dense_model_vulkan: skipped: %s\n", path.error().c_str());
        return 77;
    }
    if (auto device = kernels::vulkan::Context::create(); !device) {
        std::printf("dense_model_vulkan: skipped: %s\n", device.error().c_str());
        return 77;
    }
    const auto started = std::chrono::steady_clock::now();
    lectern::test::dense_against_cpu(*path, backend::Choice::Vulkan, backend::Kind::Vulkan);

    lectern::test::cache_keeps_what_it_held(
        *path,
        [](const formats::GgufFile& file, const model::dense::DenseConfig& config, std::int64_t layers,
           std::uint64_t limit) -> std::unique_ptr<model::dense::DeviceGraph> {
            kernels::vulkan::ContextOptions options;
            options.memory_limit = limit;
            auto context = kernels::vulkan::Context::create(options);
            if (!context) return nullptr;
            auto graph = model::dense::DenseVulkanGraph::create(
                std::shared_ptr<kernels::vulkan::Context>(std::move(*context)), file, config,
                config.layers - layers, 8);
            if (!graph) return nullptr;
            return std::move(*graph);
        });
    std::printf("took %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return lectern::test::finish("dense_model_vulkan");
}
