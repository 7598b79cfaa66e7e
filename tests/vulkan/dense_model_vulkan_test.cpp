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
#include <random>
#include <vector>

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

    // A device cache that has no room to grow (its context capped just above what it holds) keeps what it
    // held: the larger buffer fails, the old size is made again and its 250 positions read back as written.
    {
        auto file = formats::GgufFile::open(*path);
        auto config = file ? model::dense::read_dense_config(*file) : Error{file.error()};
        if (!CHECK(file.ok() && config.ok())) return lectern::test::finish("dense_model_vulkan");
        const std::int64_t kv_dim = config->kv_heads * config->head_dim, used = 250;
        std::mt19937 rng(5);
        std::vector<std::uint16_t> keys(static_cast<std::size_t>(used * kv_dim)), values(keys.size());
        for (auto* half : {&keys, &values})
            for (std::uint16_t& h : *half) h = static_cast<std::uint16_t>(rng() & 0x7bff);
        const auto cache_on = [&](std::uint64_t limit, std::uint64_t* held) {
            kernels::vulkan::ContextOptions options;
            options.memory_limit = limit;
            auto context = kernels::vulkan::Context::create(options);
            if (!context) std::exit(1);
            std::shared_ptr<kernels::vulkan::Context> shared(std::move(*context));
            auto graph =
                model::dense::DenseVulkanGraph::create(shared, *file, *config, config->layers - 2, 8);
            if (!graph) std::exit(1);
            auto cache = (*graph)->new_cache();
            CHECK(cache->reserve(used, 0).ok());
            for (std::int64_t layer = 0; layer < 2; ++layer)
                CHECK(cache->write(layer, used, keys.data(), values.data()).ok());
            *held = shared->allocated_bytes();
            return std::pair(std::move(*graph), std::move(cache));
        };
        std::uint64_t held = 0;
        (void)cache_on(0, &held);
        const std::uint64_t limit = held + (64u << 10);
        auto [graph, cache] = cache_on(limit, &held);
        const auto refused = cache->reserve(300, used);
        CHECK(!refused.ok() && refused.error().find("no room") != std::string::npos);
        if (!refused.ok()) std::printf("no room to grow: %s\n", refused.error().c_str());
        std::vector<std::uint16_t> read_keys(keys.size()), read_values(values.size());
        for (std::int64_t layer = 0; layer < 2; ++layer) {
            CHECK(cache->read(layer, used, read_keys.data(), read_values.data()).ok());
            CHECK(read_keys == keys && read_values == values);
        }
        CHECK(held <= limit);
    }
    std::printf("took %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return lectern::test::finish("dense_model_vulkan");
}
