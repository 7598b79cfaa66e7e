// Evidence from attention on the tiny DeepSeek-V4 checkpoint (CSA layers 1 and 3, top-8): every indexer
// selection the graph reports is the top-k of the scores it reports, only visible entries, ascending; the
// engine's recorder adds up exactly those selections (counts and softmax mass, checked against a
// recomputation from the raw selections of the same sequence); entry j covers positions
// [max(0, 4j - 4), 4j + 4) and its end is the first position whose token no longer changes it; recording
// does not change the logits; snapshots and restores leave the evidence alone and a restored sequence
// records the same evidence; a model without an indexer says "not available".
#include "inference/engine/engine.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/v4_model.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace {

using namespace lectern;

struct Recorded {
    std::int64_t layer = 0, position = 0, stride = 0, lookback = 0;
    std::vector<std::int64_t> chosen;
    std::vector<float> scores;
};

class Capture final : public model::IndexerObserver {
public:
    void observe(const model::IndexerSelection& s) override {
        all.push_back({s.layer,
                       s.position,
                       s.entry_stride,
                       s.entry_lookback,
                       {s.chosen.begin(), s.chosen.end()},
                       {s.scores.begin(), s.scores.end()}});
    }
    std::vector<Recorded> all;
};

std::vector<model::Token> prompt_tokens(std::size_t count) {
    std::vector<model::Token> tokens{0};
    for (std::size_t i = 1; i < count; ++i)
        tokens.push_back(static_cast<model::Token>((i * 7919 + 104729) % 129000));
    return tokens;
}

// The top-k rule, recomputed: highest score first, the lower index on ties; then ascending.
std::vector<std::int64_t> top_k(const std::vector<float>& scores, std::size_t k) {
    std::vector<std::int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)];
    });
    order.resize(std::min(k, order.size()));
    std::sort(order.begin(), order.end());
    return order;
}

class NoIndexerModel final : public model::Model {
public:
    NoIndexerModel() {
        info_.family = "dense-test";
        info_.vocab_size = 4;
        info_.context_length = 64;
    }
    const model::ModelInfo& info() const override { return info_; }
    std::unique_ptr<model::SequenceState> new_state() const override { return std::make_unique<State>(); }
    Result<model::ForwardResult> forward(model::SequenceState& state, std::span<const model::Token> tokens,
                                         const model::ForwardOptions&) const override {
        static_cast<State&>(state).at += static_cast<std::int64_t>(tokens.size());
        model::ForwardResult result;
        result.consumed = static_cast<std::int64_t>(tokens.size());
        result.rows = 1;
        result.logits = {0.0f, 1.0f, 0.5f, 0.25f};
        return result;
    }

private:
    struct State final : model::SequenceState {
        std::int64_t at = 0;
        std::int64_t position() const override { return at; }
        std::uint64_t memory_bytes() const override { return 0; }
        std::vector<std::byte> snapshot() const override { return {}; }
        Result<void> restore(std::span<const std::byte>) override { return {}; }
        std::unique_ptr<model::SequenceState> clone() const override {
            return std::make_unique<State>(*this);
        }
    };
    model::ModelInfo info_;
};

bool same_evidence(const inference::AttentionEvidence& a, const inference::AttentionEvidence& b) {
    if (a.available != b.available || a.tokens != b.tokens || a.selections != b.selections ||
        a.ranges.size() != b.ranges.size())
        return false;
    for (std::size_t i = 0; i < a.ranges.size(); ++i)
        if (a.ranges[i].begin != b.ranges[i].begin || a.ranges[i].end != b.ranges[i].end ||
            a.ranges[i].selections != b.ranges[i].selections || a.ranges[i].weight != b.ranges[i].weight)
            return false;
    return true;
}

} // namespace

