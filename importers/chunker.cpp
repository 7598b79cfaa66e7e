#include "importers/chunker.h"

#include <QTextBoundaryFinder>

#include <algorithm>

namespace lectern::importers {

namespace {

struct Unit {
    TextRange range;
    bool startsParagraph = false;
};

qsizetype skipSpace(const QString& text, qsizetype from, qsizetype end) {
    while (from < end && text.at(from).isSpace()) ++from;
    return from;
}

qsizetype trimSpaceBack(const QString& text, qsizetype start, qsizetype end) {
    while (end > start && text.at(end - 1).isSpace()) --end;
    return end;
}

// Pieces of [start, end) ending at boundaries of `type`, none longer than `maxChars` unless one
// boundary-free run is (then it is cut at maxChars, never inside a surrogate pair).
void splitAt(QTextBoundaryFinder::BoundaryType type, const QString& text, qsizetype start, qsizetype end,
             qsizetype maxChars, QList<TextRange>& out) {
    const QString slice = text.mid(start, end - start);
    QTextBoundaryFinder finder(type, slice);
    qsizetype pieceStart = 0;
    qsizetype lastBoundary = 0;
    while (true) {
        const qsizetype next = finder.toNextBoundary();
        const qsizetype boundary = next < 0 ? slice.size() : next;
        if (boundary - pieceStart > maxChars && lastBoundary > pieceStart) {
            out.append({start + pieceStart, start + lastBoundary});
            pieceStart = lastBoundary;
        }
        while (boundary - pieceStart > maxChars) {
            qsizetype cut = pieceStart + maxChars;
            if (slice.at(cut - 1).isHighSurrogate()) --cut;
            out.append({start + pieceStart, start + cut});
            pieceStart = cut;
        }
        lastBoundary = boundary;
        if (next < 0 || boundary >= slice.size()) break;
    }
    if (pieceStart < slice.size()) out.append({start + pieceStart, end});
}

// Paragraphs are separated by blank lines; running headers/footers are cut out of the text to chunk.
QList<TextRange> paragraphs(const Page& page) {
    QList<TextRange> regions;
    qsizetype from = 0;
    for (const TextRange& repeated : page.repeated) {
        if (repeated.start > from) regions.append({from, repeated.start});
        from = std::max(from, repeated.end);
    }
    regions.append({from, page.text.size()});

    QList<TextRange> result;
    const QString& text = page.text;
    for (const TextRange& region : regions) {
        qsizetype start = region.start;
        while (start < region.end) {
            qsizetype end = text.indexOf(QLatin1String("\n\n"), start);
            if (end < 0 || end > region.end) end = region.end;
            const qsizetype first = skipSpace(text, start, end);
            const qsizetype last = trimSpaceBack(text, first, end);
            if (last > first) result.append({first, last});
            start = end + 2;
        }
    }
    return result;
}

QList<Unit> units(const Page& page, qsizetype maxChars) {
    QList<Unit> result;
    for (const TextRange& paragraph : paragraphs(page)) {
        QList<TextRange> sentences;
        splitAt(QTextBoundaryFinder::Sentence, page.text, paragraph.start, paragraph.end, maxChars,
                sentences);
        bool first = true;
        for (const TextRange& sentence : sentences) {
            QList<TextRange> pieces;
            if (sentence.end - sentence.start > maxChars)
                splitAt(QTextBoundaryFinder::Word, page.text, sentence.start, sentence.end, maxChars, pieces);
            else
                pieces.append(sentence);
            for (const TextRange& piece : pieces) {
                const qsizetype start = skipSpace(page.text, piece.start, piece.end);
                const qsizetype end = trimSpaceBack(page.text, start, piece.end);
                if (end > start) {
                    result.append({{start, end}, first});
                    first = false;
                }
            }
        }
    }
    return result;
}

// Words of one line merge into one box; a new box starts where the next word is not beside the last.
QList<QRectF> lineBoxes(const Page& page, TextRange range) {
    QList<QRectF> boxes;
    auto first =
        std::lower_bound(page.words.cbegin(), page.words.cend(), range.start,
                         [](const WordBox& word, qsizetype start) { return word.range.end <= start; });
    for (auto it = first; it != page.words.cend() && it->range.start < range.end; ++it) {
        const QRectF& rect = it->rect;
        if (rect.isEmpty()) continue;
        if (!boxes.isEmpty()) {
            QRectF& line = boxes.back();
            const double overlap = std::min(line.bottom(), rect.bottom()) - std::max(line.top(), rect.top());
            const bool sameLine = overlap > 0.5 * std::min(line.height(), rect.height()) &&
                                  rect.left() >= line.right() - 0.5 * rect.height();
            if (sameLine) {
                line = line.united(rect);
                continue;
            }
        }
        boxes.append(rect);
    }
    return boxes;
}

} // namespace

int estimateTokens(QStringView text) {
    return int((text.size() + 3) / 4);
}

void chunkDocument(Document& document, int targetTokens) {
    const int target = std::max(targetTokens, 16);
    const qsizetype maxChars = qsizetype(target) * 4;
    const QString prefix = document.contentHash.left(16) + QLatin1Char(':');
    document.passages.clear();
    for (const Page& page : document.pages) {
        const QList<Unit> pieces = units(page, maxChars);
        qsizetype i = 0;
        while (i < pieces.size()) {
            const qsizetype start = pieces[i].range.start;
            qsizetype end = pieces[i].range.end;
            ++i;
            // Fill up to the target; past 60% of it, stop at a paragraph boundary rather than split one.
            while (i < pieces.size()) {
                const int tokens =
                    estimateTokens(QStringView(page.text).mid(start, pieces[i].range.end - start));
                const int current = estimateTokens(QStringView(page.text).mid(start, end - start));
                if (tokens > target || (pieces[i].startsParagraph && current * 10 >= target * 6)) break;
                end = pieces[i].range.end;
                ++i;
            }
            Passage passage;
            passage.ordinal = int(document.passages.size());
            passage.id = prefix + QString::number(passage.ordinal);
            passage.page = page.number;
            passage.range = {start, end};
            passage.text = page.text.mid(start, end - start);
            passage.boxes = lineBoxes(page, passage.range);
            passage.tokens = estimateTokens(passage.text);
            passage.ocr = page.ocr;
            document.passages.append(std::move(passage));
        }
    }
}

} // namespace lectern::importers
