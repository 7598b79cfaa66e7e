// Pages per second importing multi-page PDFs (text, reading order, word boxes, passages) against
// `pdftotext` (poppler-utils) on the same files, one process or thread at a time and all cores at once;
// then the peak memory of importing one 5,000-page PDF, measured in a child process.
//
//   importers_pdf [--files N] [--pages P] [--big-pages B]     (defaults 24, 40, 5000)

#include "importers/pipeline.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFont>
#include <QGuiApplication>
#include <QPainter>
#include <QPdfWriter>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>

#include <cstdio>
#include <sys/resource.h>

using namespace lectern::importers;
using lectern::Result;

namespace {

// Counts what the pipeline delivers and keeps nothing, so memory reflects the import alone.
class CountingSink : public ImportSink {
public:
    bool isComplete(const QString&, const QString&) override { return false; }
    QString pathWithContent(const QString&) override { return {}; }
    void beginFile(const QString&, const QString&) override {}
    Result<void> storeDocument(const Document& document) override {
        pages += document.pages.size();
        passages += document.passages.size();
        for (const Page& page : document.pages) words += page.words.size();
        return {};
    }
    void recordFailure(const FileFailure& failure) override {
        std::fprintf(stderr, "failed: %s\n", qPrintable(failure.message));
    }
    void recordDuplicate(const QString&, const QString&, const QString&) override {}
    void finishFile(const QString&, const QString&) override {}

    qint64 pages = 0;
    qint64 passages = 0;
    qint64 words = 0;
};

const QStringList kWords =
    QStringLiteral("the agreement shall terminate upon written notice by either party and any "
                   "obligations accrued prior to termination survive including confidentiality "
                   "indemnification payment of fees and the resolution of disputes under this clause")
        .split(QLatin1Char(' '));

void writePdf(const QString& path, int pages, int seed) {
    QPdfWriter writer(path);
    writer.setResolution(72);
    writer.setPageSize(QPageSize(QPageSize::Letter));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    QPainter painter(&writer);
    QFont font(QStringLiteral("DejaVu Serif"));
    font.setPixelSize(10);
    painter.setFont(font);
    quint32 state = quint32(seed) * 2654435761u + 1;
    for (int page = 0; page < pages; ++page) {
        if (page > 0) writer.newPage();
        painter.drawText(QPointF(72, 40), QStringLiteral("CONFIDENTIAL - Production %1").arg(seed));
        for (int line = 0; line < 52; ++line) {
            QString text;
            for (int word = 0; word < 13; ++word) {
                state = state * 1664525u + 1013904223u;
                text += kWords[int(state >> 8) % kWords.size()] + QLatin1Char(' ');
            }
            painter.drawText(QPointF(72, 70 + line * 13), text);
        }
        painter.drawText(QPointF(290, 770), QString::number(page + 1));
    }
}

double pdftotextSeconds(const QStringList& files, int parallel) {
    QElapsedTimer timer;
    timer.start();
    QList<QProcess*> running;
    qsizetype next = 0;
    while (next < files.size() || !running.isEmpty()) {
        while (next < files.size() && running.size() < parallel) {
            auto* process = new QProcess;
            process->start(QStringLiteral("pdftotext"),
                           {QStringLiteral("-q"), files[next++], QStringLiteral("-")});
            process->closeReadChannel(QProcess::StandardOutput);
            running.append(process);
        }
        running.front()->waitForFinished(-1);
        delete running.takeFirst();
    }
    return timer.elapsed() / 1000.0;
}

double importSeconds(const QStringList& files, int threads, CountingSink& sink) {
    ImportOptions options;
    options.threads = threads;
    options.ocr = OcrMode::Off;
    QElapsedTimer timer;
    timer.start();
    const ImportReport report = importPaths(files, options, sink);
    for (const FileOutcome& outcome : report.files) {
        if (outcome.status != FileStatus::Imported)
            std::fprintf(stderr, "not imported: %s %s\n", qPrintable(outcome.path),
                         qPrintable(outcome.error));
    }
    return timer.elapsed() / 1000.0;
}

long peakKiB() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

int argument(const QStringList& arguments, const QString& name, int fallback) {
    const qsizetype at = arguments.indexOf(name);
    return at >= 0 && at + 1 < arguments.size() ? arguments[at + 1].toInt() : fallback;
}

} // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen"); // no display needed
    QGuiApplication app(argc, argv);             // QPdfWriter needs fonts
    const QStringList arguments = app.arguments();

    if (arguments.size() == 3 && arguments[1] == QLatin1String("--import-one")) {
        CountingSink sink;
        const long before = peakKiB();
        const double seconds = importSeconds({arguments[2]}, 0, sink);
        std::printf("%lld %lld %.3f %ld %ld\n", sink.pages, sink.passages, seconds, before, peakKiB());
        return 0;
    }

    const int files = argument(arguments, QStringLiteral("--files"), 24);
    const int pages = argument(arguments, QStringLiteral("--pages"), 40);
    const int bigPages = argument(arguments, QStringLiteral("--big-pages"), 5000);
    QTemporaryDir dir;
    QStringList paths;
    for (int i = 0; i < files; ++i) {
        paths.append(dir.filePath(QStringLiteral("production-%1.pdf").arg(i, 3, 10, QLatin1Char('0'))));
        writePdf(paths.back(), pages, i);
    }
    const double totalPages = double(files) * pages;
    const int cores = QThread::idealThreadCount();
    std::printf("%d PDFs x %d pages (%.0f pages), %d cores\n", files, pages, totalPages, cores);

    for (const int parallel : {1, cores}) {
        pdftotextSeconds(paths.mid(0, 2), parallel); // warm the page cache and the binary
        const double baseline = pdftotextSeconds(paths, parallel);
        CountingSink sink;
        const double ours = importSeconds(paths, parallel, sink);
        std::printf("%2d at a time: pdftotext %7.1f pages/s | lectern %7.1f pages/s (%lld words with boxes, "
                    "%lld passages) | ratio %.2f\n",
                    parallel, totalPages / baseline, totalPages / ours, sink.words, sink.passages,
                    baseline / ours);
    }

    if (bigPages > 0) {
        const QString big = dir.filePath(QStringLiteral("big.pdf"));
        writePdf(big, bigPages, 99);
        QProcess child;
        child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--import-one"), big});
        child.waitForFinished(-1);
        const QList<QByteArray> fields = child.readAllStandardOutput().trimmed().split(' ');
        if (fields.size() != 5) {
            std::fprintf(stderr, "the %d-page import failed: %s\n", bigPages,
                         child.readAllStandardError().constData());
            return 1;
        }
        std::printf(
            "%d-page PDF (%.1f MB): %s pages, %s passages in %s s; peak memory %.0f MiB (%.0f MiB before "
            "the import)\n",
            bigPages, QFile(big).size() / 1e6, fields[0].constData(), fields[1].constData(),
            fields[2].constData(), fields[4].toDouble() / 1024, fields[3].toDouble() / 1024);
    }
    return 0;
}
