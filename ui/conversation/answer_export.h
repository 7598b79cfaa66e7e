#pragma once
// The conversation pane's answers handed to app/export: each chip becomes a footnote with its document,
// page, quote and verification.

#include "app/export/conversation_export.h"
#include "kernels/result.h"
#include "ui/conversation/answer_view_model.h"

namespace lectern::ui {

exporting::ExportAnswer toExportAnswer(const AnswerViewModel& model);

// PDF when `path` ends in ".pdf" (any case), Markdown otherwise.
Result<void> exportAnswers(const QString& path, const QString& title, const QList<AnswerViewModel>& answers);

} // namespace lectern::ui
