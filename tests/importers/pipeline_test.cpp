// The pipeline: a folder of good and hostile files (each failure its own, the rest intact), duplicates,
// unchanged and changed files on re-import, include/exclude, cancel and resume, progress.

#include "fixtures.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTest>

#include <unistd.h>

using namespace lectern::importers;

namespace {

QByteArray goodPdf(const QString& text) {
    return fixtures::drawPdf({{{{72, 100}, 12, text}}});
}

// The outcome for `path`; an empty path when there is none.
FileOutcome outcomeOf(const ImportReport& report, const QString& path) {
    for (const FileOutcome& outcome : report.files) {
        if (outcome.path == path) return outcome;
    }
    return {};
}

QByteArray readFixture(const char* name) {
    QFile file(QStringLiteral(LECTERN_TEST_DATA "/importers/") + QLatin1String(name));
    if (!file.open(QIODevice::ReadOnly)) qFatal("missing fixture %s", name);
    return file.readAll();
}

// A PDF whose cross-reference offsets all point to the wrong places (Poppler rebuilds the table).
QByteArray brokenXrefPdf() {
    fixtures::HandPdf pdf;
    pdf.pages.append({612, 792, 0, {{{72, 100}, 12, QStringLiteral("Recovered despite a broken xref.")}}});
    QByteArray bytes = fixtures::writeHandPdf(pdf);
    const qsizetype xref = bytes.indexOf("xref\n");
    for (qsizetype i = bytes.indexOf("0000000", xref + 20); i > 0 && i < bytes.indexOf("trailer"); i += 20)
        bytes.replace(i, 10, "0000000003");
    return bytes;
}

QByteArray randomBytes(qsizetype size) {
    QByteArray bytes(size, Qt::Uninitialized);
    QRandomGenerator generator(42);
    for (char& c : bytes) c = char(generator.bounded(256));
    return bytes;
}

QByteArray png() {
    QImage image(8, 8, QImage::Format_RGB32);
    image.fill(Qt::red);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

} // namespace

class PipelineTest : public QObject {
    Q_OBJECT

private slots:
    void hostileFolder() {
        QTemporaryDir dir;
        const QString good =
            fixtures::writeFile(dir, QStringLiteral("good.pdf"), goodPdf(QStringLiteral("Good text.")));
        const QString text = fixtures::writeFile(dir, QStringLiteral("notes/plain.txt"), "Plain notes.\n");
        const QString empty = fixtures::writeFile(dir, QStringLiteral("zero.pdf"), QByteArray());
        const QString random = fixtures::writeFile(dir, QStringLiteral("random.pdf"), randomBytes(4096));
        const QByteArray whole = goodPdf(QStringLiteral("Truncated."));
        const QString truncated =
            fixtures::writeFile(dir, QStringLiteral("truncated.pdf"), whole.left(whole.size() / 2));
        const QString xref = fixtures::writeFile(dir, QStringLiteral("xref.pdf"), brokenXrefPdf());
        const QString encrypted =
            fixtures::writeFile(dir, QStringLiteral("encrypted.pdf"), readFixture("encrypted.pdf"));
        const QString image = fixtures::writeFile(dir, QStringLiteral("image.pdf"), png());
        const QString bomb = fixtures::writeFile(
            dir, QStringLiteral("bomb.docx"),
            fixtures::zipArchive({{QStringLiteral("word/document.xml"), QByteArray(16 << 20, 'a')}}));
        const QString notZip = fixtures::writeFile(dir, QStringLiteral("notzip.docx"), "PK but not really");
        QByteArray deepHtml;
        for (int i = 0; i < 100000; ++i) deepHtml += "<b>";
        deepHtml += "deep";
        const QString deep = fixtures::writeFile(dir, QStringLiteral("deep.html"), deepHtml);
        const QString invalid =
            fixtures::writeFile(dir, QStringLiteral("invalid.txt"), "bad \xC3\x28 utf8 \xFF\n");
        QDir(dir.path()).mkpath(QStringLiteral("loop"));
        QVERIFY(
            QFile::link(dir.path() + QStringLiteral("/loop"), dir.path() + QStringLiteral("/loop/again")));
        QVERIFY(symlink("self", qPrintable(dir.path() + QStringLiteral("/self"))) == 0);

        ImportOptions options;
        options.maxExpandedBytes = 8 << 20;
        MemorySink sink;
        const ImportReport report = importPaths({dir.path()}, options, sink);
        QVERIFY(!report.cancelled);

        const auto expectImported = [&](const QString& path, const QString& contains) {
            const FileOutcome outcome = outcomeOf(report, path);
            QVERIFY2(!outcome.path.isEmpty(), qPrintable(path));
            QVERIFY2(outcome.status == FileStatus::Imported,
                     qPrintable(path + QStringLiteral(": ") + outcome.error));
            QVERIFY(sink.documents.value(path).pages.value(0).text.contains(contains));
            QCOMPARE(sink.finished.value(path), sink.documents.value(path).contentHash);
        };
        const auto expectFailed = [&](const QString& path, FailureKind kind, const QString& says) {
            const FileOutcome outcome = outcomeOf(report, path);
            QVERIFY2(!outcome.path.isEmpty(), qPrintable(path));
            QCOMPARE(outcome.status, FileStatus::Failed);
            QVERIFY2(sink.failures.contains(path), qPrintable(path));
            QVERIFY2(sink.failures.value(path).kind == kind,
                     qPrintable(path + QStringLiteral(": ") + outcome.error));
            QVERIFY2(outcome.error.contains(says, Qt::CaseInsensitive), qPrintable(outcome.error));
            QVERIFY(!sink.documents.contains(path));
            QVERIFY(!sink.finished.contains(path));
        };
        expectImported(good, QStringLiteral("Good text."));
        expectImported(text, QStringLiteral("Plain notes."));
        expectImported(xref, QStringLiteral("Recovered despite a broken xref."));
        expectImported(deep, QStringLiteral("deep"));
        expectImported(invalid, QStringLiteral("bad \u00c3( utf8 \u00ff"));
        expectFailed(empty, FailureKind::Empty, QStringLiteral("empty (0 bytes)"));
        expectFailed(random, FailureKind::Corrupt, QStringLiteral("is not a PDF"));
        expectFailed(truncated, FailureKind::Corrupt, QStringLiteral("cut short"));
        expectFailed(encrypted, FailureKind::NeedsPassword, QStringLiteral("password"));
        expectFailed(image, FailureKind::Unsupported, QStringLiteral("PNG image although it is named .pdf"));
        expectFailed(bomb, FailureKind::TooLarge, QStringLiteral("zip bomb"));
        expectFailed(notZip, FailureKind::Corrupt, QStringLiteral("not a ZIP archive"));
        expectFailed(dir.path() + QStringLiteral("/loop/again"), FailureKind::Unreadable,
                     QStringLiteral("loop"));
        expectFailed(dir.path() + QStringLiteral("/self"), FailureKind::Unreadable,
                     QStringLiteral("symbolic link"));
        QCOMPARE(report.files.size(), 14);
    }

