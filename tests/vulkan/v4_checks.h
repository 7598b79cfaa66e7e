#pragma once
// The checks a GPU backend's DeepSeek-V4 half passes against the CPU graph on the tiny checkpoint, shared
// by tests/vulkan/v4_model_vulkan and tests/cuda_models/v4_model_cuda*. Why they are not bit for bit, and
// the bounds, are in v4_model_vulkan_test.cpp's header.

#include "inference/backend/backend.h"
#include "inference/formats/safetensors.h"
#include "inference/model/model.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/tensor_source.h"
#include "inference/model/v4/v4_device.h"
#include "inference/model/v4/v4_model.h"
#include "inference/model/v4/weights.h"
#include "kernels/cpu/graph_ops.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/model_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lectern::test::v4 {

constexpr double kExactBound = 1e-3;
// A flip that changes which entries the indexer keeps for a later token of the same chunk moved a row by
// 14.4 (position 44, three tokens after the flip at 41).
constexpr double kLogitBound = 20.0;
constexpr double kExactShare = 0.75;
constexpr int kSequenceTokens = 160; // past the window (128) and the first HCA block (128)
constexpr int kChunk = 8;
// The chunks the device runs (the CPU runs all): the start, the first chunks whose indexer keeps fewer
// entries than it sees, the window ring's wrap and the first HCA entry (positions 127, 128), the end.
constexpr int kDeviceChunks[] = {0, 32, 40, 120, 128, 152};
constexpr int kGreedySteps = 8;
constexpr int kPlacedTokens = 40; // run with layers split between host and device, and with host experts
constexpr int kFarPosition = 1016;

inline double row_difference(const std::vector<float>& a, const std::vector<float>& b, std::size_t row,
                             std::int64_t vocab) {
    double worst = 0.0;
    for (std::size_t i = row * vocab; i < (row + 1) * vocab; ++i)
        worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    return worst;
}

inline std::unique_ptr<model::Model> load(const std::string& folder, const backend::Request& request) {
    auto loaded = model::v4::load_v4_model(folder, {}, 2, request);
    if (!loaded) {
        std::fprintf(stderr, "load: %s\n", loaded.error().c_str());
        std::exit(1);
    }
    return std::move(loaded).value();
}

struct Choice {
    std::int64_t layer, position;
    std::vector<std::int64_t> chosen;
    bool operator==(const Choice&) const = default;
};

class Recorder final : public model::IndexerObserver {
public:
    void observe(const model::IndexerSelection& s) override {
        choices.push_back({s.layer, s.position, {s.chosen.begin(), s.chosen.end()}});
    }
    // By (layer, position): the device reports a slice's layers in turn, the CPU its whole call's.
    std::vector<Choice> sorted() const {
        std::vector<Choice> out = choices;
        std::stable_sort(out.begin(), out.end(), [](const Choice& a, const Choice& b) {
            return std::pair(a.layer, a.position) < std::pair(b.layer, b.position);
        });
        return out;
    }
    std::vector<Choice> choices;
};

// Rows of logits from the device against the CPU's: every row within kLogitBound, at least kExactShare of
// them within kExactBound, and the same argmax wherever the CPU's margin exceeds twice the difference.
struct Tally {
    std::size_t rows = 0, exact = 0, argmax_equal = 0;
    double worst = 0.0;
    void add(const std::vector<float>& got, const std::vector<float>& want, std::int64_t vocab) {
        if (!CHECK(got.size() == want.size() && !want.empty())) return;
        for (std::size_t row = 0; row < want.size() / static_cast<std::size_t>(vocab); ++row) {
            const double difference = row_difference(got, want, row, vocab);
            const float* g = got.data() + row * vocab;
            const float* w = want.data() + row * vocab;
            const bool same = kernels::cpu::argmax(g, vocab) == kernels::cpu::argmax(w, vocab);
            CHECK(difference <= kLogitBound);
            if (!same) CHECK(top_two_margin(w, vocab) <= 2 * difference);
            ++rows;
            exact += difference <= kExactBound;
            argmax_equal += same;
            worst = std::max(worst, difference);
        }
    }
    void report(const char* what) const {
        std::printf("%s: %zu rows, %zu within %.0e, argmax equal on %zu, max logit difference %.5f\n", what,
                    rows, exact, kExactBound, argmax_equal, worst);
        CHECK(rows > 0 && static_cast<double>(exact) >= kExactShare * static_cast<double>(rows));
    }
};

