// The tiny DeepSeek-V4 checkpoint with every layer and the head in the CUDA half (V4CudaGraph) against the
// CPU graph, with the Vulkan test's checks (tests/vulkan/v4_checks.h: prefill chunks from the CPU's caches,
// the indexer's choices, decode steps, a device snapshot continued on the CPU, a device clone, greedy
// generation, 2 host + 2 device layers, routed experts on the host), then two chunks at positions
// 1016..1031 where the device caches grow past their first 1024 positions while holding the newest values.
// Built twice: v4_model_cuda on a CUDA device (skipped, 77, without one) and v4_model_cuda_emulated on the
// host emulation of CUDA (tests/cuda_emulation), which checks the half's wiring and every kernel it runs but
// not a GPU's own math or timing.

#include "inference/backend/backend.h"
#include "inference/formats/safetensors.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/tensor_source.h"
#include "inference/model/v4/v4_device.h"
#include "inference/model/v4/weights.h"
#include "kernels/cuda/attention_ops.h"
#include "kernels/cuda/ops.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/model_run.h"
#include "tests/vulkan/v4_checks.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

using namespace lectern;
using namespace lectern::test::v4;
using lectern::test::run;
using model::Token;

int main() {
    if (auto device = kernels::cuda::device_available(); !device) {
        std::printf("v4_model_cuda: skipped: %s\n", device.error().c_str());
        return 77;
    }
    const auto started = std::chrono::steady_clock::now();
    const std::string folder = test::tiny_v4_folder();
    const auto cpu = load(folder, {});
    const auto gpu = load(folder, {backend::Choice::Cuda, -1, {}, {}, {}});
    const backend::Status status = gpu->backend();
    std::printf("device: %s; %lld of %lld layers; weights on the device %.1f MiB, on the host %.1f MiB\n",
                status.device.c_str(), static_cast<long long>(status.device_layers),
                static_cast<long long>(status.layers), status.weight_bytes_on_device / 1048576.0,
                status.weight_bytes_on_host / 1048576.0);
    CHECK(status.kind == backend::Kind::Cuda && status.layers == 4 && status.device_layers == 4);
    CHECK(status.fallbacks.empty());
    for (const std::string& line : status.fallbacks) std::printf("fallback: %s\n", line.c_str());
    const std::int64_t vocab = cpu->info().vocab_size;

    std::mt19937 rng(77);
    std::vector<Token> sequence;
    for (int i = 0; i < kSequenceTokens; ++i) sequence.push_back(static_cast<Token>(100 + rng() % 20000));
    against_cpu(folder, *cpu, *gpu, backend::Choice::Cuda, sequence);

    // Far into a longer sequence (the CPU computes the first 1016 tokens): two chunks from the CPU's caches,
    // the second past the device caches' first capacity, so they grow while the device holds the newest
    // values. A model of its own holds this one sequence: its device memory stays within the footprint the
    // fit plans for the positions reached.
    {
        Tally far;
        const auto alone = load(folder, {backend::Choice::Cuda, -1, {}, {}, {}});
        auto cpu_far = cpu->new_state();
        std::vector<Token> long_sequence;
        for (int i = 0; i < kFarPosition + 2 * kChunk; ++i)
            long_sequence.push_back(static_cast<Token>(100 + rng() % 20000));
        run(*cpu, *cpu_far, {long_sequence.begin(), long_sequence.begin() + kFarPosition},
            model::LogitsWanted::None);
        auto gpu_far = alone->new_state();
        CHECK(gpu_far->restore(cpu_far->snapshot()).ok());
        std::uint64_t before_growing = 0;
        for (int first = kFarPosition, i = 0; first < kFarPosition + 2 * kChunk; first += kChunk, ++i) {
            const std::vector<Token> chunk(long_sequence.begin() + first,
                                           long_sequence.begin() + first + kChunk);
            const auto want = run(*cpu, *cpu_far, chunk, model::LogitsWanted::All);
            far.add(run(*alone, *gpu_far, chunk, model::LogitsWanted::All), want, vocab);
            if (i == 0) before_growing = alone->backend().device_bytes_in_use;
        }
        far.report("chunks at positions 1016..1031, the device caches growing past 1024");
        auto config = model::v4::load_config(folder + "/config.json");
        auto checkpoint = formats::SafetensorsCheckpoint::open_folder(folder);
        if (!CHECK(config.ok() && checkpoint.ok())) return test::finish("v4_model_cuda");
        auto source = model::v4::safetensors_source(std::move(*checkpoint), folder);
        auto weights = model::v4::bind_weights(*config, *source);
        if (!CHECK(weights.ok())) return test::finish("v4_model_cuda");
        const backend::DeviceFootprint planned =
            model::v4::device_footprint(*config, *weights, false, kFarPosition + 2 * kChunk,
                                        kernels::cuda::sparse_attention_scratch_bytes);
        std::uint64_t planned_bytes = planned.other_bytes;
        for (const std::uint64_t layer : planned.layer_bytes) planned_bytes += layer;
        // The process holds the other models' buffers too; what this one added by growing is bounded by
        // its plan.
        const std::uint64_t grown = alone->backend().device_bytes_in_use - before_growing;
        std::printf("device caches grown by %.1f MiB; one sequence at %d positions planned at %.1f MiB\n",
                    grown / 1048576.0, kFarPosition + 2 * kChunk, planned_bytes / 1048576.0);
        CHECK(grown > 0 && grown <= planned_bytes);
    }
    std::printf("took %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return test::finish("v4_model_cuda");
}
