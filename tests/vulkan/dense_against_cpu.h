#pragma once
// The built-in default model (SmolLM2-135M Q4_1) on a GPU backend against the CPU backend, shared by the
// Vulkan and CUDA model tests: all 30 layers and the head on the device, the same greedy tokens on fixed
// prompts, logits within kLogitBound, two decode steps, a snapshot moved from the device to the CPU, one
// layer on the device with 29 on the host, and the device cache grown past its first 256 positions.
//
// Greedy equality is checked by teacher forcing: the CPU generates kGreedySteps tokens greedily, then both
// backends run prompt + those tokens in one forward with every row's logits, and the device's argmax after
// every prefix must be the CPU's on the same row, except where the CPU's two best logits lie within twice
// that row's difference of each other (a near tie, which either may break either way: counted and printed).

#include "inference/backend/backend.h"
#include "inference/formats/gguf.h"
#include "inference/model/dense/dense_device.h"
#include "inference/model/dense/dense_model.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/cpu/graph_ops.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/model_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lectern::test {

// Every backend multiplies Q4_0/Q4_1/Q8_0 weights by activations quantised to 8 bits per block of 32, in
// the same integer arithmetic (kernels/cpu/quant/matmul.h, kernels/vulkan/shaders/quantize_q8.comp,
// kernels/cuda/gguf_linear.cu). The other ops (attention, exp, norms, summation order) agree only to float
// rounding, and the 8-bit quantisation turns such a rounding into a whole quantisation step wherever a value
// lies near a rounding boundary; over 30 layers that reaches logits (which span about +-35) by up to 1.6 on
// lavapipe and 2.14 on the host emulation of CUDA (the same prompt; host libm's expf, another summation
// order; 1.80 with multiply-adds fused as nvcc fuses them). The CPU itself is no closer to itself than about
// half that: its one-token decode and its batch over the same tokens (two summation orders of attention)
// differ by 0.78 (printed below). kLogitBound leaves room above those; a regression in any op (a wrong head,
// position or cache row) moves logits by far more.
constexpr double kLogitBound = 3.0;
constexpr int kGreedySteps = 16;

inline double max_difference(const float* a, const float* b, std::size_t n) {
    double worst = 0.0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    return worst;
}

inline std::unique_ptr<model::Model> load_dense(const std::string& path, const backend::Request& request) {
    auto loaded = model::dense::load_dense_gguf(path, {}, 2, request);
    if (!loaded) {
        std::fprintf(stderr, "load: %s\n", loaded.error().c_str());
        std::exit(1);
    }
    return std::move(loaded).value();
}

