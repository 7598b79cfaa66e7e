#include "ui/conversation/conversation_view.h"

#include "ui/conversation/answer_widget.h"

#include <QAction>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QTimer>
#include <QVBoxLayout>

namespace lectern::ui {

ConversationView::ConversationView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("conversationView"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    scroll_ = new QScrollArea(this);
    scroll_->setObjectName(QStringLiteral("transcript"));
    scroll_->setAccessibleName(QStringLiteral("Conversation"));
    scroll_->setWidgetResizable(true);
    scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    transcript_ = new QWidget(scroll_);
    transcriptLayout_ = new QVBoxLayout(transcript_);
    transcriptLayout_->setContentsMargins(4, 4, 4, 4);
    placeholder_ =
        new QLabel(QStringLiteral("Questions and answers about this session appear here."), transcript_);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    placeholder_->setEnabled(false);
    transcriptLayout_->addWidget(placeholder_);
    transcriptLayout_->addStretch(1);
    scroll_->setWidget(transcript_);

    question_ = new QPlainTextEdit(this);
    question_->setObjectName(QStringLiteral("questionEdit"));
    question_->setAccessibleName(QStringLiteral("Question"));
    question_->setPlaceholderText(QStringLiteral("Ask a question about the documents (Ctrl+Enter)"));
    question_->setMaximumHeight(90);
    question_->setTabChangesFocus(true);
    ask_ = new QPushButton(QStringLiteral("Ask"), this);
    ask_->setObjectName(QStringLiteral("askButton"));
    ask_->setAccessibleName(QStringLiteral("Ask"));
    layout->addWidget(scroll_, 1);
    layout->addWidget(question_);
    stop_ = new QPushButton(QStringLiteral("Stop"), this);
    stop_->setObjectName(QStringLiteral("stopButton"));
    stop_->setAccessibleName(QStringLiteral("Stop the answer"));
    stop_->setToolTip(QStringLiteral("Stop writing this answer (Esc)"));
    stop_->setShortcut(QKeySequence(Qt::Key_Escape));
    stop_->setVisible(false);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(stop_);
    buttons->addWidget(ask_);
    layout->addLayout(buttons);
    connect(stop_, &QPushButton::clicked, this, &ConversationView::stopRequested);

    auto* askAction = new QAction(QStringLiteral("Ask"), this);
    askAction->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    askAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(askAction);
    connect(askAction, &QAction::triggered, this, &ConversationView::ask);
    connect(ask_, &QPushButton::clicked, this, &ConversationView::ask);
    connect(question_, &QPlainTextEdit::textChanged, this,
            [this] { ask_->setEnabled(askEnabled_ && !question_->toPlainText().trimmed().isEmpty()); });
    setAskEnabled(false, QStringLiteral("Asking needs documents and a model."));
}

void ConversationView::setAskEnabled(bool enabled, const QString& reason) {
    askEnabled_ = enabled;
    question_->setEnabled(enabled);
    ask_->setEnabled(enabled && !question_->toPlainText().trimmed().isEmpty());
    ask_->setToolTip(enabled ? QStringLiteral("Ask (Ctrl+Enter)") : reason);
}

void ConversationView::setAnswering(bool answering) {
    answering_ = answering;
    showStop();
}

void ConversationView::setLoading(bool loading) {
    loading_ = loading;
    showStop();
}

void ConversationView::showStop() {
    const bool busy = answering_ || loading_;
    stop_->setVisible(busy);
    ask_->setVisible(!busy);
    stop_->setAccessibleName(answering_ ? QStringLiteral("Stop the answer")
                                        : QStringLiteral("Stop loading the model"));
    stop_->setToolTip(answering_ ? QStringLiteral("Stop writing this answer (Esc)")
                                 : QStringLiteral("Stop loading the model (Esc)"));
}

void ConversationView::ask() {
    const QString question = question_->toPlainText().trimmed();
    if (!askEnabled_ || question.isEmpty()) return;
    question_->clear();
    emit askRequested(question);
}

int ConversationView::addAnswer(const AnswerViewModel& model) {
    placeholder_->hide();
    auto* widget = new AnswerWidget(transcript_);
    widget->setModel(model);
    connect(widget, &AnswerWidget::locationActivated, this, &ConversationView::locationActivated);
    transcriptLayout_->insertWidget(transcriptLayout_->count() - 1, widget);
    widget->show(); // now, not when the layout next runs: callers look at it at once
    answers_.append(widget);
    // Once laid out, bring the new answer into view.
    QTimer::singleShot(0, this, [this, widget] { scroll_->ensureWidgetVisible(widget, 0, 0); });
    return int(answers_.size()) - 1;
}

void ConversationView::setAnswer(int index, const AnswerViewModel& model) {
    if (AnswerWidget* widget = answers_.value(index)) {
        QScrollBar* bar = scroll_->verticalScrollBar();
        const bool following = bar->value() >= bar->maximum() - 4; // keep following a streaming answer
        widget->setModel(model);
        if (following) QTimer::singleShot(0, this, [bar] { bar->setValue(bar->maximum()); });
    }
}

void ConversationView::clear() {
    qDeleteAll(answers_);
    answers_.clear();
    placeholder_->show();
}

QList<AnswerViewModel> ConversationView::answerModels() const {
    QList<AnswerViewModel> models;
    for (const AnswerWidget* answer : answers_) models.push_back(answer->model());
    return models;
}

} // namespace lectern::ui
