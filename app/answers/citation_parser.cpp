#include "app/answers/citation_parser.h"

namespace lectern::answers {
namespace {

constexpr int kMaxItemsPerBracket = 16;
constexpr int kMaxMarkerDigits = 9;

bool isBlank(QChar c) {
    return c == u' ' || c == u'\t';
}
bool isOpeningQuote(QChar c) {
    return c == u'"' || c == u'\u201C' || c == u'\u201D' || c == u'\u201E';
}
bool isClosingQuote(QChar c) {
    return c == u'"' || c == u'\u201D' || c == u'\u201C';
}
bool isSeparator(QChar c) {
    return c == u';' || c == u',';
}
bool isMarkerLetter(QChar c) {
    return c == u'P' || c == u'p';
}

} // namespace

std::vector<AnswerPiece> CitationParser::feed(std::string_view utf8) {
    return feed(QString(decoder_.decode(QByteArrayView(utf8.data(), qsizetype(utf8.size())))));
}

std::vector<AnswerPiece> CitationParser::feed(const QString& text) {
    std::vector<AnswerPiece> out;
    for (const QChar unit : text) consume(unit, out);
    return out;
}

std::vector<AnswerPiece> CitationParser::finish() {
    std::vector<AnswerPiece> out;
    settle(true, out);
    return out;
}

void CitationParser::consume(QChar unit, std::vector<AnswerPiece>& out) {
    if (bracket_.isEmpty()) {
        if (unit == u'[')
            bracket_ = QStringLiteral("[");
        else
            emitText(QStringView(&unit, 1), out);
        return;
    }
    bracket_.append(unit);
    settle(false, out);
}

// Decides what the held bracket is once enough of it is known. What follows a finished bracket, or all
// but the '[' of one that proved not to be a citation, is read again: it may hold the next citation.
void CitationParser::settle(bool at_end, std::vector<AnswerPiece>& out) {
    while (!bracket_.isEmpty()) {
        const Parse parse = parseBracket(at_end);
        QString rest;
        switch (parse.outcome) {
        case Outcome::NeedMore:
            return;
        case Outcome::Complete:
        case Outcome::Abandoned:
            emitCitations(parse, parse.outcome == Outcome::Abandoned, out);
            rest = bracket_.mid(parse.consumed);
            break;
        case Outcome::Invalid:
            emitText(u"[", out);
            rest = bracket_.mid(1);
            break;
        }
        bracket_.clear();
        for (const QChar unit : rest) consume(unit, out);
    }
}

CitationParser::Parse CitationParser::parseBracket(bool at_end) const {
    const QString& b = bracket_;
    const qsizetype n = b.size();
    Parse parse;
    // Input ran out where more could follow: wait, or at the end of the stream keep what was read.
    const auto ranOut = [&]() {
        if (!at_end) return Parse{Outcome::NeedMore, {}, 0};
        if (parse.items.empty()) return Parse{Outcome::Invalid, {}, 0};
        parse.outcome = Outcome::Abandoned;
        parse.consumed = n;
        return parse;
    };
    const auto finished = [&](Outcome outcome, qsizetype consumed) {
        parse.outcome = outcome;
        parse.consumed = consumed;
        return parse;
    };
    qsizetype i = 1;
    const auto skipBlanks = [&]() {
        while (i < n && isBlank(b[i])) ++i;
    };

    // Reads the quote that opens at b[i] into `item`; says how it ended and where reading goes on.
    enum class QuoteEnd { NextItem, Closed, Abandoned, RanOut };
    const auto readQuote = [&](Item& item) -> std::pair<QuoteEnd, qsizetype> {
        const qsizetype start = ++i;
        for (qsizetype j = start; j < n; ++j) {
            if (j - start > kMaxQuoteLength || (b[j] == u'\n' && j + 1 < n && b[j + 1] == u'\n')) {
                item.quote = b.mid(start, j - start).trimmed();
                return {QuoteEnd::Abandoned, j};
            }
            if (!isClosingQuote(b[j])) continue;
            qsizetype k = j + 1;
            while (k < n && isBlank(b[k])) ++k;
            if (k == n) break; // the closing mark of a quote is known only by what follows it
            if (b[k] == u']') {
                item.quote = b.mid(start, j - start);
                return {QuoteEnd::Closed, k + 1};
            }
            if (isSeparator(b[k])) {
                qsizetype m = k + 1;
                while (m < n && isBlank(b[m])) ++m;
                if (m + 1 >= n) break;
                if (isMarkerLetter(b[m]) && b[m + 1].isDigit()) {
                    item.quote = b.mid(start, j - start);
                    return {QuoteEnd::NextItem, m};
                }
            }
        }
        if (at_end) {
            item.quote = b.mid(start).trimmed();
            if (!item.quote.isEmpty() && isClosingQuote(item.quote.back())) item.quote.chop(1);
        }
        return {QuoteEnd::RanOut, n};
    };

    while (true) {
        skipBlanks();
        if (i == n) return ranOut();
        if (!isMarkerLetter(b[i]) || int(parse.items.size()) == kMaxItemsPerBracket)
            return Parse{Outcome::Invalid, {}, 0};
        ++i;
        const qsizetype digits_start = i;
        while (i < n && b[i].isDigit() && i - digits_start < kMaxMarkerDigits) ++i;
        if (i == digits_start) return i == n ? ranOut() : Parse{Outcome::Invalid, {}, 0};
        if (i == n && !at_end) return ranOut();
        if (i < n && b[i].isDigit()) return Parse{Outcome::Invalid, {}, 0}; // too many digits
        parse.items.push_back(Item{b.mid(digits_start, i - digits_start).toInt(), {}});
        Item& item = parse.items.back();

        skipBlanks();
        if (i == n) return ranOut();
        if (b[i] == u']') return finished(Outcome::Complete, i + 1);
        const bool colon = b[i] == u':';
        if (colon || isSeparator(b[i])) {
            ++i;
            skipBlanks();
            if (i == n) return ranOut();
        }
        if (isOpeningQuote(b[i])) {
            const auto [end, position] = readQuote(item);
            switch (end) {
            case QuoteEnd::NextItem:
                i = position;
                continue;
            case QuoteEnd::Closed:
                return finished(Outcome::Complete, position);
            case QuoteEnd::Abandoned:
                return finished(Outcome::Abandoned, position);
            case QuoteEnd::RanOut:
                return ranOut();
            }
        }
        if (colon) {
            // [P12: words without quote marks]: the words up to the bracket are the quote.
            qsizetype j = i;
            while (j < n && b[j] != u']' && b[j] != u'\n' && j - i <= kMaxQuoteLength) ++j;
            if (j == n) {
                if (at_end) item.quote = b.mid(i).trimmed();
                return ranOut();
            }
            item.quote = b.mid(i, j - i).trimmed();
            if (b[j] == u']') return finished(Outcome::Complete, j + 1);
            return finished(Outcome::Abandoned, j);
        }
        if (isMarkerLetter(b[i])) continue; // [P3, P4]
        return Parse{Outcome::Invalid, {}, 0};
    }
}

void CitationParser::emitText(QStringView text, std::vector<AnswerPiece>& out) {
    answer_text_.append(text);
    if (out.empty() || out.back().kind != AnswerPiece::Kind::Text) out.push_back(AnswerPiece{});
    out.back().text.append(text);
}

void CitationParser::emitCitations(const Parse& parse, bool unterminated, std::vector<AnswerPiece>& out) {
    const QString raw = bracket_.left(parse.consumed);
    for (const Item& item : parse.items) {
        AnswerPiece piece;
        piece.kind = AnswerPiece::Kind::Citation;
        piece.citation =
            Citation{++citation_count_, item.marker, item.quote, unterminated, answer_text_.size(), raw};
        out.push_back(std::move(piece));
    }
}

} // namespace lectern::answers
