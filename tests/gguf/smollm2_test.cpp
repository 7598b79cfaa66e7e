// The built-in default model (SmolLM2-135M-Instruct Q4_1) against llama.cpp on fixed prompts (short ones
// and two of about 170 tokens), along llama.cpp's greedy continuation: at every step our greedy choice is
// llama.cpp's and the logits of llama.cpp's top 8 tokens agree within kLogitBound
// (tests/data/gguf/make_smollm2_golden.py wrote the golden file; its settings are pinned there). Our
// tokenizer turns each prompt's text into llama.cpp's ids. Also: a prompt fed in one call, or in two calls
// around a snapshot round trip, gives identical logits; fed token by token (llama.cpp's single-token
// summation order) nearly identical ones. Skipped (77) when the model has not been fetched
// (scripts/fetch-models).

#include "inference/model/dense/dense_model.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/quant/matmul.h"
#include "tests/kernels/check.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace lectern;
using model::Token;

namespace {

// The dense graph performs llama.cpp's CPU operations in llama.cpp's order (kernels/cpu/quant/
// ordered_ops.h), so its logits equal llama.cpp's bit for bit on an AVX2 machine with glibc (observed
// difference 0). The bound leaves room for a libm whose cosf / sinf / powf round differently in the last
// bit; an operation done in another order shows up as differences of 1e-3 .. 1e-1.
constexpr double kLogitBound = 1e-3;
// Token by token, attention sums in llama.cpp's single-token order instead of its batch order: last-bit
// differences that Q8 activation rounding amplifies (observed 0.55, as between llama.cpp's own two orders).
constexpr double kPiecewiseBound = 1.0;

struct Case {
    std::string text;
    std::vector<Token> prompt, generated;
    std::vector<std::vector<std::pair<Token, float>>> top; // per step: llama.cpp's top tokens and logits
};

std::vector<Case> read_golden(const std::string& path) {
    std::ifstream in(path);
    std::vector<Case> cases;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string kind;
        words >> kind;
        if (kind == "text") {
            cases.emplace_back();
            std::string hex;
            words >> hex;
            for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
                cases.back().text.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        } else if (kind == "prompt") {
            for (Token t; words >> t;) cases.back().prompt.push_back(t);
        } else if (kind == "generated") {
            for (Token t; words >> t;) cases.back().generated.push_back(t);
        } else if (kind == "top") {
            cases.back().top.emplace_back();
            for (std::string pair; words >> pair;) {
                const auto colon = pair.find(':');
                cases.back().top.back().emplace_back(std::stoi(pair.substr(0, colon)),
                                                     std::stof(pair.substr(colon + 1)));
            }
        }
    }
    return cases;
}

std::vector<float> forward(const model::Model& m, model::SequenceState& state,
                           const std::vector<Token>& tokens) {
    auto result = m.forward(state, tokens, {});
    if (!CHECK(result.ok())) {
        std::fprintf(stderr, "%s\n", result.error().c_str());
        std::exit(1);
    }
    return result->logits;
}

} // namespace

