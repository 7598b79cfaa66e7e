#include "importers/layout.h"

#include <QHash>
#include <QSet>

#include <algorithm>

namespace lectern::importers {

namespace {

bool joinsHyphenated(const LayoutWord& word, const LayoutWord* next) {
    if (!word.lineEnd || word.paragraphEnd || next == nullptr || word.text.size() < 2) return false;
    if (!word.text.endsWith(QLatin1Char('-')) || !word.text.at(word.text.size() - 2).isLetter()) return false;
    return !next->text.isEmpty() && next->text.front().isLower();
}

} // namespace

Page buildPage(int number, QSizeF size, const QList<LayoutWord>& words) {
    Page page;
    page.number = number;
    page.size = size;
    page.words.reserve(words.size());
    QString& text = page.text;
    for (qsizetype i = 0; i < words.size(); ++i) {
        const LayoutWord& word = words[i];
        if (word.text.isEmpty()) continue;
        const LayoutWord* next = i + 1 < words.size() ? &words[i + 1] : nullptr;
        const bool hyphenJoin = joinsHyphenated(word, next);
        const qsizetype start = text.size();
        text += hyphenJoin ? word.text.chopped(1) : word.text;
        page.words.append(WordBox{{start, text.size()}, word.rect});
        if (next == nullptr || hyphenJoin) continue;
        if (word.paragraphEnd)
            text += QLatin1String("\n\n");
        else if (word.lineEnd)
            text += QLatin1Char('\n');
        else
            text += QLatin1Char(' ');
    }
    return page;
}

namespace {

struct Line {
    TextRange range;
    QRectF rect;
};

QList<Line> linesOf(const Page& page) {
    QList<Line> lines;
    qsizetype wordIndex = 0;
    qsizetype start = 0;
    while (start < page.text.size()) {
        qsizetype end = page.text.indexOf(QLatin1Char('\n'), start);
        if (end < 0) end = page.text.size();
        if (end > start) {
            Line line{{start, end}, {}};
            while (wordIndex < page.words.size() && page.words[wordIndex].range.start < end) {
                if (page.words[wordIndex].range.start >= start)
                    line.rect = line.rect.united(page.words[wordIndex].rect);
                ++wordIndex;
            }
            lines.append(line);
        }
        start = end + 1;
    }
    return lines;
}

QString repeatKey(QStringView text) {
    QString key;
    key.reserve(text.size());
    for (QChar c : text) {
        if (c.isDigit()) {
            if (!key.endsWith(QLatin1Char('#'))) key += QLatin1Char('#');
        } else if (!c.isSpace()) {
            key += c.toLower();
        }
    }
    return key;
}

// Only the first and last few lines of a page can be running headers or footers.
constexpr int kEdgeLines = 3;
constexpr double kMarginFraction = 0.15;

bool inMargin(const Line& line, const Page& page, bool top) {
    if (page.size.isEmpty() || line.rect.isEmpty()) return false;
    const double height = page.size.height();
    return top ? line.rect.bottom() <= height * kMarginFraction
               : line.rect.top() >= height * (1 - kMarginFraction);
}

template <typename Visit>
void forEachMarginLine(const Page& page, const QList<Line>& lines, Visit visit) {
    const qsizetype count = lines.size();
    for (qsizetype i = 0; i < std::min<qsizetype>(kEdgeLines, count); ++i) {
        if (inMargin(lines[i], page, true)) visit(lines[i], QLatin1Char('t'));
    }
    for (qsizetype i = std::max<qsizetype>(count - kEdgeLines, 0); i < count; ++i) {
        if (inMargin(lines[i], page, false)) visit(lines[i], QLatin1Char('b'));
    }
}

} // namespace

void markRepeatedLines(QList<Page>& pages) {
    constexpr int kMinPages = 3;
    if (pages.size() < kMinPages) return;
    QList<QList<Line>> lines;
    lines.reserve(pages.size());
    QHash<QString, int> pagesWithKey;
    for (const Page& page : pages) {
        lines.append(linesOf(page));
        QSet<QString> seen;
        forEachMarginLine(page, lines.back(), [&](const Line& line, QChar zone) {
            const QString key =
                zone +
                repeatKey(QStringView(page.text).mid(line.range.start, line.range.end - line.range.start));
            if (!seen.contains(key)) {
                seen.insert(key);
                ++pagesWithKey[key];
            }
        });
    }
    // Short documents need the line on most pages; long ones on a few (chapter headers change).
    const int needed = std::max<int>(kMinPages, pages.size() <= 10 ? int((pages.size() + 1) / 2) : kMinPages);
    for (qsizetype p = 0; p < pages.size(); ++p) {
        Page& page = pages[p];
        forEachMarginLine(page, lines[p], [&](const Line& line, QChar zone) {
            const QString key =
                zone +
                repeatKey(QStringView(page.text).mid(line.range.start, line.range.end - line.range.start));
            if (key.size() > 1 && pagesWithKey.value(key) >= needed) page.repeated.append(line.range);
        });
        std::sort(page.repeated.begin(), page.repeated.end(),
                  [](const TextRange& a, const TextRange& b) { return a.start < b.start; });
    }
}

} // namespace lectern::importers
