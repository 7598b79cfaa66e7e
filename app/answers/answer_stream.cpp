#include "app/answers/answer_stream.h"

namespace lectern::answers {
namespace {

const QString kThinkEnd = QStringLiteral("</think>");

void append(std::vector<AnswerPiece>& out, std::vector<AnswerPiece> pieces) {
    for (AnswerPiece& piece : pieces) out.push_back(std::move(piece));
}

} // namespace

std::vector<AnswerPiece> AnswerStream::feed(std::string_view utf8) {
    std::vector<AnswerPiece> out;
    feedText(decoder_.decode(QByteArrayView(utf8.data(), qsizetype(utf8.size()))), out);
    return out;
}

std::vector<AnswerPiece> AnswerStream::finish() {
    std::vector<AnswerPiece> out;
    if (thinking_ && !held_.isEmpty()) {
        // The stream ended inside the thinking: what was held is thinking after all.
        thinking_text_ += held_;
        out.push_back(AnswerPiece{AnswerPiece::Kind::Thinking, held_, {}});
        held_.clear();
    }
    append(out, parser_.finish());
    return out;
}

void AnswerStream::feedText(QString text, std::vector<AnswerPiece>& out) {
    if (thinking_) {
        held_ += text;
        const qsizetype end = held_.indexOf(kThinkEnd);
        // Without the closing tag, keep back only what could still begin it.
        qsizetype safe = end >= 0 ? end : held_.size();
        if (end < 0)
            for (qsizetype keep = std::min(held_.size(), kThinkEnd.size() - 1); keep > 0; --keep)
                if (kThinkEnd.startsWith(QStringView(held_).right(keep))) {
                    safe = held_.size() - keep;
                    break;
                }
        if (safe > 0) {
            const QString thought = held_.left(safe);
            thinking_text_ += thought;
            out.push_back(AnswerPiece{AnswerPiece::Kind::Thinking, thought, {}});
        }
        if (end < 0) {
            held_.remove(0, safe);
            return;
        }
        text = held_.mid(end + kThinkEnd.size());
        held_.clear();
        thinking_ = false;
    }
    if (!answer_started_) {
        // Models put a blank line or two between thinking and answer; it is not part of the answer.
        qsizetype skip = 0;
        while (skip < text.size() && text[skip].isSpace()) ++skip;
        text.remove(0, skip);
        if (text.isEmpty()) return;
        answer_started_ = true;
    }
    append(out, parser_.feed(text));
}

} // namespace lectern::answers
