// DeepSeek-V4 CPU graph speed by thread count: a V4 checkpoint folder (such as the tiny one the engine
// tests generate into <build>/test-data/tiny-v4) is loaded once per thread count, then it times a prefill of
// 256 tokens (logits for the last one) and 32 single-token decode steps after it, in wall-clock time, and
// prints tokens/s with the ratio against the first thread count, measured in the same run. It also checks
// that every thread count gives the same logits bit for bit. Then one FP8 linear at Flash's size (wq_b:
// 32768 x 1024) for 1 and 32 rows, the bulk of a Flash layer's work. Nothing is asserted about time.
//
// usage: v4_threads_bench FOLDER [THREADS...]   (default threads: 1 2)
#include "inference/model/v4/v4_model.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/quant/thread_pool.h"

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

// Seconds per call of an FP8 linear [out, in] over `rows` rows, with a pool of `threads`.
double flash_linear_seconds(int threads, std::int64_t rows, std::vector<float>& y) {
    constexpr std::int64_t out = 32768, in = 1024;
    static std::vector<std::uint8_t> codes, scales;
    if (codes.empty()) {
        codes.resize(static_cast<std::size_t>(out * in));
        for (std::size_t i = 0; i < codes.size(); ++i)
            codes[i] = static_cast<std::uint8_t>((i * 2654435761u) % 0x48);
        scales.assign(static_cast<std::size_t>((out / 128) * (in / 128)), 120);
    }
    const kernels::cpu::WeightMatrix w{kernels::cpu::WeightFormat::F8_E4M3_BLOCK128, codes.data(),
                                       scales.data(), out, in};
    std::vector<float> x(static_cast<std::size_t>(rows * in));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) * 0.125f - 1.0f;
    y.resize(static_cast<std::size_t>(rows * out));
    kernels::quant::ThreadPool pool(threads);
    constexpr int kCalls = 5;
    kernels::cpu::linear(x.data(), rows, w, y.data(), &pool); // warm the weights
    const auto start = Clock::now();
    for (int call = 0; call < kCalls; ++call) kernels::cpu::linear(x.data(), rows, w, y.data(), &pool);
    return seconds_since(start) / kCalls;
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
    for (const std::int64_t rows : {1, 32}) {
        std::vector<float> base_y;
        const double base = flash_linear_seconds(counts.front(), rows, base_y);
        for (const int threads : counts) {
            std::vector<float> y;
            const double seconds = flash_linear_seconds(threads, rows, y);
            std::printf("Flash wq_b FP8 linear, %2lld rows, threads %2d: %8.3f ms (x%.2f)  %s\n",
                        static_cast<long long>(rows), threads, seconds * 1e3, base / seconds,
                        y == base_y ? "identical" : "DIFFER");
        }
    }
    return 0;
}
