// The store's side of grounded answers: a corpus loaded back from a session in the store's order with
// its passages intact (citations verify against it), and passages ranked for a question by full text.

#include "app/answers/citation_verifier.h"
#include "app/answers/store_corpus.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/kernels/check.h"

#include <QTemporaryDir>

#include <cstdio>

using namespace lectern::answers;
using lectern::test::addPassages;
using lectern::test::Document;
using lectern::test::makePage;

namespace {

Document harbourReport() {
    Document doc;
    doc.path = QStringLiteral("/docs/b-harbour.pdf");
    doc.format = QStringLiteral("pdf");
    doc.contentHash = QStringLiteral("1111111111111111aaaaaaaaaaaaaaaa");
    doc.pages.append(makePage(
        1, QStringLiteral("The harbour project was delayed by storms.\n\nCranes arrived late."), true));
    doc.pages.append(makePage(2, QStringLiteral("Budget: the project stayed within its budget."), true));
    addPassages(doc, doc.pages[0]);
    addPassages(doc, doc.pages[1]);
    return doc;
}

Document minutes() {
    Document doc;
    doc.path = QStringLiteral("/docs/a-minutes.txt");
    doc.format = QStringLiteral("text");
    doc.contentHash = QStringLiteral("2222222222222222bbbbbbbbbbbbbbbb");
    doc.pages.append(makePage(
        1, QStringLiteral("The board met on Tuesday.\n\nStorms closed the harbour twice in May."), false));
    addPassages(doc, doc.pages[0]);
    return doc;
}

} // namespace

int main() {
    QTemporaryDir directory;
    auto store = lectern::store::Store::open(directory.filePath(QStringLiteral("lectern.sqlite3")));
    if (!CHECK(store.ok())) return lectern::test::finish("answers_store_corpus");
    const qint64 session = *(*store)->createSession(QStringLiteral("s"));
    const qint64 corpus_a = *(*store)->corpus(session, QStringLiteral("A"));
    for (const Document& doc : {harbourReport(), minutes()}) {
        CHECK((*store)->beginFile(corpus_a, doc.path, doc.contentHash).ok());
        CHECK((*store)->storeDocument(corpus_a, doc).ok());
        CHECK((*store)->finishFile(corpus_a, doc.path).ok());
    }
    // A failed file is no part of the corpus.
    CHECK((*store)
              ->recordFailure(corpus_a, "/docs/c-broken.pdf", {}, "3333333333333333cccccccccccccccc",
                              "damaged", "broken")
              .ok());

    auto loaded = loadCorpus(**store, session);
    if (!CHECK(loaded.ok())) return lectern::test::finish("answers_store_corpus");
    const Corpus& corpus = *loaded;
    CHECK(corpus.documents().size() == 2 && corpus.passageCount() == 5);
    // The store's order: by path within the corpus.
    CHECK(corpus.documents()[0].path == "/docs/a-minutes.txt");
    const MarkedPassage* third = corpus.find(3);
    CHECK(third && corpus.passage(*third).text == "The harbour project was delayed by storms.");
    CHECK(corpus.markerOf(QStringLiteral("1111111111111111:2")) == 5);

    // Citations verify against what came back, boxes included.
    const CitationVerifier verifier(corpus);
    Citation citation;
    citation.marker = 3;
    citation.quote = QStringLiteral("delayed by storms");
    const VerifiedCitation verified = verifier.verify(citation);
    CHECK(verified.verification == Verification::Exact && verified.boxes.size() == 1);

    const StoreRanker ranker(**store, session, corpus_a);
    auto ranked = ranker.rank(QStringLiteral("Why was the harbour project delayed?"));
    if (CHECK(ranked.ok() && ranked->size() >= 2)) {
        std::printf("ranked:");
        for (const QString& id : *ranked) std::printf(" %s", qPrintable(id));
        std::printf("\n");
        // Three of the words in one passage beat one in others; every passage with a word is there.
        CHECK(ranked->front() == "1111111111111111:0");
        CHECK(std::find(ranked->begin(), ranked->end(), "2222222222222222:1") != ranked->end());
        CHECK(ranked->back() == "2222222222222222:0"); // only "the"
    }
    auto none = ranker.rank(QStringLiteral("zebra?"));
    CHECK(none.ok() && none->empty());
    return lectern::test::finish("answers_store_corpus");
}
