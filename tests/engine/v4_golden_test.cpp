// Golden parity: the C++ DeepSeek-V4 graph (main model and MTP block) against the independent NumPy reference
// (inference/tools/golden/reference_v4.py) on the tiny checkpoint. Same top-1 token at every position, and
// the golden top-8 logits within kLogitTolerance; the greedy continuation, decoded token by token through
// the caches, equals the reference's (which recomputes the whole sequence each step).
#include "inference/model/v4/graph.h"
#include "inference/model/v4/v4_model.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace {

// Both implementations round at the same points (bf16 activations, FP8/FP4 QAT) and accumulate every sum
// in float64 before rounding once to fp32, so they agree to the last bit except for a rare last-ulp
// difference in a transcendental function; the golden values are stored to 1e-5. 1e-3 is well above that
// and below half of the smallest top-1 margin in the golden file (0.0024), so top-1 equality also follows
// from it. (Without float64 accumulation, summation-order noise flips roundings and top-k choices and the
// two sides differ by up to ~6 logits: that is why the kernels accumulate in double.)
constexpr double kLogitTolerance = 1e-3;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

int main() {
    using namespace lectern;
    const std::string folder = test::tiny_v4_folder();
    const auto golden =
        nlohmann::json::parse(read_file(std::string(LECTERN_TEST_DATA) + "/golden/tiny_v4_golden.json"));
    for (const auto& [file, hash] : golden.at("checkpoint_xxh64").items()) {
        const std::string bytes = read_file(folder + "/" + file);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx",
                      static_cast<unsigned long long>(XXH64(bytes.data(), bytes.size(), 0)));
        if (!CHECK(hex == hash.get<std::string>())) {
            std::fprintf(stderr,
                         "%s differs from the checkpoint the golden file was made from: rerun "
                         "inference/tools/golden/make_golden.py after changing the generator\n",
                         file.c_str());
            return test::finish("v4_golden");
        }
    }
    auto loaded = model::v4::load_v4_model(folder);
    if (!CHECK(loaded.ok())) {
        std::fprintf(stderr, "%s\n", loaded.error().c_str());
        return test::finish("v4_golden");
    }
    const model::Model& m = **loaded;
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
        for (std::size_t t = 0; t < tokens.size(); ++t) {
            const float* row = result->logits.data() + static_cast<std::int64_t>(t) * vocab;
            const auto argmax = std::max_element(row, row + vocab) - row;
            CHECK(argmax == positions[t].at("argmax").get<std::int64_t>());
            const auto ids = positions[t].at("top_ids").get<std::vector<std::int64_t>>();
            const auto values = positions[t].at("top_values").get<std::vector<double>>();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                worst = std::max(worst, std::fabs(row[ids[i]] - values[i]));
                CHECK_CLOSE(row[ids[i]], values[i], kLogitTolerance);
            }
        }
        // Greedy continuation, one decode step at a time from the prefilled caches.
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
    // The MTP block: logits for the token after next at every position of each prompt, in one pass and
    // in two chunks through its own window cache.
    auto config = model::v4::load_config(folder + "/config.json");
    auto checkpoint = formats::SafetensorsCheckpoint::open_folder(folder);
    if (!CHECK(config.ok() && checkpoint.ok())) return test::finish("v4_golden");
    auto source = model::v4::safetensors_source(std::move(*checkpoint), folder);
    auto weights = model::v4::bind_weights(*config, *source);
    if (!CHECK(weights.ok())) return test::finish("v4_golden");
    const model::v4::Graph graph(*config, *weights);
    for (const auto& prompt : golden.at("prompts")) {
        const auto tokens = prompt.at("tokens").get<std::vector<model::Token>>();
        model::v4::V4State state(*config);
        const std::vector<float> residual = graph.run(state, tokens);
        const std::span<const model::Token> next = std::span(tokens).subspan(1);
        const auto rows = static_cast<std::int64_t>(next.size());
        auto fresh_cache = [&] {
            model::v4::LayerCache cache;
            cache.window.assign(static_cast<std::size_t>(config->window_size * config->head_dim), 0.0f);
            return cache;
        };
        model::v4::LayerCache cache = fresh_cache();
        const std::vector<float> mtp = graph.mtp(cache, 0, residual, next);
        std::vector<float> logits(static_cast<std::size_t>(rows * vocab));
        graph.mtp_logits(mtp.data(), rows, logits.data());
        const auto& expected = prompt.at("mtp");
        if (!CHECK(static_cast<std::int64_t>(expected.size()) == rows)) continue;
        for (std::int64_t t = 0; t < rows; ++t) {
            const float* row = logits.data() + t * vocab;
            CHECK(std::max_element(row, row + vocab) - row == expected[t].at("argmax").get<std::int64_t>());
            const auto ids = expected[t].at("top_ids").get<std::vector<std::int64_t>>();
            const auto values = expected[t].at("top_values").get<std::vector<double>>();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                worst = std::max(worst, std::fabs(row[ids[i]] - values[i]));
                CHECK_CLOSE(row[ids[i]], values[i], kLogitTolerance);
            }
        }
        const std::int64_t half = rows / 2;
        const std::int64_t stride = config->hc_mult * config->dim;
        model::v4::LayerCache chunked = fresh_cache();
        std::vector<float> first =
            graph.mtp(chunked, 0, residual, next.first(static_cast<std::size_t>(half)));
        const std::vector<float> tail(residual.begin() + half * stride, residual.end());
        const std::vector<float> second =
            graph.mtp(chunked, half, tail, next.subspan(static_cast<std::size_t>(half)));
        first.insert(first.end(), second.begin(), second.end());
        CHECK(first == mtp);
    }
    std::printf("largest |logit difference| over the golden top-8 entries: %.6f (tolerance %.0e)\n", worst,
                kLogitTolerance);
    return test::finish("v4_golden");
}