int main() {
    const char* cache = std::getenv("LECTERN_CACHE");
    const std::string path = std::string(cache ? cache : "") + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!cache || !std::filesystem::exists(path)) {
        std::printf("skipped: %s is not there (run scripts/fetch-models)\n", path.c_str());
        return 77;
    }
    if (!kernels::quant::cpu_has_avx2()) {
        // The golden logits come from llama.cpp's AVX2 kernels, which our AVX2 path follows bit for bit;
        // the portable Q4_1/Q8_0 products sum in another order.
        std::printf(
            "skipped: this CPU lacks AVX2, FMA or F16C, so llama.cpp's AVX2 logits are not expected\n");
        return 77;
    }
    auto loaded = model::dense::load_dense_gguf(path, {}, 2);
    if (!CHECK(loaded.ok())) {
        std::fprintf(stderr, "%s\n", loaded.error().c_str());
        return 1;
    }
    const model::Model& m = **loaded;
    const std::int64_t vocab = m.info().vocab_size;
    CHECK(vocab == 49152 && m.info().family == "llama");

    const std::vector<Case> cases = read_golden(std::string(LECTERN_TEST_DATA) + "/gguf/smollm2_golden.txt");
    CHECK(cases.size() == 8);
    const tokenizer::BpeTokenizer* tokenizer = m.tokenizer();
    CHECK(tokenizer != nullptr);
    double worst = 0.0;
    std::size_t steps = 0, equal_steps = 0;
    for (std::size_t c = 0; c < cases.size(); ++c) {
        const Case& golden = cases[c];
        if (tokenizer) {
            const auto ids = tokenizer->encode(golden.text);
            CHECK(std::vector<Token>(ids.begin(), ids.end()) == golden.prompt);
        }
        auto state = m.new_state();
        std::vector<float> logits = forward(m, *state, golden.prompt);
        double case_worst = 0.0;
        std::size_t case_equal = 0;
        for (std::size_t step = 0; step < golden.generated.size(); ++step) {
            for (const auto& [token, want] : golden.top[step]) {
                const double error = std::fabs(logits[static_cast<std::size_t>(token)] - want);
                case_worst = std::max(case_worst, error);
                if (error > kLogitBound)
                    std::fprintf(stderr, "case %zu step %zu token %d: logit %.6f, llama.cpp %.6f\n", c, step,
                                 token, logits[static_cast<std::size_t>(token)], want);
                CHECK(error <= kLogitBound);
            }
            const Token ours = kernels::cpu::argmax(logits.data(), vocab);
            if (ours == golden.generated[step])
                ++case_equal;
            else
                std::fprintf(stderr, "case %zu step %zu: we pick %d, llama.cpp %d\n", c, step, ours,
                             golden.generated[step]);
            CHECK(ours == golden.generated[step]);
            // Continue from llama.cpp's token: while the choices agree this is our own greedy continuation.
            logits = forward(m, *state, {golden.generated[step]});
        }
        worst = std::max(worst, case_worst);
        steps += golden.generated.size();
        equal_steps += case_equal;
        std::printf(
            "case %zu: %zu prompt tokens, greedy equal to llama.cpp's on %zu of %zu steps; largest logit "
            "difference %.3g\n",
            c, golden.prompt.size(), case_equal, golden.generated.size(), case_worst);
    }
    std::printf(
        "greedy equal on %zu of %zu steps; largest logit difference from llama.cpp (its top 8 at every "
        "step): %.3g (bound %.0e)\n",
        equal_steps, steps, worst, kLogitBound);

    // The same prompt in one call, and in two calls around a snapshot round trip, give identical logits
    // (both pieces are batches); token by token, nearly identical ones.
    const std::vector<Token>& prompt = cases.at(3).prompt;
    auto whole = m.new_state();
    const std::vector<float> at_once = forward(m, *whole, prompt);
    const std::size_t half = prompt.size() / 2;
    auto pieces = m.new_state();
    forward(m, *pieces,
            std::vector<Token>(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(half)));
    auto restored = m.new_state();
    CHECK(restored->restore(pieces->snapshot()).ok());
    const std::vector<float> in_two = forward(
        m, *restored, std::vector<Token>(prompt.begin() + static_cast<std::ptrdiff_t>(half), prompt.end()));
    CHECK(in_two == at_once);
    CHECK(restored->position() == static_cast<std::int64_t>(prompt.size()));
    auto single = m.new_state();
    std::vector<float> token_by_token;
    for (const Token token : prompt) token_by_token = forward(m, *single, {token});
    double piecewise = 0.0;
    for (std::size_t i = 0; i < at_once.size(); ++i)
        piecewise = std::max(piecewise, static_cast<double>(std::fabs(token_by_token[i] - at_once[i])));
    std::printf("token by token vs one call: largest logit difference %.3g (bound %.2f)\n", piecewise,
                kPiecewiseBound);
    CHECK(piecewise <= kPiecewiseBound);
    CHECK(kernels::cpu::argmax(token_by_token.data(), vocab) == kernels::cpu::argmax(at_once.data(), vocab));
    CHECK(!restored->restore(std::vector<std::byte>(10)).ok());
    // Out-of-range tokens and a full context are errors, not crashes.
    CHECK(!m.forward(*restored, std::vector<Token>{-1}, {}).ok());
    CHECK(!m.forward(*restored, std::vector<Token>{static_cast<Token>(vocab)}, {}).ok());
    return test::finish("gguf_smollm2");
}
