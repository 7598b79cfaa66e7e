#pragma once
// The conversation pane: the answers so far (AnswerWidget each), and the question box. It asks nothing
// itself: askRequested goes to whoever drives the model, which feeds answers back with addAnswer and
// setAnswer as they stream.

#include "ui/conversation/answer_view_model.h"

#include <QWidget>

class QPlainTextEdit;
class QPushButton;
class QScrollArea;
class QVBoxLayout;
class QLabel;

namespace lectern::ui {

class AnswerWidget;

class ConversationView : public QWidget {
    Q_OBJECT
public:
    explicit ConversationView(QWidget* parent = nullptr);

    int addAnswer(const AnswerViewModel& model); // returns its index
    void setAnswer(int index, const AnswerViewModel& model);
    int answerCount() const { return int(answers_.size()); }
    AnswerWidget* answer(int index) const { return answers_.value(index); }
    QList<AnswerViewModel> answerModels() const; // in order, as shown
    void clear();

    // Asking needs documents and a model; when it cannot, `reason` says why on the disabled button.
    void setAskEnabled(bool enabled, const QString& reason = {});
    QPlainTextEdit* questionEdit() const { return question_; }
    QPushButton* askButton() const { return ask_; }
    // While an answer is written, Stop (Esc) replaces Ask.
    void setAnswering(bool answering);
    // While a model loads, Stop (Esc) cancels the load (stopRequested all the same).
    void setLoading(bool loading);
    QPushButton* stopButton() const { return stop_; }

signals:
    void askRequested(const QString& question);
    void stopRequested();
    void locationActivated(const lectern::ui::Location& location);

private:
    void ask();

    QScrollArea* scroll_ = nullptr;
    QWidget* transcript_ = nullptr;
    QVBoxLayout* transcriptLayout_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QList<AnswerWidget*> answers_;
    QPlainTextEdit* question_ = nullptr;
    QPushButton* ask_ = nullptr;
    QPushButton* stop_ = nullptr;
    bool askEnabled_ = false;
    bool answering_ = false;
    bool loading_ = false;
    void showStop();
};

} // namespace lectern::ui
