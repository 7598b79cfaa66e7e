#include "app/answers/citation_verifier.h"

#include "app/answers/folded_text.h"

#include <QStringList>

#include <algorithm>
#include <optional>
#include <vector>

namespace lectern::answers {
namespace {

struct Span {
    qsizetype start = 0;
    qsizetype end = 0;
};

struct Alignment {
    qsizetype edits = 0;
    Span span; // in the text
};

// Semi-global edit distance (Sellers): the whole pattern against the best-matching substring of the
// text. Rows carry where each alignment started, so the substring comes out without a traceback.
Alignment align(QStringView pattern, QStringView text) {
    struct Cell {
        qsizetype edits;
        qsizetype start;
    };
    std::vector<Cell> previous(std::size_t(text.size()) + 1), current(previous.size());
    for (qsizetype j = 0; j <= text.size(); ++j) previous[std::size_t(j)] = {0, j};
    for (qsizetype i = 1; i <= pattern.size(); ++i) {
        current[0] = {i, 0};
        for (qsizetype j = 1; j <= text.size(); ++j) {
            const std::size_t u = std::size_t(j);
            Cell best{previous[u - 1].edits + (pattern[i - 1] == text[j - 1] ? 0 : 1), previous[u - 1].start};
            if (previous[u].edits + 1 < best.edits) best = {previous[u].edits + 1, previous[u].start};
            if (current[u - 1].edits + 1 < best.edits)
                best = {current[u - 1].edits + 1, current[u - 1].start};
            current[u] = best;
        }
        std::swap(previous, current);
    }
    Alignment result{pattern.size() + 1, {0, 0}};
    for (qsizetype j = 0; j <= text.size(); ++j) {
        const Cell& cell = previous[std::size_t(j)];
        if (cell.edits < result.edits) result = {cell.edits, {cell.start, j}};
    }
    return result;
}

// The folded quote split at ellipses: a quote may leave out text with "..." (or "…", folded alike).
QStringList quotePieces(const QString& folded_quote) {
    QStringList pieces;
    for (const QString& piece : folded_quote.split(QStringLiteral("...")))
        if (const QString trimmed = piece.trimmed(); !trimmed.isEmpty()) pieces.append(trimmed);
    return pieces;
}

std::optional<Span> findPieces(const QString& text, const QStringList& pieces, qsizetype from) {
    Span span{-1, from};
    for (const QString& piece : pieces) {
        const qsizetype at = text.indexOf(piece, span.end);
        if (at < 0) return std::nullopt;
        if (span.start < 0) span.start = at;
        span.end = at + piece.size();
    }
    return span;
}

bool overlaps(Span a, importers::TextRange b) {
    return a.start < b.end && b.start < a.end;
}

QStringList wordsOf(QStringView text) {
    QStringList words;
    for (qsizetype i = 0; i < text.size();) {
        while (i < text.size() && !text[i].isLetterOrNumber()) ++i;
        const qsizetype start = i;
        while (i < text.size() && text[i].isLetterOrNumber()) ++i;
        if (i > start) words.append(text.mid(start, i - start).toString());
    }
    return words;
}

qsizetype editDistance(QStringView a, QStringView b) {
    std::vector<qsizetype> row(std::size_t(b.size()) + 1);
    for (qsizetype j = 0; j <= b.size(); ++j) row[std::size_t(j)] = j;
    for (qsizetype i = 1; i <= a.size(); ++i) {
        qsizetype diagonal = row[0];
        row[0] = i;
        for (qsizetype j = 1; j <= b.size(); ++j) {
            const std::size_t u = std::size_t(j);
            const qsizetype substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            diagonal = row[u];
            row[u] = std::min({substitution, row[u] + 1, row[u - 1] + 1});
        }
    }
    return row[std::size_t(b.size())];
}

// The same word, allowing OCR-like slips ("rnodel", "bi11ion"); numbers must be equal.
bool sameWord(const QString& a, const QString& b) {
    if (a == b) return true;
    const auto hasDigit = [](const QString& w) {
        return std::any_of(w.begin(), w.end(), [](QChar c) { return c.isDigit(); });
    };
    if (hasDigit(a) && hasDigit(b)) return false;
    return double(editDistance(a, b)) <= 0.4 * double(std::max(a.size(), b.size()));
}

// Character similarity alone lets one changed word through ("continue into" -> "reverse in" keeps 0.86
// of a 60-character quote). So every word that carries meaning, on either side, must have a
// counterpart on the other: words of 3+ characters and anything with a digit ("not", "12%").
bool wordsCorrespond(const QStringList& from, const QStringList& to) {
    for (const QString& word : from) {
        const bool significant =
            word.size() >= 3 || std::any_of(word.begin(), word.end(), [](QChar c) { return c.isDigit(); });
        if (!significant) continue;
        if (std::none_of(to.begin(), to.end(), [&](const QString& other) { return sameWord(word, other); }))
            return false;
    }
    return true;
}

class Matcher {
public:
    Matcher(const importers::Passage& passage, const importers::Page* page) : passage_(passage.range) {
        if (page && passage.range.end <= page->text.size()) {
            region_start_ = std::max<qsizetype>(0, passage.range.start - CitationVerifier::kContextSlack);
            const qsizetype end =
                std::min(page->text.size(), passage.range.end + CitationVerifier::kContextSlack);
            region_ = QStringView(page->text).mid(region_start_, end - region_start_);
        } else {
            region_start_ = passage.range.start;
            region_ = passage.text;
        }
    }

