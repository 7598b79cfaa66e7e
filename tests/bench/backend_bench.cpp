// End-to-end prefill and decode tokens/s of a model (the built-in default unless a path is given: a GGUF
// file or a DeepSeek-V4 checkpoint folder) on the CPU backend and on a GPU backend in the same run,
// greedy, with the ratio. On lavapipe the GPU figure is only a sanity check; on a real GPU it is the
// speed-up.
//
//   backend_bench [MODEL.gguf|FOLDER|default] [BACKEND] [PROMPT_TOKENS] [DECODE_TOKENS]
//
// BACKEND is vulkan (default; or LECTERN_BACKEND), cuda or auto; LECTERN_VULKAN_DEVICE picks the device.
// The prompt is made of fixed token ids so that every run computes the same thing.

#include "inference/backend/backend.h"
#include "inference/model/default_model.h"
#include "inference/model/factory.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace lectern;
using Clock = std::chrono::steady_clock;

namespace {

struct Speed {
    double prefill = 0.0, decode = 0.0; // tokens/s
    std::vector<model::Token> generated;
};

double seconds(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

// Best of `runs`: the first run also warms caches (pipelines, pages of the mapped file).
Result<Speed> measure(const model::Model& m, const std::vector<model::Token>& prompt, int decode_tokens,
                      int runs) {
    Speed best;
    for (int run = 0; run < runs; ++run) {
        auto state = m.new_state();
        const auto t0 = Clock::now();
        auto result = m.forward(*state, prompt, {});
        const auto t1 = Clock::now();
        if (!result) return std::move(result).take_error();
        std::vector<model::Token> generated;
        for (int i = 0; i < decode_tokens; ++i) {
            const auto& logits = result->logits;
            generated.push_back(
                static_cast<model::Token>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
            result = m.forward(*state, std::vector<model::Token>{generated.back()}, {});
            if (!result) return std::move(result).take_error();
        }
        const auto t2 = Clock::now();
        best.prefill = std::max(best.prefill, static_cast<double>(prompt.size()) / seconds(t0, t1));
        if (decode_tokens > 0) best.decode = std::max(best.decode, decode_tokens / seconds(t1, t2));
        best.generated = generated;
    }
    return best;
}

} // namespace

int main(int argc, char** argv) {
    std::string path = argc > 1 ? argv[1] : "default";
    if (path == "default") {
        auto found = model::default_model_path();
        if (!found) {
            std::fprintf(stderr, "%s\n", found.error().c_str());
            return 1;
        }
        path = *found;
    }
    const char* env = std::getenv("LECTERN_BACKEND");
    auto choice = backend::parse_choice(argc > 2 ? argv[2] : (env && *env ? env : "vulkan"));
    if (!choice) {
        std::fprintf(stderr, "%s\n", choice.error().c_str());
        return 2;
    }
    const int prompt_tokens = argc > 3 ? std::max(1, std::atoi(argv[3])) : 64;
    const int decode_tokens = argc > 4 ? std::max(0, std::atoi(argv[4])) : 16;
    const int runs = 2;
    std::vector<model::Token> prompt;
    for (int i = 0; i < prompt_tokens; ++i)
        prompt.push_back(static_cast<model::Token>(300 + (i * 37) % 5000));

    auto cpu = model::load_model(path, {}, {backend::Choice::Cpu, {}, {}, {}, {}});
    if (!cpu) {
        std::fprintf(stderr, "%s\n", cpu.error().c_str());
        return 1;
    }
    auto request = backend::resolve({*choice, {}, {}, {}, {}});
    if (!request) {
        std::fprintf(stderr, "%s\n", request.error().c_str());
        return 2;
    }
    auto gpu = model::load_model(path, {}, *request);
    if (!gpu) {
        std::fprintf(stderr, "%s\n", gpu.error().c_str());
        return 1;
    }
    const backend::Status status = (*gpu)->backend();
    std::printf(
        "model: %s\nbackend: %s, device: %s, %lld of %lld layers on the device, %.1f MiB of weights there\n",
        path.c_str(), std::string(backend::kind_name(status.kind)).c_str(), status.device.c_str(),
        static_cast<long long>(status.device_layers), static_cast<long long>(status.layers),
        status.weight_bytes_on_device / 1048576.0);
    for (const std::string& reason : status.fallbacks) std::printf("  note: %s\n", reason.c_str());
    std::printf("prompt %d tokens, decode %d tokens, best of %d runs\n", prompt_tokens, decode_tokens, runs);

    auto on_cpu = measure(**cpu, prompt, decode_tokens, runs);
    auto on_gpu = measure(**gpu, prompt, decode_tokens, runs);
    if (!on_cpu || !on_gpu) {
        std::fprintf(stderr, "%s\n", (!on_cpu ? on_cpu.error() : on_gpu.error()).c_str());
        return 1;
    }
    std::printf("%-28s %12s %12s\n", "", "prefill t/s", "decode t/s");
    std::printf("%-28s %12.2f %12.2f\n", "cpu", on_cpu->prefill, on_cpu->decode);
    std::printf("%-28s %12.2f %12.2f\n", status.device.substr(0, 28).c_str(), on_gpu->prefill,
                on_gpu->decode);
    std::printf("%-28s %12.2f %12.2f\n", "ratio (device / cpu)", on_gpu->prefill / on_cpu->prefill,
                on_cpu->decode > 0 ? on_gpu->decode / on_cpu->decode : 0.0);
    std::printf("greedy tokens %s\n", on_cpu->generated == on_gpu->generated ? "equal" : "differ");
    return 0;
}
