// The tiny DeepSeek-V4 checkpoint (SWA, CSA and HCA layers, hash- and score-routed MoE) with every layer
// and the head on the Vulkan device (lavapipe in CI) against the CPU graph, over a sequence long enough to
// wrap the window ring, fill HCA entries and make the indexer choose among more CSA entries than it keeps:
// chunks of prefill and decode steps started from the CPU's own caches (restored from its snapshots),
// greedy generation, a device snapshot continued on the CPU, layers split between host and device, routed
// experts kept on the host, and the indexer's choices as the observer sees them. Skipped (77) without a
// Vulkan device.
//
// Why not bit for bit: the CPU sums in double and rounds once, the device sums in fp32. Where a value lies
// within that difference of a rounding point of the graph (a bf16 activation or attention probability,
// an FP8/FP4 QAT step or scale, the indexer's or the router's choice), the two round it apart, and the
// graph carries the step on. On lavapipe the first such step comes at position 41 (an attention
// probability in layer 1 rounds to the neighbouring bf16) and moves that row's logits by 1.45; rows
// without one agree within 2e-5. Each chunk therefore starts from the CPU's caches, so a step cannot
// accumulate, and the checks are: every row within kLogitBound, nearly every row within kExactBound (a
// real error, such as a wrong position, cache row or weight, moves every row), and the same greedy token
// wherever the CPU's top two logits lie further apart than the device may move them.

#include "inference/backend/backend.h"
#include "inference/formats/safetensors.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/tensor_source.h"
#include "inference/model/v4/v4_device.h"
#include "inference/model/v4/v4_model.h"
#include "inference/model/v4/weights.h"
#include "kernels/cpu/graph_ops.h"
#include "kernels/vulkan/attention_ops.h"
#include "kernels/vulkan/context.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/model_run.h"
#include "tests/vulkan/v4_checks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace lectern;
using lectern::test::run;
using model::Token;

using namespace lectern::test::v4;