    std::optional<Span> exact(const QString& quote) const {
        for (qsizetype from = 0;;) {
            const qsizetype at = region_.indexOf(quote, from);
            if (at < 0) return std::nullopt;
            const Span span{region_start_ + at, region_start_ + at + quote.size()};
            if (overlaps(span, passage_)) return span;
            if (span.start >= passage_.end) return std::nullopt;
            from = at + 1;
        }
    }

    std::optional<Span> normalized(const QStringList& pieces) const {
        for (qsizetype from = 0;;) {
            const std::optional<Span> found = findPieces(folded().text, pieces, from);
            if (!found) return std::nullopt;
            const Span span = toPage(*found);
            if (overlaps(span, passage_)) return span;
            if (span.start >= passage_.end) return std::nullopt;
            from = found->start + 1;
        }
    }

    struct Fuzzy {
        double similarity = 0.0; // 1 - edits / quote length
        Span span;               // whole words
        bool words_correspond = false;
    };
    // Aligns the pieces one after another.
    Fuzzy fuzzy(const QStringList& pieces) const {
        const QString& text = folded().text;
        qsizetype edits = 0, length = 0, from = 0;
        Span span{-1, 0};
        for (const QString& piece : pieces) {
            const Alignment alignment = align(piece, QStringView(text).mid(from));
            edits += alignment.edits;
            length += piece.size();
            if (alignment.span.end > alignment.span.start) {
                if (span.start < 0) span.start = from + alignment.span.start;
                span.end = from + alignment.span.end;
            }
            from += alignment.span.end;
        }
        if (span.start < 0 || length == 0) return {0.0, {}, false};
        // The span's words, whole words at its edges.
        while (span.start > 0 && text[span.start - 1].isLetterOrNumber() &&
               text[span.start].isLetterOrNumber())
            --span.start;
        while (span.end < text.size() && text[span.end - 1].isLetterOrNumber() &&
               text[span.end].isLetterOrNumber())
            ++span.end;
        const QStringList quote_words = wordsOf(pieces.join(u' '));
        const QStringList span_words = wordsOf(QStringView(text).mid(span.start, span.end - span.start));
        const bool words =
            wordsCorrespond(quote_words, span_words) && wordsCorrespond(span_words, quote_words);
        return {1.0 - double(edits) / double(length), toPage(span), words};
    }

