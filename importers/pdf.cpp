// PDF via Poppler-Qt6: the text layer in Poppler's reading order with word boxes, or OCR for pages without
// one; metadata and the outline.

#include "importers/formats.h"
#include "importers/layout.h"
#include "importers/ocr.h"

#include <QFileInfo>
#include <QThread>
#include <poppler-qt6.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lectern::importers {

namespace {

constexpr int kOcrDpi = 300;
constexpr int kMinPagesPerWorker = 48;
constexpr int kPageBatch = 8;
constexpr int kMaxOutlineEntries = 10000;
constexpr int kMaxOutlineDepth = 32;

void silencePopplerOnce() {
    static std::once_flag once;
    std::call_once(
        once, [] { Poppler::setDebugErrorFunction([](const QString&, const QVariant&) {}, QVariant()); });
}

// A scanned page often carries only a stamped line of real text (a Bates number); below this many
// characters, Auto mode also runs OCR and keeps whichever found more.
constexpr qsizetype kMinTextLayerCharacters = 24;

qsizetype characterCount(const QList<LayoutWord>& words) {
    qsizetype count = 0;
    for (const LayoutWord& word : words) count += word.text.size();
    return count;
}

// Whether a thumbnail of the page shows marks away from the text layer's words: a scanned image under a
// stamped line. Cheap (a few milliseconds at thumbnail resolution), unlike OCR of a page that needs none.
bool hasInkBeyondWords(const Poppler::Page& page, const QList<LayoutWord>& words) {
    constexpr double kDpi = 18;
    constexpr double kInkFraction = 0.005;
    const QImage thumbnail = page.renderToImage(kDpi, kDpi).convertToFormat(QImage::Format_Grayscale8);
    if (thumbnail.isNull()) return false;
    const double scale = kDpi / 72.0;
    QList<QRect> text;
    for (const LayoutWord& word : words) {
        const QRectF r = word.rect;
        text.append(QRectF(r.x() * scale, r.y() * scale, r.width() * scale, r.height() * scale)
                        .toAlignedRect()
                        .adjusted(-1, -1, 1, 1));
    }
    qint64 ink = 0;
    for (int y = 0; y < thumbnail.height(); ++y) {
        const uchar* row = thumbnail.constScanLine(y);
        for (int x = 0; x < thumbnail.width(); ++x) {
            if (row[x] >= 192) continue;
            bool inText = false;
            for (const QRect& r : text) inText = inText || r.contains(x, y);
            ink += inText ? 0 : 1;
        }
    }
    return double(ink) > kInkFraction * thumbnail.width() * thumbnail.height();
}

bool stopRequested(const QVariant& closure) {
    return reinterpret_cast<const std::stop_token*>(closure.value<quintptr>())->stop_requested();
}

// A file cut short loses its cross-reference table and trailer at the end; Poppler would silently make
// do with what it can find, so refuse it here with a message that says what happened.
bool hasEndMarker(const QByteArray& bytes) {
    constexpr qsizetype kTail = 1024;
    return bytes.right(kTail).contains("%%EOF");
}

std::unique_ptr<Poppler::Document> open(const QByteArray& bytes, const QStringList& passwords, bool& locked) {
    std::unique_ptr<Poppler::Document> document = Poppler::Document::loadFromData(bytes);
    locked = document && document->isLocked();
    for (qsizetype i = 0; locked && i < passwords.size(); ++i) {
        const QByteArray password = passwords[i].toUtf8();
        document = Poppler::Document::loadFromData(bytes, password, password);
        locked = !document || document->isLocked();
    }
    return document;
}

// Typeset ligatures (U+FB00..U+FB06: ff, fi, fl, ffi, ffl, long st, st) become their letters, so that
// search and quotations match what a reader types.
QString withoutLigatures(QString text) {
    for (qsizetype i = 0; i < text.size(); ++i) {
        const char16_t c = text.at(i).unicode();
        if (c >= 0xFB00 && c <= 0xFB06) {
            const QString letters = QString(QChar(c)).normalized(QString::NormalizationForm_KC);
            text.replace(i, 1, letters);
            i += letters.size() - 1;
        }
    }
    return text;
}

// Poppler gives words in reading order and which ones end a line; paragraphs are inferred from the gaps
// between lines and from jumps back up the page (a new column or block).
QList<LayoutWord> textLayer(const Poppler::Page& page, const std::stop_token& stop) {
    const auto boxes = page.textList(Poppler::Page::Rotate0, &stopRequested,
                                     QVariant::fromValue(reinterpret_cast<quintptr>(&stop)));
    QList<LayoutWord> words;
    words.reserve(qsizetype(boxes.size()));
    for (size_t i = 0; i < boxes.size(); ++i) {
        const Poppler::TextBox& box = *boxes[i];
        const Poppler::TextBox* following = i + 1 < boxes.size() ? boxes[i + 1].get() : nullptr;
        LayoutWord word{withoutLigatures(box.text()), box.boundingBox(),
                        box.nextWord() == nullptr || box.nextWord() != following, false};
        words.append(word);
    }
    // Paragraph ends: look at consecutive lines.
    qsizetype lineStart = 0;
    QRectF previousLine;
    qsizetype previousLineEnd = -1;
    for (qsizetype i = 0; i < words.size(); ++i) {
        if (!words[i].lineEnd) continue;
        QRectF line;
        for (qsizetype j = lineStart; j <= i; ++j) line = line.united(words[j].rect);
        if (previousLineEnd >= 0) {
            const double height = std::max(previousLine.height(), 1.0);
            const double gap = line.top() - previousLine.bottom();
            const bool horizontallyApart =
                line.left() > previousLine.right() || line.right() < previousLine.left();
            if (gap > 0.9 * height || line.top() < previousLine.top() - 0.5 * height || horizontallyApart ||
                std::abs(line.height() - previousLine.height()) > 0.35 * height)
                words[previousLineEnd].paragraphEnd = true;
        }
        previousLine = line;
        previousLineEnd = i;
        lineStart = i + 1;
    }
    return words;
}

void readOutline(const Poppler::Document& document, QList<OutlineEntry>& outline) {
    struct Pending {
        QVector<Poppler::OutlineItem> items;
        int level;
    };
    QList<Pending> stack{{document.outline(), 0}};
    QList<std::pair<int, qsizetype>> positions{{0, 0}};
    // Depth-first without recursion; bounded in depth and size against hostile outlines.
    while (!positions.isEmpty() && outline.size() < kMaxOutlineEntries) {
        auto& [stackIndex, itemIndex] = positions.back();
        const Pending& pending = stack[stackIndex];
        if (itemIndex >= pending.items.size()) {
            positions.removeLast();
            stack.removeLast();
            continue;
        }
        const Poppler::OutlineItem item = pending.items[itemIndex++];
        OutlineEntry entry{item.name(), 0, pending.level};
        if (const auto destination = item.destination()) entry.page = destination->pageNumber();
        outline.append(entry);
        if (item.hasChildren() && pending.level + 1 < kMaxOutlineDepth) {
            const int level = pending.level + 1;
            stack.append(Pending{item.children(), level});
            positions.append({int(stack.size() - 1), 0});
        }
    }
}

// Reads one page at a time from one Poppler document: the text layer, and OCR where the page needs it.
class PageReader {
public:
    PageReader(Poppler::Document& pdf, const ParseInput& input, QString& ocrError)
        : pdf_(pdf), input_(input), ocrError_(ocrError) {
        pdf_.setRenderHint(Poppler::Document::Antialiasing, true);
        pdf_.setRenderHint(Poppler::Document::TextAntialiasing, true);
    }

