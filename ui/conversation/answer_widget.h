#pragma once
// One question and its answer: the answer as Markdown with [n] links, a collapsible thinking section,
// numbered citation chips (flagged ones marked), and the passages the model looked at.

#include "ui/conversation/answer_view_model.h"

#include <QWidget>

class QLabel;
class QListWidget;
class QTextBrowser;
class QToolButton;
class QGridLayout;

namespace lectern::ui {

class AnswerWidget : public QWidget {
    Q_OBJECT
public:
    explicit AnswerWidget(QWidget* parent = nullptr);

    void setModel(const AnswerViewModel& model);
    const AnswerViewModel& model() const { return model_; }

    QToolButton* chip(int number) const; // null when there is no such citation
    QTextBrowser* answerBrowser() const { return answer_; }
    QTextBrowser* thinkingBrowser() const { return thinking_; }
    QToolButton* thinkingToggle() const { return thinkingToggle_; }
    QListWidget* lookedAtList() const { return lookedAt_; }

    // The Markdown actually rendered: the answer with [n] links to "cite:n" at the citations' offsets.
    static QString markdownWithLinks(const AnswerViewModel& model);
    static QString chipToolTip(const CitationChip& citation);

signals:
    void locationActivated(const lectern::ui::Location& location);

private:
    void activateCitation(int number);
    void fitHeight(QTextBrowser* browser);

    AnswerViewModel model_;
    QLabel* question_ = nullptr;
    QToolButton* thinkingToggle_ = nullptr;
    QTextBrowser* thinking_ = nullptr;
    QTextBrowser* answer_ = nullptr;
    QLabel* status_ = nullptr;
    QWidget* chipRow_ = nullptr;
    QGridLayout* chipLayout_ = nullptr;
    QList<QToolButton*> chips_;
    QToolButton* lookedAtToggle_ = nullptr;
    QListWidget* lookedAt_ = nullptr;
};

} // namespace lectern::ui
