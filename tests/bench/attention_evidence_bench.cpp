// The cost of recording evidence from attention during decoding, on the tiny DeepSeek-V4 checkpoint
// (written to a scratch folder unless one is given) through the engine: the same prompt prefilled once,
// then, alternating, greedy generations of the same tokens with recording off and on, restored from one
// snapshot each time. Prints the decode time per token of each (median over the rounds, this thread's CPU
// time) and the overhead of recording as a share of decode time. Then the recorder alone at Flash's sizes:
// one (token, layer) selection of k = 512 (Flash) or 1024 (Pro) entries out of a 64K- and a 1M-token
// context, per call and per token for Flash's 21 CSA layers. engine_layers times a whole CSA layer with
// Flash's attention dimensions with and without the recorder. Nothing is asserted.
//
// usage: attention_evidence [TINY_V4_FOLDER] [PROMPT_TOKENS] [GENERATED_TOKENS] [ROUNDS]
#include "inference/engine/attention_evidence.h"
#include "inference/engine/engine.h"
#include "inference/tools/tiny_v4.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    using namespace lectern;
    std::string folder = argc > 1 ? argv[1] : "";
    const std::int64_t prompt_tokens = argc > 2 ? std::atoll(argv[2]) : 2000;
    const std::int64_t generated = argc > 3 ? std::atoll(argv[3]) : 48;
    const int rounds = argc > 4 ? std::atoi(argv[4]) : 7;
    if (folder.empty()) {
        folder = (std::filesystem::temp_directory_path() / "lectern-bench-tiny-v4").string();
        if (!std::filesystem::exists(folder + "/config.json"))
            if (auto written = tools::write_tiny_v4(folder, {}); !written) {
                std::fprintf(stderr, "cannot write the tiny checkpoint: %s\n", written.error().c_str());
                return 1;
            }
    }
    auto engine = inference::Engine::load(folder);
    if (!engine) {
        std::fprintf(stderr, "%s\n", engine.error().c_str());
        return 1;
    }
    std::vector<model::Token> prompt{0};
    for (std::int64_t i = 1; i < prompt_tokens; ++i)
        prompt.push_back(static_cast<model::Token>((i * 7919 + 104729) % 129000));
    if (auto prefilled = (*engine)->prefill(prompt); !prefilled) {
        std::fprintf(stderr, "%s\n", prefilled.error().c_str());
        return 1;
    }
    const std::vector<std::byte> start = (*engine)->snapshot();
    inference::GenerateOptions greedy;
    greedy.max_tokens = generated;
    greedy.stop_at_model_stop_tokens = false;

    std::vector<double> off, on;
    inference::AttentionEvidence evidence;
    for (int round = 0; round < rounds; ++round) {
        for (const bool record : {false, true}) {
            if (auto restored = (*engine)->restore(start); !restored) return 1;
            (*engine)->set_record_attention_evidence(record);
            const double begin = cpu_seconds();
            auto result = (*engine)->generate(greedy);
            const double seconds = cpu_seconds() - begin;
            if (!result) return 1;
            (record ? on : off).push_back(seconds / static_cast<double>(result->tokens.size()));
            if (record) evidence = (*engine)->attention_evidence();
        }
    }
    const double base = median(off), recorded = median(on);
    std::printf("tiny DeepSeek-V4 (%s), prompt %lld tokens, %lld generated, %d rounds\n", folder.c_str(),
                static_cast<long long>(prompt_tokens), static_cast<long long>(generated), rounds);
    std::printf("decode per token: recording off %.3f ms, on %.3f ms, overhead %+.2f%% of decode time\n",
                base * 1e3, recorded * 1e3, (recorded / base - 1.0) * 100.0);
    std::printf("evidence: %lld tokens, %lld selections, %zu entries chosen at least once\n",
                static_cast<long long>(evidence.tokens), static_cast<long long>(evidence.selections),
                evidence.ranges.size());

    // The recorder alone: k chosen entries spread over the visible ones, scores of every visible entry.
    for (const std::int64_t context : {65536, 1048576}) {
        for (const std::int64_t k : {512, 1024}) {
            const std::int64_t visible = context / 4;
            std::vector<float> scores(static_cast<std::size_t>(visible));
            for (std::size_t i = 0; i < scores.size(); ++i)
                scores[i] = static_cast<float>((i * 2654435761u) % 1000) * 0.01f;
            std::vector<std::int64_t> chosen(static_cast<std::size_t>(k));
            std::iota(chosen.begin(), chosen.end(), 0);
            for (auto& j : chosen) j = j * (visible / k);
            inference::EvidenceRecorder recorder;
            constexpr int kCalls = 20000;
            const double begin = cpu_seconds();
            for (int call = 0; call < kCalls; ++call)
                recorder.observe({1, context + call, chosen, scores, 4, 4});
            const double per_call = (cpu_seconds() - begin) / kCalls;
            std::printf("recorder, context %7lld, k %4lld: %.2f us per selection, %.3f ms per token for 21 "
                        "CSA layers\n",
                        static_cast<long long>(context), static_cast<long long>(k), per_call * 1e6,
                        per_call * 21 * 1e3);
        }
    }
    return 0;
}