// Runs every check above on the model at `path` with `choice`, which must select `kind`.
inline void dense_against_cpu(const std::string& path, backend::Choice choice, backend::Kind kind) {
    using model::Token;
    const auto cpu = load_dense(path, {backend::Choice::Cpu, {}, {}, {}, {}});
    const auto gpu = load_dense(path, {choice, -1, {}, {}, {}});
    const backend::Status status = gpu->backend();
    print_placement(status);
    CHECK(status.kind == kind && status.layers == 30 && status.device_layers == 30);
    CHECK(status.weight_bytes_on_device > 50u << 20); // the 30 layers and the tied head
    CHECK(status.fallbacks.empty());                  // an explicit choice tries nothing before it
    const std::int64_t vocab = cpu->info().vocab_size;

    const tokenizer::BpeTokenizer* words = cpu->tokenizer();
    if (!CHECK(words != nullptr)) return;
    double worst = 0.0;
    std::unique_ptr<model::SequenceState> gpu_state, cpu_state;
    std::vector<Token> sequence;
    for (const char* text : {"The capital of France is", "def fibonacci(n):"}) {
        std::vector<Token> prompt;
        if (cpu->info().prompt_starts_with_bos && cpu->info().bos_token >= 0)
            prompt.push_back(cpu->info().bos_token);
        for (const Token id : words->encode(text, tokenizer::AddedTokens::Match)) prompt.push_back(id);
        // The CPU's greedy tokens, one decode step at a time.
        cpu_state = cpu->new_state();
        std::vector<float> logits = run(*cpu, *cpu_state, prompt);
        sequence = prompt;
        for (int step = 0; step < kGreedySteps && !logits.empty(); ++step) {
            sequence.push_back(kernels::cpu::argmax(logits.data(), vocab));
            if (step + 1 < kGreedySteps) logits = run(*cpu, *cpu_state, {sequence.back()});
        }
        // Every row's logits of prompt + greedy tokens (but the last) on both backends.
        const std::vector<Token> forced(sequence.begin(), sequence.end() - 1);
        auto cpu_forced = cpu->new_state();
        const auto expected = run(*cpu, *cpu_forced, forced, model::LogitsWanted::All);
        gpu_state = gpu->new_state();
        const auto actual = run(*gpu, *gpu_state, forced, model::LogitsWanted::All);
        if (!CHECK(actual.size() == forced.size() * static_cast<std::size_t>(vocab) &&
                   expected.size() == actual.size()))
            break;
        // The device's argmax after every prefix is the CPU's on the same rows but at near ties. (The CPU's
        // own batch may pick another token than its one-token decode did where two nearly tie: counted, not
        // checked.)
        int equal = 0, near_ties = 0, batch_differs = 0;
        double prompt_worst = 0.0;
        for (std::size_t row = prompt.size() - 1; row < forced.size(); ++row) {
            const float* got = actual.data() + row * static_cast<std::size_t>(vocab);
            const float* want = expected.data() + row * static_cast<std::size_t>(vocab);
            const Token chosen = kernels::cpu::argmax(got, vocab),
                        cpu_chosen = kernels::cpu::argmax(want, vocab);
            const double difference = max_difference(got, want, static_cast<std::size_t>(vocab));
            if (chosen == cpu_chosen)
                ++equal;
            else if (CHECK(top_two_margin(want, vocab) <= 2 * difference))
                ++near_ties;
            if (cpu_chosen != sequence[row + 1]) ++batch_differs;
        }
        // The CPU's last decode step against its batch's last row: how far two summation orders of the
        // same model on the same CPU lie apart.
        const double cpu_orders =
            logits.size() == static_cast<std::size_t>(vocab)
                ? max_difference(logits.data(), expected.data() + (forced.size() - 1) * vocab, vocab)
                : 0.0;
        for (std::size_t row = 0; row < forced.size(); ++row)
            prompt_worst = std::max(prompt_worst, max_difference(expected.data() + row * vocab,
                                                                 actual.data() + row * vocab, vocab));
        std::printf(
            "'%s': %zu prompt tokens, argmax equal on %d of %d steps, %d near ties (the CPU's batch differs "
            "from its decode on %d), max logit difference %.4f over every row; the CPU's decode against "
            "its batch: %.4f\n",
            text, prompt.size(), equal, kGreedySteps, near_ties, batch_differs, prompt_worst, cpu_orders);
        worst = std::max(worst, prompt_worst);
    }
    CHECK(worst <= kLogitBound);

    // Decode on the device (rows of one: the recording made for the first step is submitted again for the
    // second), against the CPU continuing the same sequence.
    if (gpu_state && cpu_state) {
        auto cpu_next = cpu->new_state();
        run(*cpu, *cpu_next, std::vector<Token>(sequence.begin(), sequence.end() - 1));
        double decode_worst = 0.0;
        for (const Token token : {sequence.back(), Token{42}}) {
            const auto want = run(*cpu, *cpu_next, {token});
            const auto got = run(*gpu, *gpu_state, {token});
            if (CHECK(want.size() == got.size() && !got.empty()))
                decode_worst = std::max(decode_worst, max_difference(want.data(), got.data(), want.size()));
        }
        std::printf("two decode steps on the device: max logit difference %.4f\n", decode_worst);
        CHECK(decode_worst <= kLogitBound);
        CHECK(gpu_state->device_bytes() > 0 && gpu_state->device_bytes() == gpu_state->memory_bytes());

        // The device's cache, moved to the CPU: the same fp16 values, so the CPU continues as from its own.
        auto moved = cpu->new_state();
        CHECK(moved->restore(gpu_state->snapshot()).ok() && moved->position() == gpu_state->position());
        const auto from_moved = run(*cpu, *moved, {7});
        const auto from_cpu = run(*cpu, *cpu_next, {7});
        if (CHECK(from_moved.size() == from_cpu.size() && !from_cpu.empty())) {
            const double moved_worst = max_difference(from_moved.data(), from_cpu.data(), from_cpu.size());
            std::printf("device snapshot restored on the CPU: max logit difference %.4f\n", moved_worst);
            CHECK(moved_worst <= kLogitBound);
        }
    }

    // One layer and the head on the device, 29 layers on the host.
    const auto split = load_dense(path, {choice, 1, {}, {}, {}});
    CHECK(split->backend().device_layers == 1 && split->backend().kind == kind);
    CHECK(split->backend().weight_bytes_on_device < status.weight_bytes_on_device);
    const std::vector<Token> short_prompt(sequence.begin(), sequence.begin() + 6);
    auto split_state = split->new_state();
    auto reference_state = cpu->new_state();
    const auto split_logits = run(*split, *split_state, short_prompt, model::LogitsWanted::All);
    const auto reference = run(*cpu, *reference_state, short_prompt, model::LogitsWanted::All);
    if (CHECK(split_logits.size() == reference.size() && !reference.empty())) {
        const double split_worst = max_difference(split_logits.data(), reference.data(), reference.size());
        std::printf("1 device layer + 29 host layers: max logit difference %.4f\n", split_worst);
        CHECK(split_worst <= kLogitBound);
    }
    // The device cache grows past its first 256 positions with the values it holds moved over.
    {
        std::vector<Token> long_prompt;
        for (int i = 0; i < 300; ++i)
            long_prompt.push_back(sequence[static_cast<std::size_t>(i) % sequence.size()]);
        const std::vector<Token> first(long_prompt.begin(), long_prompt.begin() + 250),
            rest(long_prompt.begin() + 250, long_prompt.end());
        auto cpu_long = cpu->new_state(), grown = split->new_state();
        run(*cpu, *cpu_long, first, model::LogitsWanted::None);
        run(*split, *grown, first, model::LogitsWanted::None);
        const auto expected = run(*cpu, *cpu_long, rest);
        const auto got = run(*split, *grown, rest);
        if (CHECK(got.size() == expected.size() && !expected.empty())) {
            const double grown_worst = max_difference(got.data(), expected.data(), expected.size());
            std::printf("the device cache grown from 256 to 512 positions: max logit difference %.4f\n",
                        grown_worst);
            CHECK(grown_worst <= kLogitBound);
        }
    }
}