int main() {
    const std::string folder = test::tiny_v4_folder();
    auto loaded = model::v4::load_v4_model(folder);
    if (!CHECK(loaded.ok())) return test::finish("attention_evidence");
    const model::Model& m = **loaded;
    CHECK(m.info().reports_indexer_selections);
    constexpr std::size_t kTopK = 8;
    const std::vector<model::Token> tokens = prompt_tokens(120);
    const std::span<const model::Token> all(tokens);

    // 1. The graph's reports, over a prefill in chunks and token-by-token decoding from position 0.
    {
        Capture capture;
        model::ForwardOptions observed;
        observed.logits = model::LogitsWanted::All;
        observed.indexer_observer = &capture;
        model::ForwardOptions plain;
        plain.logits = model::LogitsWanted::All;
        auto with = m.new_state(), without = m.new_state();
        std::vector<float> logits_with, logits_without;
        for (std::size_t at = 0; at < tokens.size(); at += at < 40 ? 1 : 37) {
            const auto chunk = all.subspan(at, std::min<std::size_t>(at < 40 ? 1 : 37, tokens.size() - at));
            auto a = m.forward(*with, chunk, observed);
            auto b = m.forward(*without, chunk, plain);
            if (!CHECK(a.ok() && b.ok())) return test::finish("attention_evidence");
            logits_with.insert(logits_with.end(), a->logits.begin(), a->logits.end());
            logits_without.insert(logits_without.end(), b->logits.begin(), b->logits.end());
        }
        CHECK(logits_with == logits_without); // observing changes nothing

        // One report per CSA layer per position that sees an entry (position >= 3), nothing else.
        std::map<std::pair<std::int64_t, std::int64_t>, int> reports;
        for (const Recorded& r : capture.all) {
            ++reports[{r.layer, r.position}];
            CHECK(r.layer == 1 || r.layer == 3);
            CHECK(r.stride == 4 && r.lookback == 4);
            const auto visible = static_cast<std::size_t>((r.position + 1) / 4);
            CHECK(r.scores.size() == visible);
            CHECK(r.chosen == top_k(r.scores, kTopK));
            CHECK(r.chosen.size() == std::min(kTopK, visible));
            // No entry covers a position after the token that chose it.
            CHECK((r.chosen.back() + 1) * r.stride <= r.position + 1);
        }
        CHECK(reports.size() == 2 * (tokens.size() - 3));
        for (const auto& [key, count] : reports) CHECK(count == 1 && key.second >= 3);
    }

    // 2. Entry j's end: changing the token at position q changes layer 1's entries j with 4j + 4 > q and
    //    no others (the begin, 4j - 4, is where lane A's block starts: §3.3, covered by the formula).
    {
        const std::int64_t q = 21; // inside block 5: entries 0..4 end at or before 20
        std::vector<model::Token> changed = tokens;
        changed[static_cast<std::size_t>(q)] = 777;
        auto a = m.new_state(), b = m.new_state();
        model::ForwardOptions none;
        none.logits = model::LogitsWanted::None;
        CHECK(m.forward(*a, all.first(48), none).ok());
        CHECK(m.forward(*b, std::span<const model::Token>(changed).first(48), none).ok());
        const auto& keys_a = static_cast<model::v4::V4State&>(*a).layers[1].index_keys;
        const auto& keys_b = static_cast<model::v4::V4State&>(*b).layers[1].index_keys;
        const std::int64_t width = static_cast<std::int64_t>(keys_a.size()) / 12; // 48 / 4 entries
        for (std::int64_t j = 0; j < 12; ++j) {
            const bool differs = !std::equal(keys_a.begin() + j * width, keys_a.begin() + (j + 1) * width,
                                             keys_b.begin() + j * width);
            if (!CHECK(differs == (4 * j + 4 > q)))
                std::fprintf(stderr, "entry %lld\n", static_cast<long long>(j));
        }
    }

    // 3. The engine's recorder against a recomputation from the raw reports of the same sequence.
    auto engine_model = model::v4::load_v4_model(folder);
    if (!CHECK(engine_model.ok())) return test::finish("attention_evidence");
    inference::Engine engine(std::move(*engine_model));
    CHECK(engine.attention_evidence().available && engine.attention_evidence().ranges.empty());
    engine.set_record_attention_evidence(true);
    CHECK(engine.prefill(all.first(100)).ok());
    const std::vector<std::byte> before = engine.snapshot();
    inference::GenerateOptions greedy;
    greedy.max_tokens = 10;
    greedy.stop_at_model_stop_tokens = false;
    auto generated = engine.generate(greedy);
    if (!CHECK(generated.ok() && generated->tokens.size() == 10)) return test::finish("attention_evidence");
    const inference::AttentionEvidence evidence = engine.attention_evidence();
    CHECK(evidence.available);
    CHECK(evidence.tokens == 10); // every generated token joins the sequence: max_tokens ended it
    CHECK(evidence.selections == 20);

    Capture raw;
    {
        auto state = m.new_state();
        CHECK(m.forward(*state, all.first(100), {}).ok());
        model::ForwardOptions observed;
        observed.indexer_observer = &raw;
        for (const model::Token t : generated->tokens)
            CHECK(m.forward(*state, std::span(&t, 1), observed).ok());
    }
    std::map<std::int64_t, std::pair<std::int64_t, double>> expected; // entry -> (selections, weight)
    for (const Recorded& r : raw.all) {
        double top = -1e30, sum = 0.0;
        for (const std::int64_t j : r.chosen) top = std::max(top, double(r.scores[std::size_t(j)]));
        for (const std::int64_t j : r.chosen) sum += std::exp(double(r.scores[std::size_t(j)]) - top);
        for (const std::int64_t j : r.chosen) {
            expected[j].first += 1;
            expected[j].second += std::exp(double(r.scores[std::size_t(j)]) - top) / sum;
        }
    }
    CHECK(evidence.ranges.size() == expected.size());
    double total = 0.0;
    for (const inference::EvidenceRange& range : evidence.ranges) {
        const std::int64_t j = range.end / 4 - 1;
        CHECK(range.begin == std::max<std::int64_t>(0, 4 * j - 4));
        const auto found = expected.find(j);
        if (!CHECK(found != expected.end())) continue;
        CHECK(range.selections == found->second.first);
        CHECK_CLOSE(range.weight, found->second.second, 1e-5);
        total += range.weight;
    }
    CHECK_CLOSE(total, 20.0, 1e-4);
    for (std::size_t i = 0; i + 1 < evidence.ranges.size(); ++i)
        CHECK(evidence.ranges[i].begin <= evidence.ranges[i + 1].begin);

    // 4. Prefill, snapshots and restores leave the evidence alone; a restored sequence records the same.
    CHECK(engine.restore(before).ok());
    CHECK(same_evidence(engine.attention_evidence(), evidence));
    auto again = engine.generate(greedy);
    CHECK(again.ok() && again->tokens == generated->tokens);
    CHECK(same_evidence(engine.attention_evidence(), evidence));
    const std::vector<std::byte> after = engine.snapshot();
    CHECK(engine.prefill(all.subspan(100, 5)).ok());
    CHECK(engine.restore(after).ok());
    CHECK(same_evidence(engine.attention_evidence(), evidence));
    engine.set_record_attention_evidence(false); // off: the next answer records nothing
    CHECK(engine.generate(greedy).ok());
    CHECK(engine.attention_evidence().available && engine.attention_evidence().ranges.empty() &&
          engine.attention_evidence().selections == 0);

    // 5. The recorder's mapping at the boundaries, on hand-made selections: CSA (stride 4, lookback 4)
    //    entries 0, 1, 2 are [0, 4), [0, 8), [4, 12); a non-overlapping layout (stride 128) [128, 256).
    {
        inference::EvidenceRecorder recorder;
        const std::vector<std::int64_t> csa_chosen{0, 1, 2};
        const std::vector<float> csa_scores{0.0f, std::log(3.0f), 0.0f};
        recorder.observe({1, 11, csa_chosen, csa_scores, 4, 4});
        const std::vector<std::int64_t> hca_chosen{1};
        const std::vector<float> hca_scores{5.0f, -5.0f};
        recorder.observe({2, 300, hca_chosen, hca_scores, 128, 0});
        const inference::AttentionEvidence hand = recorder.evidence(true);
        CHECK(hand.tokens == 2 && hand.selections == 2);
        if (CHECK(hand.ranges.size() == 4)) {
            CHECK(hand.ranges[0].begin == 0 && hand.ranges[0].end == 4);
            CHECK(hand.ranges[1].begin == 0 && hand.ranges[1].end == 8);
            CHECK(hand.ranges[2].begin == 4 && hand.ranges[2].end == 12);
            CHECK(hand.ranges[3].begin == 128 && hand.ranges[3].end == 256);
            CHECK_CLOSE(hand.ranges[1].weight, 0.6, 1e-6); // softmax over the chosen: 3 / (1 + 3 + 1)
            CHECK_CLOSE(hand.ranges[0].weight, 0.2, 1e-6);
            CHECK_CLOSE(hand.ranges[3].weight, 1.0, 1e-6); // one chosen entry takes the whole selection
        }
        recorder.clear();
        CHECK(recorder.evidence(true).ranges.empty() && recorder.evidence(true).selections == 0);
    }

    // 6. A model without an indexer: "not available", whatever the switch says.
    inference::Engine dense(std::make_unique<NoIndexerModel>());
    dense.set_record_attention_evidence(true);
    const std::vector<model::Token> two{1, 2};
    CHECK(dense.prefill(two).ok());
    CHECK(dense.generate(greedy).ok());
    CHECK(!dense.attention_evidence().available && dense.attention_evidence().ranges.empty());
    return test::finish("attention_evidence");
}
