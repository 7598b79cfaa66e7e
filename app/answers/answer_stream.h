#pragma once
// The model's output as it streams: its thinking (DeepSeek-V4 in thinking mode starts inside <think>,
// closed by </think>) handed on as Thinking pieces, then the answer through the citation parser. The one
// entry point for the decoded token stream.

#include "app/answers/citation_parser.h"

#include <QString>
#include <QStringDecoder>

#include <string_view>
#include <vector>

namespace lectern::answers {

class AnswerStream {
public:
    explicit AnswerStream(bool starts_in_thinking) : thinking_(starts_in_thinking) {}

    std::vector<AnswerPiece> feed(std::string_view utf8); // a split UTF-8 character is held
    std::vector<AnswerPiece> finish();

    const QString& thinkingText() const { return thinking_text_; }
    const QString& answerText() const { return parser_.answerText(); }
    bool inThinking() const { return thinking_; }

private:
    void feedText(QString text, std::vector<AnswerPiece>& out);

    QStringDecoder decoder_{QStringDecoder::Utf8};
    CitationParser parser_;
    bool thinking_;
    bool answer_started_ = false;
    QString held_; // thinking text that may be the start of "</think>"
    QString thinking_text_;
};

} // namespace lectern::answers
