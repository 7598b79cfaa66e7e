#pragma once
// One forward of a model in the GPU model tests (tests/vulkan, tests/cuda_models): the logits it returns,
// or none with the error reported as a check failure; the margin of a row's best logit; where a model's
// layers went.

#include "inference/backend/backend.h"
#include "inference/model/model.h"
#include "tests/kernels/check.h"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>
#include <vector>

namespace lectern::test {

inline std::vector<float> run(const model::Model& m, model::SequenceState& state,
                              const std::vector<model::Token>& tokens,
                              model::LogitsWanted wanted = model::LogitsWanted::Last,
                              model::IndexerObserver* observer = nullptr) {
    model::ForwardOptions options;
    options.logits = wanted;
    options.indexer_observer = observer;
    auto result = m.forward(state, tokens, options);
    if (!CHECK(result.ok())) {
        std::fprintf(stderr, "forward: %s\n", result.error().c_str());
        return {};
    }
    return std::move(result->logits);
}

// The gap between the largest and the second largest of `n` logits.
inline double top_two_margin(const float* logits, std::int64_t n) {
    float first = -std::numeric_limits<float>::infinity(), second = first;
    for (std::int64_t i = 0; i < n; ++i) {
        if (logits[i] > first) {
            second = first;
            first = logits[i];
        } else if (logits[i] > second) {
            second = logits[i];
        }
    }
    return static_cast<double>(first) - second;
}

inline void print_placement(const backend::Status& status) {
    std::printf("device: %s; %lld of %lld layers; weights on the device %.1f MiB, on the host %.1f MiB\n",
                status.device.c_str(), static_cast<long long>(status.device_layers),
                static_cast<long long>(status.layers), status.weight_bytes_on_device / 1048576.0,
                status.weight_bytes_on_host / 1048576.0);
}

} // namespace lectern::test
