#pragma once
// Golden parity checks shared by the engine tests that compare the C++ DeepSeek-V4 model with a Python
// reference's golden file (tests/data/golden/*.json, written by inference/tools/golden/make_*.py): the file
// must come from this checkpoint (xxh64 of each shard); each prompt's per-position argmax and top-k logits,
// and its greedy continuation decoded token by token through the caches.

#include "inference/model/model.h"
#include "tests/kernels/check.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace lectern::test {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline nlohmann::json read_golden(const std::string& name) {
    return nlohmann::json::parse(read_file(std::string(LECTERN_TEST_DATA) + "/golden/" + name));
}

// False (with a message naming the script to rerun) when a shard differs from the one the file was made from.
inline bool golden_matches_checkpoint(const nlohmann::json& golden, const std::string& folder,
                                      const char* script) {
    for (const auto& [file, hash] : golden.at("checkpoint_xxh64").items()) {
        const std::string bytes = read_file(folder + "/" + file);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx",
                      static_cast<unsigned long long>(XXH64(bytes.data(), bytes.size(), 0)));
        if (!CHECK(hex == hash.get<std::string>())) {
            std::fprintf(stderr,
                         "%s differs from the checkpoint the golden file was made from: rerun "
                         "inference/tools/golden/%s after changing the generator\n",
                         file.c_str(), script);
            return false;
        }
    }
    return true;
}

// Checks one row of logits against a golden position entry (argmax, top_ids, top_values); returns the
// largest |difference| over the entry's top-k.
inline double check_position(const float* row, std::int64_t vocab, const nlohmann::json& expected,
                             double tolerance) {
    CHECK(std::max_element(row, row + vocab) - row == expected.at("argmax").get<std::int64_t>());
    const auto ids = expected.at("top_ids").get<std::vector<std::int64_t>>();
    const auto values = expected.at("top_values").get<std::vector<double>>();
    double worst = 0.0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        worst = std::max(worst, std::fabs(row[ids[i]] - values[i]));
        CHECK_CLOSE(row[ids[i]], values[i], tolerance);
    }
    return worst;
}

// Every prompt of the golden file: one-shot prefill logits at every position, then the greedy continuation
// one decode step at a time from the prefilled caches. Returns the largest |logit difference| seen.
inline double check_prompts(const model::Model& m, const nlohmann::json& golden, double tolerance) {
    const std::int64_t vocab = m.info().vocab_size;
    double worst = 0.0;
    for (const auto& prompt : golden.at("prompts")) {
        const auto tokens = prompt.at("tokens").get<std::vector<model::Token>>();
        auto state = m.new_state();
        model::ForwardOptions all;
        all.logits = model::LogitsWanted::All;
        auto result = m.forward(*state, tokens, all);
        if (!CHECK(result.ok() && result->rows == static_cast<std::int64_t>(tokens.size()))) continue;
        const auto& positions = prompt.at("positions");
        for (std::size_t t = 0; t < tokens.size(); ++t)
            worst =
                std::max(worst, check_position(result->logits.data() + static_cast<std::int64_t>(t) * vocab,
                                               vocab, positions[t], tolerance));
        std::vector<model::Token> generated;
        std::vector<float> last(result->logits.end() - vocab, result->logits.end());
        const auto expected = prompt.at("greedy").get<std::vector<model::Token>>();
        for (std::size_t step = 0; step < expected.size(); ++step) {
            const auto next =
                static_cast<model::Token>(std::max_element(last.begin(), last.end()) - last.begin());
            generated.push_back(next);
            auto decoded = m.forward(*state, std::span(&next, 1), {});
            if (!CHECK(decoded.ok())) break;
            last = decoded->logits;
        }
        CHECK(generated == expected);
    }
    return worst;
}

} // namespace lectern::test
