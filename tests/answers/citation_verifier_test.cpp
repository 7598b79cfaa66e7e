// The citation verifier on hand-written quotes against a small hand-made corpus: each tier (exact,
// normalized, fuzzy), fabricated and paraphrased quotes, markers for missing passages, and the mapping
// to page ranges and word boxes. Prints the similarity of every rejected quote: the numbers behind the
// fuzzy threshold (README.md).

#include "app/answers/citation_verifier.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/kernels/check.h"

#include <QStringList>

#include <cstdio>

using namespace lectern::answers;
using lectern::importers::Document;
using lectern::importers::Page;
using lectern::importers::TextRange;
using lectern::test::addPassages;
using lectern::test::makePage;

namespace {

const QString kReport = QStringLiteral(
    "Annual report 2023.\n\n"                                                              // P1
    "Revenue grew by 12% in 2023, driven by the inter-\nnational business and a “strong” " // P2
    "ﬁnancial year 2019–2020 that carried over.\n\n"
    "The rnodel was trained on 3 bi11ion tokens of curated web text over six weeks.\n\n" // P3
    "Operating costs fell slightly while headcount stayed flat; management expects the trend to "
    "continue into the next fiscal year, subject to market conditions and regulatory approval of the "
    "pending acquisition in the northern region.\n\n" // P4
    "Closing remarks.");                              // P5

const QString kNotes = QStringLiteral("A plain-text note without geometry: the meeting moved to Tuesday.");

Corpus makeCorpus() {
    Document report;
    report.path = QStringLiteral("/docs/report.pdf");
    report.format = QStringLiteral("pdf");
    report.contentHash = QStringLiteral("0123456789abcdef0123456789abcdef");
    report.pages.append(makePage(1, kReport, true));
    addPassages(report, report.pages[0]);
    Document notes;
    notes.path = QStringLiteral("/docs/notes.txt");
    notes.format = QStringLiteral("text");
    notes.contentHash = QStringLiteral("fedcba9876543210fedcba9876543210");
    notes.pages.append(makePage(1, kNotes, false));
    addPassages(notes, notes.pages[0]);
    return Corpus({report, notes});
}

Citation citation(int marker, const char* quote) {
    Citation c;
    c.marker = marker;
    c.quote = QString::fromUtf8(quote);
    return c;
}

VerifiedCitation expectTier(const CitationVerifier& verifier, int marker, const char* quote,
                            Verification expected) {
    const VerifiedCitation result = verifier.verify(citation(marker, quote));
    if (!CHECK(result.verification == expected))
        std::fprintf(stderr, "  P%d \"%s\": got %s (similarity %.3f), expected %s\n", marker, quote,
                     qPrintable(toString(result.verification)), result.similarity,
                     qPrintable(toString(expected)));
    return result;
}

QString highlighted(const VerifiedCitation& result) {
    return kReport.mid(result.range.start, result.range.end - result.range.start);
}

void testTiers(const CitationVerifier& verifier) {
    auto r = expectTier(verifier, 2, "Revenue grew by 12% in 2023", Verification::Exact);
    CHECK(highlighted(r) == "Revenue grew by 12% in 2023");
    CHECK(r.similarity == 1.0);
    CHECK(r.boxes.size() == 1); // one line: six word boxes merged into one
    if (!r.boxes.isEmpty())
        CHECK(r.boxes[0] == QRectF(72, 96, 6.0 * 28, 10)); // third line; whole words: "2023,"

    r = expectTier(verifier, 2, "revenue  GREW by\n12%", Verification::Normalized);
    CHECK(highlighted(r) == "Revenue grew by 12%");
    r = expectTier(verifier, 2, "the international business", Verification::Normalized);
    CHECK(highlighted(r) == "the inter-\nnational business");
    CHECK(r.boxes.size() == 2); // the quote spans a line break
    r = expectTier(verifier, 2, "a \"strong\" financial year 2019-2020", Verification::Normalized);
    CHECK(highlighted(r) == "a “strong” ﬁnancial year 2019–2020");
    r = expectTier(verifier, 2, "Revenue grew ... that carried over.", Verification::Normalized);
    CHECK(highlighted(r).startsWith("Revenue grew") && highlighted(r).endsWith("carried over."));
    expectTier(verifier, 2, "carried over … Revenue grew", Verification::NotFound); // pieces out of order

    // OCR slips in the page ("rnodel", "bi11ion") against a clean quote.
    r = expectTier(verifier, 3, "The model was trained on 3 billion tokens", Verification::Fuzzy);
    CHECK(r.similarity >= CitationVerifier::kFuzzyThreshold && r.similarity < 1.0);
    CHECK(highlighted(r) == "The rnodel was trained on 3 bi11ion tokens");
    std::printf("accepted fuzzy at similarity %.3f (OCR slips in the page)\n", r.similarity);
    // Slips in the quote itself.
    r = expectTier(verifier, 4,
                   "managment expects the trend to continue into the next fiscal year, subject to "
                   "market conditons",
                   Verification::Fuzzy);
    CHECK(highlighted(r).startsWith("management expects") && highlighted(r).endsWith("market conditions"));
    std::printf("accepted fuzzy at similarity %.3f (typos in the quote)\n", r.similarity);

    // A quote running over the passage boundary still lands; one from a passage far away does not.
    r = expectTier(verifier, 3, "over six weeks. Operating costs fell", Verification::Normalized);
    expectTier(verifier, 1, "Closing remarks.", Verification::NotFound);
    expectTier(verifier, 5, "Closing remarks.", Verification::Exact);

    // Short quotes never match fuzzily.
    expectTier(verifier, 3, "six weaks", Verification::NotFound);

    // Reflowable text: verified, no boxes.
    r = expectTier(verifier, 6, "the meeting moved to Tuesday", Verification::Exact);
    CHECK(r.boxes.isEmpty());
    CHECK(r.passage && r.passage->document == 1);

    r = expectTier(verifier, 99, "anything", Verification::UnknownPassage);
    CHECK(r.passage == nullptr);
    CHECK(r.range.end == r.range.start && r.boxes.isEmpty());
    r = expectTier(verifier, 0, "anything", Verification::UnknownPassage);
    expectTier(verifier, 4, "", Verification::NoQuote);
    expectTier(verifier, 4, "  ...  ", Verification::NoQuote);
}

// Fabrications and paraphrases of the cited passage must fall below the threshold; their similarities
// are printed, as the evidence for it.
void testRejections(const CitationVerifier& verifier) {
    const char* rejected[] = {
        "Operating costs rose sharply as headcount doubled across all regions",  // fabricated
        "management believes the trend will persist next year if markets allow", // paraphrase
        "Costs went down a little and the number of staff did not change",       // paraphrase
        "the pending merger in the southern region was rejected by regulators",  // contradicts
        "Operating costs fell a little while headcount remained flat",           // close paraphrase
    };
    double highest = 0.0;
    for (const char* quote : rejected) {
        const VerifiedCitation r = expectTier(verifier, 4, quote, Verification::NotFound);
        CHECK(r.similarity < CitationVerifier::kFuzzyThreshold);
        CHECK(r.boxes.isEmpty());
        highest = std::max(highest, r.similarity);
        std::printf("rejected at similarity %.3f: \"%s\"\n", r.similarity, quote);
    }
    std::printf("highest rejected similarity %.3f, threshold %.2f\n", highest,
                CitationVerifier::kFuzzyThreshold);
    // Close enough by characters, but a word that carries meaning changed, was added or was dropped.
    const char* changed_words[] = {
        "management expects the trend to reverse in the next fiscal year",
        "Operating costs did not fall slightly while headcount stayed flat",
        "expects the trend to continue into the next fiscal year, subject to conditions",
        "Revenue grew by 15% in 2023",
    };
    for (const char* quote : changed_words) {
        const VerifiedCitation r =
            expectTier(verifier, quote[0] == 'R' ? 2 : 4, quote, Verification::NotFound);
        std::printf("rejected by the word check at similarity %.3f: \"%s\"\n", r.similarity, quote);
    }
    // Verbatim, but from P2 two passages away: the match must overlap the cited passage.
    expectTier(verifier, 4, "Revenue grew by 12% in 2023, driven by the international business",
               Verification::NotFound);
}

void testBoxesForRange() {
    const Page page = makePage(1, QStringLiteral("one two three\nfour five"), true);
    const QList<QRectF> boxes = boxesFor(page, TextRange{4, 18}); // "two three\nfour"
    CHECK(boxes.size() == 2);
    if (boxes.size() == 2) {
        CHECK(boxes[0] == QRectF(72 + 24, 72, 6.0 * 9, 10));
        CHECK(boxes[1] == QRectF(72, 84, 24, 10));
    }
}

} // namespace

int main() {
    const Corpus corpus = makeCorpus();
    CHECK(corpus.passageCount() == 6);
    CHECK(corpus.markerOf(QStringLiteral("0123456789abcdef:2")) == 3);
    const CitationVerifier verifier(corpus);
    testTiers(verifier);
    testRejections(verifier);
    testBoxesForRange();
    return lectern::test::finish("answers_citation_verifier");
}
