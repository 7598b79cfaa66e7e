// Prefill and decode tokens/s of a dense GGUF model (the built-in default by default) on given prompt
// token ids, greedy, best of a few runs. gguf_bench.py runs it beside llama.cpp with the same prompt and
// threads and prints the ratios; run alone: gguf_bench MODEL.gguf THREADS DECODE_TOKENS ID...

#include "inference/model/dense/dense_model.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace lectern;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: gguf_bench MODEL.gguf THREADS DECODE_TOKENS PROMPT_ID...\n");
        return 2;
    }
    const int threads = std::stoi(argv[2]);
    const int decode_tokens = std::stoi(argv[3]);
    std::vector<model::Token> prompt;
    for (int i = 4; i < argc; ++i) prompt.push_back(std::stoi(argv[i]));
    auto loaded = model::dense::load_dense_gguf(argv[1], {}, threads);
    if (!loaded) {
        std::fprintf(stderr, "%s\n", loaded.error().c_str());
        return 1;
    }
    const model::Model& m = **loaded;
    double best_prefill = 0.0, best_decode = 0.0;
    for (int run = 0; run < 3; ++run) {
        auto state = m.new_state();
        const auto t0 = Clock::now();
        auto result = m.forward(*state, prompt, {});
        const auto t1 = Clock::now();
        if (!result) {
            std::fprintf(stderr, "%s\n", result.error().c_str());
            return 1;
        }
        for (int i = 0; i < decode_tokens; ++i) {
            const auto& logits = result->logits;
            const auto next =
                static_cast<model::Token>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            result = m.forward(*state, std::vector<model::Token>{next}, {});
        }
        const auto t2 = Clock::now();
        best_prefill = std::max(best_prefill, static_cast<double>(prompt.size()) /
                                                  std::chrono::duration<double>(t1 - t0).count());
        best_decode = std::max(best_decode, decode_tokens / std::chrono::duration<double>(t2 - t1).count());
    }
    std::printf("prefill_tokens_per_s %.2f\ndecode_tokens_per_s %.2f\n", best_prefill, best_decode);
    return 0;
}
