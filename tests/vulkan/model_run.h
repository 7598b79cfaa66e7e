#pragma once
// One forward of a model in the Vulkan model tests: the logits it returns, or none with the error reported
// as a check failure.

#include "inference/model/model.h"
#include "tests/kernels/check.h"

#include <cstdio>
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

} // namespace lectern::test
