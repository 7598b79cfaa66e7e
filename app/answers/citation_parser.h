#pragma once
// The incremental parser of a model's answer: fed the decoded token stream piece by piece (a piece may
// end in the middle of a UTF-8 character, a marker or a quote), it hands back plain text as soon as it
// cannot be part of a citation, and each citation as soon as its closing bracket arrives.
//
// Citation syntax (README.md): [P12: "verbatim quote"], several items in one bracket separated by
// ';' or ',' ([P3: "a"; P7: "b"]), bare markers ([P12], [P3, P4]). Lenient on what models do: a
// lower-case p, typographic quotes, a missing colon, an unquoted quote ([P12: words]). Anything else in
// brackets is text; brackets inside a quote belong to the quote.

#include <QString>
#include <QStringDecoder>

#include <string_view>
#include <vector>

namespace lectern::answers {

struct Citation {
    int number = 0;              // 1-based order of this citation in the answer ("n" in lectern-cli ask)
    int marker = 0;              // the passage marker as written: 12 for [P12]
    QString quote;               // without its quote marks; empty when the citation gives none
    bool unterminated = false;   // the stream ended, or the quote ran on, before the bracket closed
    qsizetype answer_offset = 0; // position in the answer text (the concatenated text pieces)
    QString raw;                 // the bracket as the model wrote it
};

struct AnswerPiece {
    enum class Kind { Text, Citation, Thinking };
    Kind kind = Kind::Text;
    QString text;      // Kind::Text and Kind::Thinking (answer_stream.h)
    Citation citation; // Kind::Citation
};

class CitationParser {
public:
    // A quote that runs past this many characters, or into a blank line, is taken as unterminated:
    // the instructions ask for at most ~25 words, so a longer one is a bracket the model never closed.
    static constexpr qsizetype kMaxQuoteLength = 400;

    std::vector<AnswerPiece> feed(std::string_view utf8); // bytes; a split UTF-8 character is held
    std::vector<AnswerPiece> feed(const QString& text);
    std::vector<AnswerPiece> finish(); // end of stream: flushes what is held

    const QString& answerText() const { return answer_text_; }
    int citationCount() const { return citation_count_; }

private:
    enum class Outcome { NeedMore, Invalid, Complete, Abandoned };
    struct Item {
        int marker = 0;
        QString quote;
    };
    struct Parse {
        Outcome outcome = Outcome::NeedMore;
        std::vector<Item> items;
        qsizetype consumed = 0; // Complete, Abandoned: units of the bracket used
    };

    Parse parseBracket(bool at_end) const;
    void consume(QChar unit, std::vector<AnswerPiece>& out);
    void settle(bool at_end, std::vector<AnswerPiece>& out);
    void emitText(QStringView text, std::vector<AnswerPiece>& out);
    void emitCitations(const Parse& parse, bool unterminated, std::vector<AnswerPiece>& out);

    QStringDecoder decoder_{QStringDecoder::Utf8};
    QString bracket_; // a possible citation being read; starts with '['
    QString answer_text_;
    int citation_count_ = 0;
};

} // namespace lectern::answers
