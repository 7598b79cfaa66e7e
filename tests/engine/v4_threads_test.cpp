// Threads: the V4 graph splits its heavy ops over a pool without changing any sum's order, so the tiny
// checkpoint's logits with 1 thread and with 3 threads are bit-identical, for a prefill and the decode steps
// after it. 800 tokens: enough CSA entries (200) for the indexer's scoring to be split too, besides the
// linears and the attention heads.
#include "inference/model/v4/v4_model.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <cstring>

namespace {

using namespace lectern;

// Prefill logits for every position, then each decode step's logits, all in one vector.
std::vector<float> prefill_and_decode(const model::Model& m, std::span<const model::Token> prompt,
                                      std::span<const model::Token> decoded) {
    auto state = m.new_state();
    model::ForwardOptions all;
    all.logits = model::LogitsWanted::All;
    auto prefill = m.forward(*state, prompt, all);
    if (!CHECK(prefill.ok())) return {};
    std::vector<float> logits = prefill->logits;
    for (const model::Token token : decoded) {
        auto step = m.forward(*state, std::span(&token, 1), all);
        if (!CHECK(step.ok())) return {};
        logits.insert(logits.end(), step->logits.begin(), step->logits.end());
    }
    return logits;
}

} // namespace

int main() {
    const std::string folder = test::tiny_v4_folder();
    auto single = model::v4::load_v4_model(folder, {}, 1);
    auto three = model::v4::load_v4_model(folder, {}, 3);
    if (!CHECK(single.ok() && three.ok())) return test::finish("v4_threads");

    std::vector<model::Token> prompt{0};
    for (model::Token i = 1; i < 800; ++i) prompt.push_back((i * 7919 + 104729) % 129000);
    const std::vector<model::Token> decoded{17, 4242, 99, 128000, 5};

    const std::vector<float> one = prefill_and_decode(**single, prompt, decoded);
    const std::vector<float> many = prefill_and_decode(**three, prompt, decoded);
    CHECK(one.size() ==
          (prompt.size() + decoded.size()) * static_cast<std::size_t>((*single)->info().vocab_size));
    std::size_t differing = 0;
    for (std::size_t i = 0; i < one.size() && i < many.size(); ++i)
        differing += std::memcmp(&one[i], &many[i], sizeof(float)) != 0;
    if (!CHECK(one.size() == many.size() && differing == 0))
        std::fprintf(stderr, "%zu of %zu logits differ between 1 and 3 threads\n", differing, one.size());
    return test::finish("v4_threads");
}
