#pragma once
// Picks the next token from a row of logits: greedy (temperature 0) or seeded sampling with
// temperature, top-p and min-p. Deterministic for a given seed and sequence of calls.

#include "inference/model/model.h"

#include <cstdint>
#include <random>
#include <span>

namespace lectern::inference {

struct SamplerSettings {
    float temperature = 0.0f; // 0: greedy (argmax, lowest id on ties)
    float top_p = 1.0f;       // keep the smallest set of most likely tokens whose mass reaches top_p
    float min_p = 0.0f;       // drop tokens whose probability is below min_p x the top probability
    std::uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(SamplerSettings settings);
    const SamplerSettings& settings() const { return settings_; }
    model::Token sample(std::span<const float> logits);

private:
    SamplerSettings settings_;
    std::mt19937_64 random_;
};

// Index of the largest value; the lowest index on ties.
model::Token argmax(std::span<const float> logits);

} // namespace lectern::inference