    void duplicatesChangesAndReimport() {
        QTemporaryDir dir;
        const QString a = fixtures::writeFile(dir, QStringLiteral("a.txt"), "Same content.\n");
        const QString b = fixtures::writeFile(dir, QStringLiteral("b/copy.txt"), "Same content.\n");
        const QString c = fixtures::writeFile(dir, QStringLiteral("c.md"), "# Other\n\nDifferent.\n");
        MemorySink sink;
        ImportReport report = importPaths({dir.path()}, {}, sink);
        QCOMPARE(outcomeOf(report, a).status, FileStatus::Imported);
        QCOMPARE(outcomeOf(report, b).status, FileStatus::Duplicate);
        QCOMPARE(sink.duplicates.value(b), a);
        QCOMPARE(sink.documentsStored, 2);

        report = importPaths({dir.path()}, {}, sink);
        for (const FileOutcome& outcome : report.files) QCOMPARE(outcome.status, FileStatus::Unchanged);
        QCOMPARE(sink.documentsStored, 2);

        fixtures::writeFile(dir, QStringLiteral("c.md"), "# Other\n\nChanged now.\n");
        report = importPaths({dir.path()}, {}, sink);
        QCOMPARE(outcomeOf(report, c).status, FileStatus::Imported);
        QCOMPARE(outcomeOf(report, a).status, FileStatus::Unchanged);
        QCOMPARE(sink.documentsStored, 3);
        QVERIFY(sink.documents.value(c).pages[0].text.contains(QStringLiteral("Changed now.")));

        // A new file with bytes already imported under another name.
        const QString d = fixtures::writeFile(dir, QStringLiteral("d.txt"), "Same content.\n");
        report = importPaths({dir.path()}, {}, sink);
        QCOMPARE(outcomeOf(report, d).status, FileStatus::Duplicate);
        QCOMPARE(sink.duplicates.value(d), a);
    }

