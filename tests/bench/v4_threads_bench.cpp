// DeepSeek-V4 CPU graph speed by thread count: a V4 checkpoint folder (such as the tiny one the engine
// tests generate into <build>/test-data/tiny-v4) is loaded once per thread count, then it times a prefill of
// 256 tokens (logits for the last one) and 32 single-token decode steps after it, in wall-clock time, and
// prints tokens/s with the ratio against the first thread count, measured in the same run. It also checks
// that every thread count gives the same logits bit for bit. Nothing is asserted about time.
//
// usage: v4_threads_bench FOLDER [THREADS...]   (default threads: 1 2)
#include "inference/model/v4/v4_model.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace lectern;
using Clock = std::chrono::steady_clock;

struct Timing {
    double prefill_tokens_per_s = 0, decode_tokens_per_s = 0;
    std::vector<float> logits; // the last decode step's
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

bool measure(const model::Model& m, Timing& timing) {
    std::vector<model::Token> prompt{0};
    for (model::Token i = 1; i < 256; ++i) prompt.push_back((i * 7919 + 104729) % 129000);
    auto state = m.new_state();
    const model::ForwardOptions last;
    const auto start = Clock::now();
    auto prefill = m.forward(*state, prompt, last);
    const double prefill_s = seconds_since(start);
    if (!prefill) {
        std::fprintf(stderr, "prefill: %s\n", prefill.error().c_str());
        return false;
    }
    constexpr int kSteps = 32;
    const auto decode_start = Clock::now();
    for (int step = 0; step < kSteps; ++step) {
        const model::Token token = (step * 104729 + 17) % 129000;
        auto result = m.forward(*state, std::span(&token, 1), last);
        if (!result) {
            std::fprintf(stderr, "decode: %s\n", result.error().c_str());
            return false;
        }
        timing.logits = std::move(result->logits);
    }
    timing.prefill_tokens_per_s = static_cast<double>(prompt.size()) / prefill_s;
    timing.decode_tokens_per_s = kSteps / seconds_since(decode_start);
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: v4_threads_bench FOLDER [THREADS...]\n");
        return 2;
    }
    const std::string folder = argv[1];
    std::vector<int> counts;
    for (int i = 2; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
    if (counts.empty()) counts = {1, 2};

    std::vector<Timing> timings;
    for (const int threads : counts) {
        auto loaded = model::v4::load_v4_model(folder, {}, threads);
        if (!loaded) {
            std::fprintf(stderr, "%s\n", loaded.error().c_str());
            return 1;
        }
        Timing& timing = timings.emplace_back();
        if (!measure(**loaded, timing)) return 1;
        const Timing& base = timings.front();
        std::printf("threads %2d: prefill %8.1f tok/s (x%.2f)  decode %7.2f tok/s (x%.2f)  logits %s\n",
                    threads, timing.prefill_tokens_per_s,
                    timing.prefill_tokens_per_s / base.prefill_tokens_per_s, timing.decode_tokens_per_s,
                    timing.decode_tokens_per_s / base.decode_tokens_per_s,
                    timing.logits == base.logits ? "identical" : "DIFFER");
    }
    return 0;
}
