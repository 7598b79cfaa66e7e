// Comparison planning (app/answers/comparison.h) with DeepSeek-V4's real tokenizer (skipped when it is not
// fetched): "each" gives one prompt per corpus with its own corpus prefix; "both" holds A and B side by
// side with B's markers after A's and a heading per corpus; hand-written model outputs cite passages of
// each side and every citation lands on the right corpus, document and words; a context too small for
// both falls back to "each" with the numbers, and one too small for a corpus alone is an error.

#include "app/answers/comparison.h"
#include "inference/tokenizer/hf_tokenizer_json.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/kernels/check.h"

#include <QFileInfo>

#include <cstdio>
#include <cstdlib>

using namespace lectern::answers;
using lectern::test::addPassages;
using lectern::test::Document;
using lectern::test::makePage;

namespace {

Document lease(const QString& path, const QString& hash, const QString& rent, const QString& term) {
    Document doc;
    doc.path = path;
    doc.title = QStringLiteral("Lease");
    doc.contentHash = hash;
    doc.pages.append(makePage(1,
                              QStringLiteral("The tenant pays a monthly rent of ") + rent +
                                  QStringLiteral(".\n\nThe landlord repairs the roof."),
                              true));
    doc.pages.append(makePage(2, QStringLiteral("The lease runs for ") + term + QStringLiteral("."), true));
    addPassages(doc, doc.pages[0]);
    addPassages(doc, doc.pages[1]);
    return doc;
}

ComparisonCorpora fixture() {
    Document memo;
    memo.path = QStringLiteral("/b/memo.txt");
    memo.contentHash = QStringLiteral("cccccccccccccccccccccccccccccccc");
    memo.pages.append(makePage(1, QStringLiteral("The roof was inspected in May."), false));
    addPassages(memo, memo.pages[0]);
    return {
        std::make_shared<const Corpus>(QList<Document>{
            lease(QStringLiteral("/a/lease.pdf"), QStringLiteral("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                  QStringLiteral("4,000 euros"), QStringLiteral("five years"))}),
        std::make_shared<const Corpus>(QList<Document>{
            lease(QStringLiteral("/b/lease-amended.pdf"), QStringLiteral("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
                  QStringLiteral("4,600 euros"), QStringLiteral("seven years")),
            memo})};
}

// The citations of a hand-written answer, verified as the worker verifies them.
std::vector<VerifiedCitation> cite(const ComparisonAnswer& answer, const QString& text) {
    CitationParser parser;
    std::vector<AnswerPiece> pieces = parser.feed(text);
    for (AnswerPiece& piece : parser.finish()) pieces.push_back(std::move(piece));
    const CitationVerifier verifier(*answer.corpus);
    std::vector<VerifiedCitation> verified;
    for (const AnswerPiece& piece : pieces)
        if (piece.kind == AnswerPiece::Kind::Citation) verified.push_back(verifier.verify(piece.citation));
    return verified;
}

QString documentOf(const ComparisonAnswer& answer, const VerifiedCitation& citation) {
    return citation.passage ? answer.corpus->document(*citation.passage).path : QString();
}

void testEach(const ComparisonCorpora& corpora, const PromptRenderer& renderer) {
    auto plan =
        planComparison(corpora, QStringLiteral("What rent is due?"), CompareMode::Each, renderer, 8192, 256);
    if (!CHECK(plan.ok()) || !CHECK(plan->answers.size() == 2)) return;
    CHECK(plan->mode == CompareMode::Each && plan->fallback.isEmpty());
    const ComparisonAnswer& a = plan->answers[0];
    const ComparisonAnswer& b = plan->answers[1];
    CHECK(a.label == "A" && b.label == "B");
    const QString system_a = a.prompt.messages[0].text(), system_b = b.prompt.messages[0].text();
    // Each corpus alone, numbered from P1, with the single-corpus instructions.
    CHECK(system_a.contains("[P1] The tenant pays a monthly rent of 4,000 euros.") &&
          !system_a.contains("4,600"));
    CHECK(system_b.contains("[P1] The tenant pays a monthly rent of 4,600 euros.") &&
          system_b.contains("[P4] The roof was inspected") && !system_b.contains("4,000"));
    CHECK(!system_a.contains("##### Corpus") && !system_a.contains("corpus B"));
    CHECK(a.rendered.prefix_hash != b.rendered.prefix_hash); // two corpus cache entries
    CHECK(a.rendered.prefix_tokens > 0 && a.rendered.prefix_tokens < a.rendered.tokens.size());
    CHECK(a.prompt_version == PromptTemplates::load()->version);

    // The same marker means a different passage in each answer; each verifies against its own corpus.
    const auto in_a = cite(a, QStringLiteral("Rent is 4,000 euros [P1: \"monthly rent of 4,000 euros\"]."));
    const auto in_b = cite(b, QStringLiteral("Rent is 4,600 euros [P1: \"monthly rent of 4,600 euros\"]; "
                                             "the roof was looked at [P4: \"inspected in May\"]."));
    const auto wrong = cite(b, QStringLiteral("[P1: \"monthly rent of 4,000 euros\"]"));
    if (!CHECK(in_a.size() == 1 && in_b.size() == 2 && wrong.size() == 1)) return;
    CHECK(in_a[0].verification == Verification::Exact && sideOf(a, in_a[0]) == "A" &&
          documentOf(a, in_a[0]) == "/a/lease.pdf");
    CHECK(in_b[0].verification == Verification::Exact && sideOf(b, in_b[0]) == "B" &&
          documentOf(b, in_b[0]) == "/b/lease-amended.pdf");
    CHECK(sideOf(b, in_b[1]) == "B" && documentOf(b, in_b[1]) == "/b/memo.txt");
    CHECK(wrong[0].verification == Verification::NotFound); // A's words are not in B's passage
}

void testBoth(const ComparisonCorpora& corpora, const PromptRenderer& renderer) {
    auto plan = planComparison(corpora, QStringLiteral("How did the rent change?"), CompareMode::Both,
                               renderer, 8192, 256);
    if (!CHECK(plan.ok()) || !CHECK(plan->answers.size() == 1)) return;
    CHECK(plan->mode == CompareMode::Both && plan->fallback.isEmpty());
    const ComparisonAnswer& both = plan->answers[0];
    CHECK(both.label == "A+B");
    CHECK(both.prompt_version == PromptTemplates::loadComparison()->version);
    CHECK(both.prompt_version != PromptTemplates::load()->version);
    const QString system = both.prompt.messages[0].text();
    const QString question = both.prompt.messages[1].text();
    std::printf("--- both: system turn ---\n%s\n--- question ---\n%s\n---\n", qPrintable(system),
                qPrintable(question));
    CHECK(system.contains("corpus A and corpus B") && !system.contains("{{"));
    CHECK(question.contains("How did the rent change?") &&
          question.contains("Compare corpus A and corpus B"));
    // A's passages P1-P3 under A's heading, then B's P4-P7 under B's.
    const QStringList order = {"##### Corpus A: passages P1 to P3 #####",
                               "=== Document 1: Lease (lease.pdf) ===",
                               "[P1] The tenant pays a monthly rent of 4,000 euros.",
                               "[P3] The lease runs for five years.",
                               "##### Corpus B: passages P4 to P7 #####",
                               "=== Document 2: Lease (lease-amended.pdf) ===",
                               "[P4] The tenant pays a monthly rent of 4,600 euros.",
                               "[P6] The lease runs for seven years.",
                               "=== Document 3: memo.txt ===",
                               "[P7] The roof was inspected in May."};
    qsizetype at = 0;
    for (const QString& piece : order) {
        const qsizetype found = system.indexOf(piece, at);
        if (!CHECK(found >= at)) std::fprintf(stderr, "  missing or out of order: %s\n", qPrintable(piece));
        at = std::max(at, found);
    }

    // A model's answer citing both sides: each citation resolves to its own corpus, document and words.
    const auto cited =
        cite(both, QStringLiteral("The rent rose from 4,000 [P1: \"monthly rent of 4,000 euros\"] "
                                  "to 4,600 euros [P4: \"monthly rent of 4,600 euros\"]; the term "
                                  "grew [P3: \"five years\"; P6: \"seven years\"]. The roof was "
                                  "inspected [P7]. Also [P9: \"nothing\"]."));
    if (!CHECK(cited.size() == 6)) return;
    const QStringList sides = {"A", "B", "A", "B", "B", ""};
    const QStringList documents = {"/a/lease.pdf",         "/b/lease-amended.pdf", "/a/lease.pdf",
                                   "/b/lease-amended.pdf", "/b/memo.txt",          ""};
    for (std::size_t i = 0; i < cited.size(); ++i) {
        if (!CHECK(sideOf(both, cited[i]) == sides[qsizetype(i)]))
            std::fprintf(stderr, "  citation %zu: side '%s'\n", i, qPrintable(sideOf(both, cited[i])));
        CHECK(documentOf(both, cited[i]) == documents[qsizetype(i)]);
    }
    CHECK(cited[0].verification == Verification::Exact && cited[1].verification == Verification::Exact);
    // The quote's range is in its own document's page text, with boxes on that page.
    const lectern::importers::Page* page = both.corpus->page(*cited[1].passage);
    CHECK(page && page->text.mid(cited[1].range.start, cited[1].range.end - cited[1].range.start) ==
                      "monthly rent of 4,600 euros");
    CHECK(!cited[1].boxes.isEmpty());
    CHECK(cited[4].verification == Verification::NoQuote);
    CHECK(cited[5].verification == Verification::UnknownPassage);
}

void testBudget(const ComparisonCorpora& corpora, const PromptRenderer& renderer) {
    const QString question = QStringLiteral("How did the rent change?");
    constexpr std::int64_t reserve = 256;
    auto each = planComparison(corpora, question, CompareMode::Each, renderer, 8192, reserve);
    auto both = planComparison(corpora, question, CompareMode::Both, renderer, 8192, reserve);
    if (!CHECK(each.ok() && both.ok())) return;
    const std::int64_t a_total = std::int64_t(each->answers[0].rendered.tokens.size());
    const std::int64_t b_total = std::int64_t(each->answers[1].rendered.tokens.size());
    const std::int64_t both_total = std::int64_t(both->answers[0].rendered.tokens.size());
    std::printf("rendered prompts: A %lld, B %lld, both %lld tokens\n", (long long)a_total,
                (long long)b_total, (long long)both_total);
    CHECK(both_total > std::max(a_total, b_total));

    // Room for each corpus alone, not for both: "both" runs as "each" and says why with the numbers.
    const std::int64_t context = std::max(a_total, b_total) + reserve + 8;
    auto fallback = planComparison(corpora, question, CompareMode::Both, renderer, context, reserve);
    if (!CHECK(fallback.ok())) return;
    std::printf("fallback: %s\n", qPrintable(fallback->fallback));
    CHECK(fallback->mode == CompareMode::Each && fallback->answers.size() == 2);
    const QLocale english(QLocale::English);
    CHECK(fallback->fallback.contains(english.toString(qlonglong(context))));
    CHECK(fallback->fallback.contains(english.toString(qlonglong(both->answers[0].prompt.corpus_tokens))));
    CHECK(fallback->fallback.contains(english.toString(qlonglong(each->answers[0].prompt.corpus_tokens))));
    CHECK(fallback->fallback.contains(english.toString(qlonglong(each->answers[1].prompt.corpus_tokens))));
    CHECK(fallback->fallback.contains("each was asked on its own"));

    // Room for neither: an error naming the corpus and the numbers.
    auto too_small = planComparison(corpora, question, CompareMode::Both, renderer,
                                    std::min(a_total, b_total) - 20, reserve);
    CHECK(!too_small.ok() && too_small.error().find("alone does not fit") != std::string::npos);
    if (!too_small.ok()) std::printf("too small: %s\n", too_small.error().c_str());

    // An empty corpus has nothing to compare.
    auto empty = planComparison({corpora.a, std::make_shared<const Corpus>()}, question, CompareMode::Each,
                                renderer, 8192, reserve);
    CHECK(!empty.ok() && empty.error().find("Corpus B has no imported documents") != std::string::npos);
}

} // namespace

int main() {
    const char* cache = std::getenv("LECTERN_CACHE");
    const std::string path = std::string(cache ? cache : "") + "/tokenizers/deepseek-v4/tokenizer.json";
    if (!cache || !QFileInfo::exists(QString::fromStdString(path))) {
        std::printf("skipped: %s not found (scripts/fetch-models fetches it)\n", path.c_str());
        return 77;
    }
    auto tokenizer = lectern::tokenizer::load_hf_tokenizer(path);
    if (!CHECK(tokenizer.ok())) return lectern::test::finish("answers_comparison");
    CHECK(compareModeNamed("each") == CompareMode::Each && compareModeNamed("both") == CompareMode::Both &&
          !compareModeNamed("all"));
    const ComparisonCorpora corpora = fixture();
    for (const ChatFormat format : {ChatFormat::DeepSeekV4, ChatFormat::ChatMl}) {
        const PromptRenderer renderer(*tokenizer, format, thinksByDefault(format));
        testEach(corpora, renderer);
        testBoth(corpora, renderer);
        testBudget(corpora, renderer);
    }
    return lectern::test::finish("answers_comparison");
}