// Makes a device half of the last `layers` layers of the model in `file`, whose device memory (graph and
// caches) is capped at `limit` bytes (0: none).
using DenseGraphMaker = std::function<std::unique_ptr<model::dense::DeviceGraph>(
    const formats::GgufFile& file, const model::dense::DenseConfig& config, std::int64_t layers,
    std::uint64_t limit)>;

// A device cache that has no room to grow (its graph capped just above what it holds) keeps what it held:
// the larger buffer fails, the old size is made again and its 250 positions read back as written.
inline void cache_keeps_what_it_held(const std::string& path, const DenseGraphMaker& make) {
    auto file = formats::GgufFile::open(path);
    auto config = file ? model::dense::read_dense_config(*file) : Error{file.error()};
    if (!CHECK(file.ok() && config.ok())) return;
    const std::int64_t kv_dim = config->kv_heads * config->head_dim, used = 250;
    std::mt19937 rng(5);
    std::vector<std::uint16_t> keys(static_cast<std::size_t>(used * kv_dim)), values(keys.size());
    for (auto* half : {&keys, &values})
        for (std::uint16_t& h : *half) h = static_cast<std::uint16_t>(rng() & 0x7bff);
    const auto cache_on = [&](std::uint64_t limit, std::uint64_t* held) {
        auto graph = make(*file, *config, 2, limit);
        if (!graph) std::exit(1);
        auto cache = graph->new_cache();
        CHECK(cache->reserve(used, 0).ok());
        for (std::int64_t layer = 0; layer < 2; ++layer)
            CHECK(cache->write(layer, used, keys.data(), values.data()).ok());
        *held = graph->device_bytes_in_use();
        return std::pair(std::move(graph), std::move(cache));
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
    CHECK(held <= limit && graph->device_bytes_in_use() <= limit);
}

} // namespace lectern::test