    Page read(int index) {
        std::unique_ptr<Poppler::Page> page(pdf_.page(index));
        if (!page) return buildPage(index + 1, {}, {});
        const OcrMode mode = input_.options->ocr;
        QList<LayoutWord> words = mode == OcrMode::On ? QList<LayoutWord>() : textLayer(*page, input_.stop);
        bool fromOcr = false;
        const bool scanned = mode == OcrMode::On ||
                             (mode == OcrMode::Auto && characterCount(words) < kMinTextLayerCharacters &&
                              (words.isEmpty() || hasInkBeyondWords(*page, words)));
        if (scanned && startOcr()) {
            QList<LayoutWord> recognized =
                ocr_->recognize(page->renderToImage(kOcrDpi, kOcrDpi), kOcrDpi, input_.stop);
            if (characterCount(recognized) > characterCount(words)) {
                words = std::move(recognized);
                fromOcr = true;
            }
        }
        Page built = buildPage(index + 1, page->pageSizeF(), words);
        built.ocr = fromOcr && !built.text.isEmpty();
        return built;
    }

private:
    bool startOcr() {
        if (!ocr_ && ocrError_.isEmpty()) {
            ocr_ = std::make_unique<OcrEngine>();
            if (auto started = ocr_->start(input_.options->ocrLanguage); !started)
                ocrError_ = QString::fromStdString(started.error());
        }
        return ocrError_.isEmpty();
    }

    Poppler::Document& pdf_;
    const ParseInput& input_;
    QString& ocrError_;
    std::unique_ptr<OcrEngine> ocr_;
};

} // namespace

