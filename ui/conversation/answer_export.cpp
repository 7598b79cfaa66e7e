#include "ui/conversation/answer_export.h"

namespace lectern::ui {

exporting::ExportAnswer toExportAnswer(const AnswerViewModel& model) {
    exporting::ExportAnswer answer;
    answer.question = model.question;
    answer.answer = model.markdown;
    for (const CitationChip& chip : model.citations) {
        exporting::ExportCitation citation;
        // A chip with no place in the text is noted at the end of the answer.
        citation.answerOffset = chip.answerOffset < 0 ? model.markdown.size() : chip.answerOffset;
        citation.document = chip.documentTitle;
        citation.path = chip.location.documentPath;
        citation.page = chip.location.documentPath.isEmpty() ? 0 : chip.location.page;
        citation.quote = chip.quote;
        citation.verified = !chip.flagged;
        // A chip made by hand (not by chipFor) may say only why it is flagged.
        citation.verification =
            chip.verification.isEmpty() && chip.flagged ? chip.flagReason : chip.verification;
        answer.citations.push_back(citation);
    }
    return answer;
}

Result<void> exportAnswers(const QString& path, const QString& title, const QList<AnswerViewModel>& answers) {
    exporting::ExportConversation conversation;
    conversation.title = title;
    for (const AnswerViewModel& model : answers) conversation.answers.push_back(toExportAnswer(model));
    if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive))
        return exporting::writePdf(path, conversation);
    return exporting::writeMarkdown(path, conversation);
}

} // namespace lectern::ui
