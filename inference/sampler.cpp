#include "inference/sampler.h"

#include "kernels/cpu/graph_ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace lectern::inference {

// The kernels' argmax: the same choice and tie rule (lowest id) as a device backend's top_k with k = 1.
model::Token argmax(std::span<const float> logits) {
    return static_cast<model::Token>(
        kernels::cpu::argmax(logits.data(), static_cast<std::int64_t>(logits.size())));
}

Sampler::Sampler(SamplerSettings settings) : settings_(settings), random_(settings.seed) {}

model::Token Sampler::sample(std::span<const float> logits) {
    if (settings_.temperature <= 0.0f || logits.empty()) return argmax(logits);
    // Probabilities at the temperature, in double; candidates sorted by probability (ties: lower id).
    const double top_logit = *std::max_element(logits.begin(), logits.end());
    std::vector<std::pair<double, model::Token>> candidates;
    candidates.reserve(logits.size());
    double total = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const double weight = std::exp((static_cast<double>(logits[i]) - top_logit) / settings_.temperature);
        total += weight;
        candidates.emplace_back(weight, static_cast<model::Token>(i));
    }
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    // min-p: keep tokens with probability >= min_p x the top probability.
    std::size_t keep = candidates.size();
    if (settings_.min_p > 0.0f) {
        const double floor = settings_.min_p * candidates.front().first;
        keep = static_cast<std::size_t>(std::find_if(candidates.begin(), candidates.end(),
                                                     [&](const auto& c) { return c.first < floor; }) -
                                        candidates.begin());
    }
    // top-p: the smallest prefix whose mass reaches top_p (of the full distribution).
    if (settings_.top_p < 1.0f) {
        double mass = 0.0;
        for (std::size_t i = 0; i < keep; ++i) {
            mass += candidates[i].first / total;
            if (mass >= settings_.top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    keep = std::max<std::size_t>(keep, 1);
    double kept_mass = 0.0;
    for (std::size_t i = 0; i < keep; ++i) kept_mass += candidates[i].first;
    // 53 random bits -> a uniform double in [0, kept_mass): reproducible on every platform.
    const double target = static_cast<double>(random_() >> 11) / 9007199254740992.0 * kept_mass;
    double running = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
        running += candidates[i].first;
        if (target < running) return candidates[i].second;
    }
    return candidates[keep - 1].second;
}

} // namespace lectern::inference
