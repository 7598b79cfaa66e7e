#pragma once
// The redline of two documents: side by side (deletions struck through in red on the left, insertions
// underlined in green on the right) or inline (one text with both), a summary ("7 changes"), and
// previous/next change navigation (Alt+Up / Alt+Down) that scrolls both sides to the change and marks
// it as current. The diff itself is app/compare/word_diff.h.

#include "app/compare/word_diff.h"

#include <QList>
#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QStackedWidget;
class QToolButton;

namespace lectern::ui {

class RedlineView : public QWidget {
    Q_OBJECT
public:
    enum class Presentation { SideBySide, Inline };
    enum class Pane { Left, Right, Inline };

    // A highlighted range as the pane shows it (read back from its editor): in Left and Right, offsets
    // into that document's text; in Inline, offsets into the inline text, one per line of a change.
    struct Highlight {
        compare::TextRange range;
        compare::SpanKind kind = compare::SpanKind::Deleted;
        bool current = false;
    };

    explicit RedlineView(QWidget* parent = nullptr);

    // Diffs in the calling thread (0.15 s for 100k words; about 1 s to show them in one paragraph). False
    // when the texts are beyond compare::CompareLimits; the reason is then shown in place of the redline.
    bool compare(const QString& left_title, const QString& left_text, const QString& right_title,
                 const QString& right_text);
    // For a caller that ran compare::compareTexts() on a worker thread.
    void showRedline(const QString& left_title, const QString& left_text, const QString& right_title,
                     const QString& right_text, const compare::Redline& redline);
    void showError(const QString& message);

    void setPresentation(Presentation presentation);
    Presentation presentation() const { return presentation_; }

    int changeCount() const { return int(changes_.size()); }
    int currentChange() const { return current_; } // -1 when there is none
    QString summary() const;
    QList<Highlight> highlights(Pane pane) const;
    QPlainTextEdit* editor(Pane pane) const;

public slots:
    void nextChange();
    void previousChange();
    void goToChange(int index);

signals:
    void currentChangeChanged(int index);

private:
    struct ShownChange {
        compare::Change sides;
        compare::TextRange inline_range;
    };

    void clear();
    void buildInline(const QString& left_text, const QString& right_text, const compare::Redline& redline);
    void markSides();
    void markInlineCurrent();
    void updateNavigation();

    Presentation presentation_ = Presentation::SideBySide;
    QLabel* summary_ = nullptr;
    QLabel* position_ = nullptr;
    QToolButton* previous_ = nullptr;
    QToolButton* next_ = nullptr;
    QToolButton* inline_toggle_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* left_title_ = nullptr;
    QLabel* right_title_ = nullptr;
    QPlainTextEdit* left_ = nullptr;
    QPlainTextEdit* right_ = nullptr;
    QPlainTextEdit* inline_ = nullptr;
    QList<compare::DiffSpan> spans_;
    QList<compare::TextRange> inline_spans_; // each span's place in the inline text
    QList<ShownChange> changes_;
    int current_ = -1;
    bool shown_ = false; // a redline (not an error, not nothing) is on display
    QString error_;
};

} // namespace lectern::ui