ParseResult parsePdf(const ParseInput& input) {
    silencePopplerOnce();
    ParseResult result;
    const QString name = QFileInfo(input.fileName).fileName();
    if (!hasEndMarker(input.bytes)) {
        result.failures.append(
            failureOf(input, FailureKind::Corrupt,
                      QStringLiteral("\"%1\" is cut short: the end of the PDF is missing, so it was "
                                     "probably not fully copied or downloaded. Copy it again.")
                          .arg(name)));
        return result;
    }
    bool locked = false;
    std::unique_ptr<Poppler::Document> pdf = open(input.bytes, input.options->passwords, locked);
    if (!pdf) {
        result.failures.append(failureOf(
            input, FailureKind::Corrupt,
            QStringLiteral(
                "\"%1\" could not be read as a PDF: it is damaged. Open it in a PDF viewer and save a "
                "new copy.")
                .arg(name)));
        return result;
    }
    if (locked) {
        result.failures.append(failureOf(
            input, FailureKind::NeedsPassword,
            input.options->passwords.isEmpty()
                ? QStringLiteral("\"%1\" is password-protected. Import it again with its password.").arg(name)
                : QStringLiteral("\"%1\" is password-protected and none of the given passwords opens it.")
                      .arg(name)));
        return result;
    }
    const int pageCount = pdf->numPages();
    if (pageCount <= 0) {
        result.failures.append(
            failureOf(input, FailureKind::Empty, QStringLiteral("\"%1\" has no pages.").arg(name)));
        return result;
    }
    if (pageCount > input.options->maxPages) {
        result.failures.append(
            failureOf(input, FailureKind::TooLarge,
                      QStringLiteral("\"%1\" has %2 pages, more than the limit of %3. Split it.")
                          .arg(name)
                          .arg(pageCount)
                          .arg(input.options->maxPages)));
        return result;
    }

    Document document;
    document.format = QStringLiteral("pdf");
    document.title = pdf->title().trimmed();
    document.author = pdf->author().trimmed();
    document.created = pdf->creationDate();
    document.modified = pdf->modificationDate();
    readOutline(*pdf, document.outline);

    // Long documents are read in parallel: each worker opens its own Poppler document over the same bytes
    // (one document must not be used from two threads) and takes pages in small batches.
    const int threads = input.options->threads > 0 ? input.options->threads : QThread::idealThreadCount();
    const int workers = std::clamp(pageCount / kMinPagesPerWorker, 1, std::max(threads, 1));
    document.pages.resize(pageCount);
    Page* const pages = document.pages.data(); // detached once here; workers write distinct slots
    std::atomic<int> nextBatch{0};
    QStringList ocrErrors(workers);
    const auto work = [&](int worker, Poppler::Document& own) {
        PageReader reader(own, input, ocrErrors[worker]);
        for (int first = nextBatch.fetch_add(kPageBatch); first < pageCount && !input.stop.stop_requested();
             first = nextBatch.fetch_add(kPageBatch)) {
            for (int index = first; index < std::min(first + kPageBatch, pageCount); ++index) {
                pages[index] = reader.read(index);
                if (input.pagesDone != nullptr) ++*input.pagesDone;
            }
        }
    };
    std::vector<std::thread> helpers;
    std::vector<std::unique_ptr<Poppler::Document>> copies;
    for (int worker = 1; worker < workers; ++worker) {
        bool copyLocked = false;
        copies.push_back(open(input.bytes, input.options->passwords, copyLocked));
        if (copies.back() && !copyLocked) helpers.emplace_back(work, worker, std::ref(*copies.back()));
    }
    work(0, *pdf);
    for (std::thread& helper : helpers) helper.join();
    QString ocrError;
    for (const QString& error : ocrErrors) ocrError = ocrError.isEmpty() ? error : ocrError;
    const OcrMode ocrMode = input.options->ocr;
    if (input.stop.stop_requested()) {
        result.cancelled = true;
        return result;
    }
    bool anyText = false;
    for (const Page& page : document.pages) anyText = anyText || !page.text.isEmpty();
    if (!anyText) {
        QString why = ocrMode == OcrMode::Off
                          ? QStringLiteral(" and OCR is off; turn OCR on to read scanned pages.")
                      : ocrError.isEmpty() ? QStringLiteral(" and OCR found no text on its pages.")
                                           : QStringLiteral("; OCR could not run: ") + ocrError;
        result.failures.append(
            failureOf(input, FailureKind::Empty, QStringLiteral("\"%1\" has no text layer").arg(name) + why));
        return result;
    }
    if (!ocrError.isEmpty()) {
        const qsizetype unread = std::count_if(document.pages.cbegin(), document.pages.cend(),
                                               [](const Page& page) { return page.text.isEmpty(); });
        if (unread > 0)
            result.notes.append(QStringLiteral("%1 page(s) of \"%2\" without a text layer were not read: %3")
                                    .arg(unread)
                                    .arg(name, ocrError));
    }
    markRepeatedLines(document.pages);
    result.documents.append(std::move(document));
    return result;
}

} // namespace lectern::importers