    void includeAndExclude() {
        QTemporaryDir dir;
        const QString keep = fixtures::writeFile(dir, QStringLiteral("keep.txt"), "keep\n");
        fixtures::writeFile(dir, QStringLiteral("skip.md"), "# skip\n");
        fixtures::writeFile(dir, QStringLiteral("drafts/old.txt"), "old\n");
        fixtures::writeFile(dir, QStringLiteral(".hidden.txt"), "hidden\n");
        ImportOptions options;
        options.include = {QStringLiteral("*.txt")};
        options.exclude = {QStringLiteral("drafts")};
        MemorySink sink;
        const ImportReport report = importPaths({dir.path()}, options, sink);
        QCOMPARE(report.files.size(), 1);
        QCOMPARE(report.files[0].path, keep);
    }

    void linkedFoldersAreFollowedOnce() {
        QTemporaryDir elsewhere;
        const QString target =
            fixtures::writeFile(elsewhere, QStringLiteral("exhibit.txt"), "Exhibit text.\n");
        QTemporaryDir dir;
        QVERIFY(QFile::link(elsewhere.path(), dir.path() + QStringLiteral("/first-link")));
        QVERIFY(QFile::link(elsewhere.path(), dir.path() + QStringLiteral("/second-link")));
        MemorySink sink;
        const ImportReport report = importPaths({dir.path()}, {}, sink);
        QCOMPARE(report.files.size(), 1);
        QCOMPARE(report.files[0].path, target);
        QCOMPARE(report.files[0].status, FileStatus::Imported);
    }

    void cancelThenResume() {
        QTemporaryDir dir;
        const int count = 12;
        for (int i = 0; i < count; ++i)
            fixtures::writeFile(dir, QStringLiteral("doc%1.pdf").arg(i, 2, 10, QLatin1Char('0')),
                                goodPdf(QStringLiteral("Document number %1.").arg(i)));
        MemorySink sink;
        std::stop_source stop;
        ImportOptions options;
        options.threads = 1;
        int progressCalls = 0;
        ImportProgress last;
        const ImportReport cancelled = importPaths(
            {dir.path()}, options, sink,
            [&](const ImportProgress& progress) {
                ++progressCalls;
                last = progress;
                QCOMPARE(progress.filesTotal, count);
                if (progress.filesDone >= 3) stop.request_stop();
            },
            stop.get_token());
        QVERIFY(cancelled.cancelled);
        int imported = 0;
        for (const FileOutcome& outcome : cancelled.files) {
            QVERIFY(outcome.status == FileStatus::Imported || outcome.status == FileStatus::Cancelled);
            imported += outcome.status == FileStatus::Imported ? 1 : 0;
        }
        QVERIFY(imported >= 3 && imported < count);
        QCOMPARE(sink.documents.size(), imported);
        QVERIFY(progressCalls > 0);

        // A crash after beginFile() and before finishFile(): that file is not complete either.
        const QString crashed = sink.finished.keys().value(0);
        sink.finished.remove(crashed);

        const int storedBefore = sink.documentsStored;
        ImportProgress final;
        const ImportReport resumed =
            importPaths({dir.path()}, {}, sink, [&](const ImportProgress& progress) { final = progress; });
        QVERIFY(!resumed.cancelled);
        int redone = 0;
        for (const FileOutcome& outcome : resumed.files) {
            QVERIFY(outcome.status == FileStatus::Imported || outcome.status == FileStatus::Unchanged);
            redone += outcome.status == FileStatus::Imported ? 1 : 0;
        }
        QCOMPARE(redone, count - imported + 1);
        QCOMPARE(sink.documentsStored, storedBefore + redone);
        QCOMPARE(sink.documents.size(), count);
        QCOMPARE(final.filesDone, count);
        QCOMPARE(final.bytesDone, final.bytesTotal);
        QCOMPARE(final.pagesDone, qint64(redone));
    }
};

QTEST_MAIN(PipelineTest)
#include "pipeline_test.moc"
