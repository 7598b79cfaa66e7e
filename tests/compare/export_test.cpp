// Export: a hand-built two-question conversation with verified and flagged citations, to Markdown and
// PDF; the PDF is read back with Poppler and its footnotes checked for document, page and quote.
#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"
#include "app/export/conversation_export.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <poppler-qt6.h>

#include <memory>

using namespace lectern::exporting;

namespace {

ExportConversation leaseConversation() {
    ExportConversation conversation;
    conversation.title = "Lease review";
    ExportAnswer term;
    term.question = "When does the lease end?";
    term.answer = "The lease ends on 31 March 2027. It may be renewed once for two years.";
    const auto after = [](const QString& text, const char* words) {
        return text.indexOf(words) + qsizetype(strlen(words));
    };
    term.citations = {
        {after(term.answer, "2027."), "Commercial Lease Agreement", "/corpus/lease-agreement.md", 2,
         "ends on 31 March 2027", "exact", true},
        {after(term.answer, "two years."), "Commercial Lease Agreement", "/corpus/lease-agreement.md", 2,
         "renew the Lease once for a further term", "normalized", true},
    };
    ExportAnswer rent;
    rent.question = "What is the rent?";
    rent.answer = "The base rent is $214,000 a year, rising by 4% a year.";
    rent.citations = {
        // Out of order on purpose: notes follow the answer's order.
        {after(rent.answer, "a year, rising by 4% a year."), "Commercial Lease Agreement",
         "/corpus/lease-agreement.md", 3, "increases by 4% on each anniversary", "not-found", false},
        {after(rent.answer, "$214,000"), "Commercial Lease Agreement", "/corpus/lease-agreement.md", 3,
         "The annual base rent is $214,000", "exact", true},
    };
    conversation.answers = {term, rent};
    return conversation;
}

QString pdfText(const QString& path) {
    std::unique_ptr<Poppler::Document> document = Poppler::Document::load(path);
    if (!document || document->isLocked()) return {};
    QString text;
    for (int i = 0; i < document->numPages(); ++i) {
        std::unique_ptr<Poppler::Page> page = document->page(i);
        text += page->text(QRectF()) + u'\n';
    }
    // NFKC: Poppler gives the "fi" ligature of the PDF's font as one character.
    return text.normalized(QString::NormalizationForm_KC).simplified();
}

} // namespace

class ExportTest : public QObject {
    Q_OBJECT
private slots:
    void markdownHasFootnotes() {
        const QString markdown = toMarkdown(leaseConversation());
        QVERIFY(markdown.startsWith("# Lease review\n"));
        QVERIFY(markdown.contains("## Question 1\n\n> When does the lease end?\n"));
        QVERIFY(markdown.contains(
            "The lease ends on 31 March 2027.[^1] It may be renewed once for two years.[^2]"));
        QVERIFY(markdown.contains("The base rent is $214,000[^3] a year, rising by 4% a year.[^4]"));
        QVERIFY(
            markdown.contains("[^1]: **Commercial Lease Agreement** (/corpus/lease-agreement.md), page 2: "
                              "“ends on 31 March 2027” — verified (exact)\n"));
        QVERIFY(
            markdown.contains("[^2]: **Commercial Lease Agreement** (/corpus/lease-agreement.md), page 2: "
                              "“renew the Lease once for a further term” — verified (normalized)\n"));
        QVERIFY(
            markdown.contains("[^3]: **Commercial Lease Agreement** (/corpus/lease-agreement.md), page 3: "
                              "“The annual base rent is $214,000” — verified (exact)\n"));
        QVERIFY(
            markdown.contains("[^4]: **Commercial Lease Agreement** (/corpus/lease-agreement.md), page 3: "
                              "“increases by 4% on each anniversary” — **not verified** (the quote was not "
                              "found in the cited passage)\n"));
        QCOMPARE(markdown.count("[^"), 8);
    }

    void markdownEscapesQuotes() {
        ExportConversation conversation;
        ExportAnswer answer;
        answer.question = "q";
        answer.answer = "a";
        answer.citations = {{1, "notes_v2", "/x/notes_v2.txt", 0, "a *starred*\n[bracket]", "exact", true}};
        conversation.answers = {answer};
        const QString markdown = toMarkdown(conversation);
        QVERIFY(markdown.startsWith("# Lectern conversation\n"));
        QVERIFY(markdown.contains("## Question\n"));
        QVERIFY(markdown.contains(
            R"([^1]: **notes\_v2** (/x/notes\_v2.txt): “a \*starred\* \[bracket\]” — verified)"));
    }