    qsizetype foldedLength() const { return folded().text.size(); }

private:
    const FoldedText& folded() const {
        if (!folded_) folded_ = fold(region_);
        return *folded_;
    }
    Span toPage(Span folded_span) const {
        return {region_start_ + folded().sourceStart(folded_span.start),
                region_start_ + folded().sourceEnd(folded_span.end)};
    }

    importers::TextRange passage_;
    qsizetype region_start_ = 0;
    QStringView region_;
    mutable std::optional<FoldedText> folded_;
};

} // namespace

QString toString(Verification verification) {
    switch (verification) {
    case Verification::Exact:
        return QStringLiteral("exact");
    case Verification::Normalized:
        return QStringLiteral("normalized");
    case Verification::Fuzzy:
        return QStringLiteral("fuzzy");
    case Verification::NotFound:
        return QStringLiteral("not-found");
    case Verification::NoQuote:
        return QStringLiteral("no-quote");
    case Verification::UnknownPassage:
        return QStringLiteral("unknown-passage");
    }
    return {};
}

bool isVerified(Verification verification) {
    return verification == Verification::Exact || verification == Verification::Normalized ||
           verification == Verification::Fuzzy;
}

VerifiedCitation CitationVerifier::verify(const Citation& citation) const {
    VerifiedCitation result;
    result.citation = citation;
    result.passage = corpus_.find(citation.marker);
    if (!result.passage) {
        result.verification = Verification::UnknownPassage;
        return result;
    }
    const importers::Passage& passage = corpus_.passage(*result.passage);
    const importers::Page* page = corpus_.page(*result.passage);
    const QString quote = citation.quote.trimmed();
    const QStringList pieces = quotePieces(fold(quote).text);
    if (pieces.isEmpty()) {
        result.verification = Verification::NoQuote;
        return result;
    }

    const Matcher matcher(passage, page);
    std::optional<Span> span = matcher.exact(quote);
    result.verification = Verification::Exact;
    if (!span) {
        span = matcher.normalized(pieces);
        result.verification = Verification::Normalized;
    }
    result.similarity = 1.0;
    if (!span) {
        qsizetype length = 0;
        for (const QString& piece : pieces) length += piece.size();
        // Each alignment is pattern x region cells; a bound keeps a runaway input from costing seconds.
        const bool small_enough = length * matcher.foldedLength() <= 50'000'000;
        if (length >= kFuzzyMinLength && small_enough) {
            const Matcher::Fuzzy fuzzy = matcher.fuzzy(pieces);
            result.similarity = fuzzy.similarity;
            if (fuzzy.similarity >= kFuzzyThreshold && fuzzy.words_correspond &&
                overlaps(fuzzy.span, passage.range)) {
                span = fuzzy.span;
                result.verification = Verification::Fuzzy;
            }
        } else {
            result.similarity = 0.0;
        }
        if (!span) {
            result.verification = Verification::NotFound;
            return result;
        }
    }
    result.range = {span->start, span->end};
    if (page) result.boxes = boxesFor(*page, result.range);
    return result;
}

QList<QRectF> boxesFor(const importers::Page& page, importers::TextRange range) {
    QList<QRectF> boxes;
    for (const importers::WordBox& word : page.words) {
        if (word.range.end <= range.start || word.range.start >= range.end || word.rect.isEmpty()) continue;
        if (!boxes.isEmpty()) {
            QRectF& line = boxes.back();
            const qreal shared =
                std::min(line.bottom(), word.rect.bottom()) - std::max(line.top(), word.rect.top());
            const bool same_line = shared >= 0.5 * std::min(line.height(), word.rect.height());
            if (same_line && word.rect.left() >= line.left()) {
                line = line.united(word.rect);
                continue;
            }
        }
        boxes.append(word.rect);
    }
    return boxes;
}

} // namespace lectern::answers