int main() {
    if (auto device = kernels::vulkan::Context::create(); !device) {
        std::printf("v4_model_vulkan: skipped: %s\n", device.error().c_str());
        return 77;
    }
    const auto started = std::chrono::steady_clock::now();
    const std::string folder = test::tiny_v4_folder();
    const auto cpu = load(folder, {});
    const auto gpu = load(folder, {backend::Choice::Vulkan, -1, {}, {}, {}});
    const backend::Status status = gpu->backend();
    std::printf("device: %s; %lld of %lld layers; weights on the device %.1f MiB, on the host %.1f MiB\n",
                status.device.c_str(), static_cast<long long>(status.device_layers),
                static_cast<long long>(status.layers), status.weight_bytes_on_device / 1048576.0,
                status.weight_bytes_on_host / 1048576.0);
    CHECK(status.kind == backend::Kind::Vulkan && status.layers == 4 && status.device_layers == 4);
    CHECK(status.fallbacks.empty());
    const std::int64_t vocab = cpu->info().vocab_size;

    std::mt19937 rng(77);
    std::vector<Token> sequence;
    for (int i = 0; i < kSequenceTokens; ++i) sequence.push_back(static_cast<Token>(100 + rng() % 20000));

    against_cpu(folder, *cpu, *gpu, backend::Choice::Vulkan, sequence);

    // Far into a longer sequence (the CPU computes the first 1016 tokens): two chunks from the CPU's
    // caches, the second past the device caches' first capacity (1024 positions), so they grow while the
    // device holds the newest values; the indexer chooses among 250 entries, HCA sees 7. A model of its
    // own holds this one sequence, so its device memory is what the fit plans for: at most the footprint
    // for the positions reached (caches of 2048), and not far below it.
    const auto footprint = [&](bool experts_on_host, std::int64_t context) {
        auto config = model::v4::load_config(folder + "/config.json");
        auto checkpoint = formats::SafetensorsCheckpoint::open_folder(folder);
        if (!config || !checkpoint) std::exit(1);
        auto source = model::v4::safetensors_source(std::move(*checkpoint), folder);
        auto weights = model::v4::bind_weights(*config, *source);
        if (!weights) std::exit(1);
        const backend::DeviceFootprint f = model::v4::device_footprint(
            *config, *weights, experts_on_host, context, kernels::vulkan::sparse_attention_scratch_bytes);
        return f;
    };
    const auto total = [](const backend::DeviceFootprint& f) {
        std::uint64_t sum = f.other_bytes;
        for (const std::uint64_t layer : f.layer_bytes) sum += layer;
        return sum;
    };
    {
        Tally far;
        const auto alone = load(folder, {backend::Choice::Vulkan, -1, {}, {}, {}});
        auto cpu_far = cpu->new_state();
        std::vector<Token> long_sequence;
        for (int i = 0; i < kFarPosition + 2 * kChunk; ++i)
            long_sequence.push_back(static_cast<Token>(100 + rng() % 20000));
        run(*cpu, *cpu_far, {long_sequence.begin(), long_sequence.begin() + kFarPosition},
            model::LogitsWanted::None);
        const auto far_snapshot = cpu_far->snapshot();
        auto gpu_far = alone->new_state();
        CHECK(gpu_far->restore(far_snapshot).ok());
        std::vector<float> cpu_far_logits[2];
        std::uint64_t before_growing = 0;
        for (int first = kFarPosition, i = 0; first < kFarPosition + 2 * kChunk; first += kChunk, ++i) {
            const std::vector<Token> chunk(long_sequence.begin() + first,
                                           long_sequence.begin() + first + kChunk);
            cpu_far_logits[i] = run(*cpu, *cpu_far, chunk, model::LogitsWanted::All);
            far.add(run(*alone, *gpu_far, chunk, model::LogitsWanted::All), cpu_far_logits[i], vocab);
            if (i == 0) before_growing = alone->backend().device_bytes_in_use;
        }
        far.report("chunks at positions 1016..1031, the device caches growing past 1024");

        // The same with the device memory capped just above what the first chunk took (every layer asked
        // for): the caches cannot grow, so the second chunk runs on the CPU from the host's copy, the
        // sequence goes on, and the status says why.
        const auto capped = load(folder, {backend::Choice::Vulkan, 4, {}, {}, before_growing + (64u << 10)});
        auto capped_state = capped->new_state();
        CHECK(capped_state->restore(far_snapshot).ok());
        Tally on_host;
        for (int first = kFarPosition, i = 0; first < kFarPosition + 2 * kChunk; first += kChunk, ++i) {
            const std::vector<Token> chunk(long_sequence.begin() + first,
                                           long_sequence.begin() + first + kChunk);
            on_host.add(run(*capped, *capped_state, chunk, model::LogitsWanted::All), cpu_far_logits[i],
                        vocab);
        }
        on_host.report("the same chunks with no room to grow the device caches");
        const backend::Status after = capped->backend();
        CHECK(after.device_layers == 4 && capped_state->position() == kFarPosition + 2 * kChunk);
        CHECK(!after.fallbacks.empty() &&
              after.fallbacks.back().starts_with("GPU: no room for the caches of 1032 positions"));
        CHECK(after.device_bytes_in_use <= before_growing + (64u << 10));
        if (!after.fallbacks.empty()) std::printf("%s\n", after.fallbacks.back().c_str());
        const std::uint64_t in_use = alone->backend().device_bytes_in_use,
                            planned = total(footprint(false, kFarPosition + 2 * kChunk));
        std::printf("device memory for one sequence at %d positions: %.1f MiB in use, %.1f MiB planned\n",
                    kFarPosition + 2 * kChunk, in_use / 1048576.0, planned / 1048576.0);
        CHECK(in_use <= planned && in_use >= planned * 3 / 4);
    }

    // All layers that fit, over the model's whole context: a budget that holds the head and the last three
    // layers only with their routed experts on the host places two layers with the experts on the device
    // (the note says three would fit with host experts), and three with them on the host.
    {
        const std::int64_t context = gpu->info().context_length;
        const backend::DeviceFootprint on_device = footprint(false, context),
                                       on_host = footprint(true, context);
        const std::uint64_t need =
            on_host.other_bytes + on_host.layer_bytes[1] + on_host.layer_bytes[2] + on_host.layer_bytes[3];
        std::uint64_t budget = need / 19 * 20;
        while (budget - budget / 20 < need) ++budget; // the least budget whose usable part holds them
        CHECK(on_device.other_bytes + on_device.layer_bytes[1] + on_device.layer_bytes[2] +
                  on_device.layer_bytes[3] >
              budget - budget / 20);
        const auto device_experts = load(folder, {backend::Choice::Vulkan, -1, {}, {}, budget});
        const auto host_experts =
            load(folder, {backend::Choice::Vulkan, -1, backend::ExpertPlacement::Host, {}, budget});
        const backend::Status fitted = device_experts->backend(), lighter = host_experts->backend();
        CHECK(fitted.device_layers == 2 && lighter.device_layers == 3);
        const std::string note = fitted.fallbacks.empty() ? "" : fitted.fallbacks.back();
        std::printf("a budget of %.1f MiB: %s\n", budget / 1048576.0, note.c_str());
        CHECK(note.starts_with("GPU: 2 of 4 layers fit") &&
              note.ends_with("(with MoE experts kept in host memory, 3 would fit)"));
        CHECK(!lighter.fallbacks.empty() && lighter.fallbacks.back().starts_with("GPU: 3 of 4 layers fit"));
        // What the device really holds at load stays within the budget.
        CHECK(fitted.device_bytes_in_use <= budget && lighter.device_bytes_in_use <= budget);
    }

    // Loading reports the upload to the GPU after binding, in order, and stops when asked to.
    {
        std::vector<std::pair<double, std::string>> steps;
        auto loaded = model::v4::load_v4_model(folder,
                                               [&](double fraction, std::string_view what) {
                                                   steps.emplace_back(fraction, std::string(what));
                                                   return true;
                                               },
                                               2, {backend::Choice::Vulkan, -1, {}, {}, {}});
        CHECK(loaded.ok() && !steps.empty() && steps.back() == std::pair(1.0, std::string("ready")));
        bool ordered = true, uploading = false;
        for (std::size_t i = 1; i < steps.size(); ++i)
            ordered = ordered && steps[i].first >= steps[i - 1].first;
        for (const auto& step : steps) uploading = uploading || step.second == "uploading weights to the GPU";
        CHECK(ordered && uploading);
        int calls = 0;
        auto stopped =
            model::v4::load_v4_model(folder,
                                     [&](double, std::string_view what) {
                                         return what != "uploading weights to the GPU" || ++calls < 3;
                                     },
                                     2, {backend::Choice::Vulkan, -1, {}, {}, {}});
        CHECK(!stopped.ok() && stopped.error().find("cancelled") != std::string::npos && calls == 3);
        std::printf("load: %zu progress steps, stopped during the upload: %s\n", steps.size(),
                    stopped.ok() ? "no" : stopped.error().c_str());
    }

    std::printf("took %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return test::finish("v4_model_vulkan");
}
