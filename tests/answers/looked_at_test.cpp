// "Looked at" passages from hand-made evidence: a range's weight spreads evenly over its tokens and each
// passage gets the part inside its own tokens (ranges across a passage boundary split by overlap,
// overlapping ranges add up), shares are of all the recorded weight (instructions and answer tokens
// included), the order is by weight, cited passages are kept and marked, the limit holds, and passages
// without weight, unknown markers and empty evidence give nothing.
#include "app/answers/looked_at.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/kernels/check.h"

using namespace lectern;
using namespace lectern::answers;

namespace {

Corpus makeCorpus() {
    test::Document doc;
    doc.path = QStringLiteral("/docs/lease.txt");
    doc.contentHash = QStringLiteral("abcdefabcdefabcdefabcdefabcdefab");
    doc.pages.append(test::makePage(1, QStringLiteral("First.\n\nSecond.\n\nThird.\n\nFourth."), false));
    test::addPassages(doc, doc.pages[0]);
    return Corpus({doc});
}

inference::EvidenceRange range(std::int64_t begin, std::int64_t end, double weight) {
    return {begin, end, 1, weight};
}

const LookedAtPassage* find(const QList<LookedAtPassage>& list, int marker) {
    for (const LookedAtPassage& p : list)
        if (p.marker == marker) return &p;
    return nullptr;
}

} // namespace

int main() {
    const Corpus corpus = makeCorpus();
    CHECK(corpus.passageCount() == 4);
    // Instructions in tokens [0, 10); P1 [10, 20), P2 [20, 28), P3 [28, 40), P4 [40, 44); the question
    // and the answer after 44.
    const std::vector<PassageTokens> passages{{1, 10, 20}, {2, 20, 28}, {3, 28, 40}, {4, 40, 44}};

    inference::AttentionEvidence evidence;
    evidence.available = true;
    evidence.ranges = {
        range(4, 12, 2.0),  // 2 of its 8 tokens in P1: 0.5; the rest on the instructions
        range(16, 24, 4.0), // across P1 | P2: 2.0 each
        range(20, 28, 1.0), // all in P2 (overlaps the range before)
        range(44, 52, 1.0), // the question and the answer: no passage
    };
    evidence.selections = 8;
    const QList<LookedAtPassage> looked = lookedAtPassages(evidence, passages, corpus, {2});
    if (CHECK(looked.size() == 2)) {
        CHECK(looked[0].marker == 2 && looked[1].marker == 1);
        CHECK_CLOSE(looked[0].weight, 3.0 / 8.0, 1e-12);
        CHECK_CLOSE(looked[1].weight, 2.5 / 8.0, 1e-12);
        CHECK(looked[0].cited && !looked[1].cited);
        CHECK(looked[0].passage_id == corpus.passage(*corpus.find(2)).id);
        CHECK(looked[1].passage_id == QStringLiteral("abcdefabcdefabcd:0"));
    }
    CHECK(!find(looked, 3) && !find(looked, 4)); // no weight: not listed

    // Exact boundaries: a range ending where P3 begins gives P3 nothing; one starting at P4's last token
    // gives P4 one token's share.
    evidence.ranges = {range(24, 28, 1.0), range(43, 47, 4.0)};
    const QList<LookedAtPassage> edges = lookedAtPassages(evidence, passages, corpus, {});
    CHECK(edges.size() == 2 && find(edges, 2) && find(edges, 4) && !find(edges, 3));
    if (find(edges, 4)) CHECK_CLOSE(find(edges, 4)->weight, 1.0 / 5.0, 1e-12);
    if (find(edges, 2)) CHECK_CLOSE(find(edges, 2)->weight, 1.0 / 5.0, 1e-12);

    // The limit, and a marker that names no passage of the corpus.
    evidence.ranges = {range(10, 44, 34.0)};
    CHECK(lookedAtPassages(evidence, passages, corpus, {}, 4).size() == 4);
    const QList<LookedAtPassage> two = lookedAtPassages(evidence, passages, corpus, {}, 2);
    CHECK(two.size() == 2 && two[0].marker == 3 && two[1].marker == 1); // 12 and 10 tokens
    const std::vector<PassageTokens> unknown{{9, 10, 44}};
    CHECK(lookedAtPassages(evidence, unknown, corpus, {}).isEmpty());

    // No evidence (recording off, or a dense model).
    CHECK(lookedAtPassages(inference::AttentionEvidence{}, passages, corpus, {}).isEmpty());
    return test::finish("answers_looked_at");
}