// The tiny checkpoint's `sequence` (kSequenceTokens tokens) on `gpu` (every layer on the device, from
// `choice`) against `cpu`: prefill chunks from the CPU's caches and the indexer's choices, decode steps, a
// device snapshot continued on the CPU and a device clone, greedy generation, then 2 host + 2 device layers
// and routed experts on the host, loaded from `folder`.
inline void against_cpu(const std::string& folder, const model::Model& cpu, const model::Model& gpu,
                        backend::Choice choice, const std::vector<model::Token>& sequence) {
    using model::Token;
    const std::int64_t vocab = cpu.info().vocab_size;
    const std::uint64_t all_on_device = gpu.backend().weight_bytes_on_device;
    // Chunks of prefill, each from the CPU's caches after the chunks before (restored on the device), and
    // the indexer's choices on the way.
    Tally chunks;
    Recorder cpu_seen, gpu_seen;
    auto cpu_state = cpu.new_state();
    std::unique_ptr<model::SequenceState> gpu_state;
    for (int first = 0; first < kSequenceTokens; first += kChunk) {
        const std::vector<Token> chunk(sequence.begin() + first, sequence.begin() + first + kChunk);
        if (std::find(std::begin(kDeviceChunks), std::end(kDeviceChunks), first) == std::end(kDeviceChunks)) {
            run(cpu, *cpu_state, chunk, model::LogitsWanted::None);
            continue;
        }
        gpu_state = gpu.new_state();
        if (!CHECK(gpu_state->restore(cpu_state->snapshot()).ok())) break;
        const auto got = run(gpu, *gpu_state, chunk, model::LogitsWanted::All, &gpu_seen);
        chunks.add(got, run(cpu, *cpu_state, chunk, model::LogitsWanted::All, &cpu_seen), vocab);
    }
    chunks.report("prefill chunks of 8 from the CPU's caches");
    const auto cpu_choices = cpu_seen.sorted(), gpu_choices = gpu_seen.sorted();
    CHECK(gpu_choices.size() == cpu_choices.size() && !cpu_choices.empty());
    std::size_t same = 0;
    for (std::size_t i = 0; i < std::min(gpu_choices.size(), cpu_choices.size()); ++i) {
        CHECK(gpu_choices[i].layer == cpu_choices[i].layer &&
              gpu_choices[i].position == cpu_choices[i].position);
        same += gpu_choices[i] == cpu_choices[i];
    }
    std::printf("indexer choices: %zu of %zu identical\n", same, cpu_choices.size());
    CHECK(static_cast<double>(same) >= kExactShare * static_cast<double>(cpu_choices.size()));

    // Decode steps past the window and the first HCA block, from the CPU's caches; then the device's
    // caches moved back to the CPU through a snapshot, and a clone of them on the device.
    Tally decode;
    auto cpu_next = cpu_state->clone();
    gpu_state = gpu.new_state();
    if (CHECK(gpu_state->restore(cpu_state->snapshot()).ok()))
        for (const Token token : {Token{42}, Token{4242}, Token{7}})
            decode.add(run(gpu, *gpu_state, {token}), run(cpu, *cpu_next, {token}), vocab);
    decode.report("decode steps at positions 160..162");
    CHECK(gpu_state->device_bytes() > 0);
    auto moved = cpu.new_state();
    CHECK(moved->restore(gpu_state->snapshot()).ok() && moved->position() == gpu_state->position());
    const auto cloned = gpu_state->clone();
    Tally moved_back;
    const auto from_cpu = run(cpu, *cpu_next, {9});
    moved_back.add(run(cpu, *moved, {9}), from_cpu, vocab);
    moved_back.add(run(gpu, *cloned, {9}), from_cpu, vocab);
    moved_back.report("a device snapshot continued on the CPU, and a device clone");

    // Greedy generation on each backend alone, from a short prompt.
    const std::vector<Token> prompt(sequence.begin(), sequence.begin() + 24);
    std::vector<Token> tokens[2];
    const model::Model* models[2] = {&cpu, &gpu};
    int equal = 0;
    {
        std::unique_ptr<model::SequenceState> states[2] = {cpu.new_state(), gpu.new_state()};
        std::vector<float> logits[2];
        for (int b = 0; b < 2; ++b) logits[b] = run(*models[b], *states[b], prompt);
        for (int step = 0; step < kGreedySteps && !logits[0].empty() && !logits[1].empty(); ++step) {
            for (int b = 0; b < 2; ++b) tokens[b].push_back(kernels::cpu::argmax(logits[b].data(), vocab));
            if (tokens[0].back() != tokens[1].back()) {
                // Only a near tie may part them (see the top of the file).
                CHECK(top_two_margin(logits[0].data(), vocab) <=
                      2 * row_difference(logits[0], logits[1], 0, vocab));
                break;
            }
            ++equal;
            for (int b = 0; b < 2; ++b) logits[b] = run(*models[b], *states[b], {tokens[b].back()});
        }
    }
    std::printf("greedy generation: %d of %d tokens equal\n", equal, kGreedySteps);

    // Two layers on the host, two and the head on the device; and routed experts kept on the host. Each
    // chunk from the CPU's caches, as above: one 40-row forward carried a step at row 30 on to row 39.
    const auto split = load(folder, {choice, 2, {}, {}, {}});
    const auto host_experts = load(folder, {choice, -1, backend::ExpertPlacement::Host, {}, {}});
    CHECK(split->backend().device_layers == 2 && split->backend().weight_bytes_on_device < all_on_device);
    CHECK(host_experts->backend().experts == backend::ExpertPlacement::Host &&
          host_experts->backend().weight_bytes_on_device < all_on_device);
    const model::Model* variants[2] = {split.get(), host_experts.get()};
    Tally placed[2];
    auto reference_state = cpu.new_state();
    for (int first = 0; first < kPlacedTokens; first += kChunk) {
        const std::vector<Token> chunk(sequence.begin() + first, sequence.begin() + first + kChunk);
        const auto snapshot = reference_state->snapshot();
        const auto reference = run(cpu, *reference_state, chunk, model::LogitsWanted::All);
        for (int v = 0; v < 2; ++v) {
            auto state = variants[v]->new_state();
            if (CHECK(state->restore(snapshot).ok()))
                placed[v].add(run(*variants[v], *state, chunk, model::LogitsWanted::All), reference, vocab);
        }
    }
    placed[0].report("2 host + 2 device layers, chunks of 8 from the CPU's caches");
    placed[1].report("routed experts on the host, chunks of 8 from the CPU's caches");
}