    void filesAreWrittenAndReadBack() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const ExportConversation conversation = leaseConversation();
        const QString md_path = dir.filePath("lease.md");
        QVERIFY(writeMarkdown(md_path, conversation).ok());
        QFile md(md_path);
        QVERIFY(md.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(md.readAll()), toMarkdown(conversation));

        const QString pdf_path = dir.filePath("lease.pdf");
        const auto written = writePdf(pdf_path, conversation);
        QVERIFY2(written.ok(), written.ok() ? "" : written.error().c_str());
        const QString text = pdfText(pdf_path);
        QVERIFY2(!text.isEmpty(), "Poppler read no text from the PDF");
        QVERIFY2(
            text.contains("The lease ends on 31 March 2027.[1] It may be renewed once for two years.[2]"),
            qPrintable(text));
        QVERIFY(text.contains("Sources"));
        QVERIFY(
            text.contains("[1] Commercial Lease Agreement (/corpus/lease-agreement.md), page 2: “ends on 31 "
                          "March 2027” — verified (exact)"));
        QVERIFY(
            text.contains("[3] Commercial Lease Agreement (/corpus/lease-agreement.md), page 3: “The annual "
                          "base rent is $214,000” — verified (exact)"));
        QVERIFY(text.contains(
            "[4] Commercial Lease Agreement (/corpus/lease-agreement.md), page 3: “increases by "
            "4% on each anniversary” — not verified (the quote was not found in the cited passage)"));
        QVERIFY(text.contains("What is the rent?"));
        // Each note is its own paragraph (a line break, read back as a space).
        QVERIFY(text.contains("verified (exact) [2] Commercial Lease Agreement"));
    }

    void unwritablePathIsAClearError() {
        const auto result = writePdf("/nonexistent-folder/x.pdf", leaseConversation());
        QVERIFY(!result.ok());
        QVERIFY(QString::fromStdString(result.error()).contains("Could not write /nonexistent-folder/x.pdf"));
        const auto md = writeMarkdown("/nonexistent-folder/x.md", leaseConversation());
        QVERIFY(!md.ok());
        QVERIFY(!QFile::exists("/nonexistent-folder/x.md"));
    }

    void fromVerifiedCitation() {
        lectern::importers::Document document;
        document.path = "/corpus/lease.md";
        document.title = "Commercial Lease Agreement";
        document.contentHash = "0123456789abcdef0123456789abcdef";
        lectern::importers::Page page;
        page.number = 4;
        page.text = "The annual base rent is $214,000.";
        document.pages = {page};
        lectern::importers::Passage passage;
        passage.id = "0123456789abcdef:0";
        passage.page = 4;
        passage.range = {0, page.text.size()};
        passage.text = page.text;
        document.passages = {passage};
        const lectern::answers::Corpus corpus({document});

        lectern::answers::VerifiedCitation verified;
        verified.citation.marker = 1;
        verified.citation.quote = "base rent is $214,000";
        verified.citation.answer_offset = 12;
        verified.verification = lectern::answers::Verification::Exact;
        verified.passage = corpus.find(1);
        QVERIFY(verified.passage);
        const ExportCitation citation = toExportCitation(verified, corpus);
        QCOMPARE(citation.document, QStringLiteral("Commercial Lease Agreement"));
        QCOMPARE(citation.path, QStringLiteral("/corpus/lease.md"));
        QCOMPARE(citation.page, 4);
        QCOMPARE(citation.answerOffset, 12);
        QCOMPARE(citation.verification, QStringLiteral("exact"));
        QVERIFY(citation.verified);

        lectern::answers::VerifiedCitation unknown;
        unknown.citation.marker = 99;
        unknown.verification = lectern::answers::Verification::UnknownPassage;
        const ExportCitation flagged = toExportCitation(unknown, corpus);
        QVERIFY(!flagged.verified);
        QVERIFY(flagged.document.isEmpty());
        QCOMPARE(flagged.page, 0);
    }
};

QTEST_MAIN(ExportTest)
#include "export_test.moc"