// Every check on `choice`, which must select `kind` and whose attention scratch the footprint counts with
// `scratch`: against_cpu, then caches growing far into a sequence (and a capped device memory where they
// cannot), the layers that fit a budget, and loading's progress and cancellation.
inline void all_checks(backend::Choice choice, backend::Kind kind, model::v4::AttentionScratchBytes scratch) {
    using model::Token;
    const auto started = std::chrono::steady_clock::now();
    const std::string folder = tiny_v4_folder();
    const auto cpu = load(folder, {});
    const auto gpu = load(folder, {choice, -1, {}, {}, {}});
    const backend::Status status = gpu->backend();
    print_placement(status);
    CHECK(status.kind == kind && status.layers == 4 && status.device_layers == 4);
    CHECK(status.fallbacks.empty());
    const std::int64_t vocab = cpu->info().vocab_size;

    std::mt19937 rng(77);
    std::vector<Token> sequence;
    for (int i = 0; i < kSequenceTokens; ++i) sequence.push_back(static_cast<Token>(100 + rng() % 20000));

    against_cpu(folder, *cpu, *gpu, choice, sequence);

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
        const backend::DeviceFootprint f =
            model::v4::device_footprint(*config, *weights, experts_on_host, context, scratch);
        return f;
    };
    const auto total = [](const backend::DeviceFootprint& f) {
        std::uint64_t sum = f.other_bytes;
        for (const std::uint64_t layer : f.layer_bytes) sum += layer;
        return sum;
    };
    {
        Tally far;
        const auto alone = load(folder, {choice, -1, {}, {}, {}});
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
        const auto capped = load(folder, {choice, 4, {}, {}, before_growing + (64u << 10)});
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
        const auto device_experts = load(folder, {choice, -1, {}, {}, budget});
        const auto host_experts = load(folder, {choice, -1, backend::ExpertPlacement::Host, {}, budget});
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
                                               2, {choice, -1, {}, {}, {}});
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
                                     2, {choice, -1, {}, {}, {}});
        CHECK(!stopped.ok() && stopped.error().find("cancelled") != std::string::npos && calls == 3);
        std::printf("load: %zu progress steps, stopped during the upload: %s\n", steps.size(),
                    stopped.ok() ? "no" : stopped.error().c_str());
    }

    std::printf("took %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

} // namespace lectern::test::v4
