#include "ui/compare/redline_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QShortcut>
#include <QSplitter>
#include <QStackedWidget>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace lectern::ui {

namespace {

using compare::SpanKind;
using compare::TextRange;

// Kept on the formats so that what the panes show can be read back (highlights()).
constexpr int kKindProperty = QTextFormat::UserProperty;
constexpr int kCurrentProperty = QTextFormat::UserProperty + 1;

QTextCharFormat changeFormat(SpanKind kind, bool current) {
    QTextCharFormat format;
    if (kind == SpanKind::Deleted) {
        format.setBackground(current ? QColor(0xf4, 0xa0, 0x9a) : QColor(0xfd, 0xe0, 0xde));
        format.setForeground(QColor(0x8b, 0x1a, 0x12));
        format.setFontStrikeOut(true);
    } else {
        format.setBackground(current ? QColor(0x8f, 0xd9, 0x8f) : QColor(0xd8, 0xf5, 0xd8));
        format.setForeground(QColor(0x14, 0x5a, 0x14));
        format.setFontUnderline(true);
    }
    format.setProperty(kKindProperty, int(kind));
    format.setProperty(kCurrentProperty, current);
    return format;
}

QPlainTextEdit* makeEditor(const QString& accessible_name, QWidget* parent) {
    auto* editor = new QPlainTextEdit(parent);
    editor->setReadOnly(true);
    editor->setUndoRedoEnabled(false);
    editor->setAccessibleName(accessible_name);
    // Read-only, but the cursor shows where navigation went and text can be selected and copied.
    editor->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    return editor;
}

QWidget* titledColumn(QLabel* title, QPlainTextEdit* editor, QWidget* parent) {
    auto* column = new QWidget(parent);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(title);
    layout->addWidget(editor);
    return column;
}

QToolButton* makeButton(const QString& text, const QString& accessible_name, QWidget* parent) {
    auto* button = new QToolButton(parent);
    button->setText(text);
    button->setAccessibleName(accessible_name);
    return button;
}

// The change each span belongs to; -1 for equal spans.
QList<int> changeOfSpans(const QList<compare::DiffSpan>& spans) {
    QList<int> owners;
    int change = -1;
    bool after_equal = true;
    for (const compare::DiffSpan& span : spans) {
        const bool equal = span.kind == SpanKind::Equal;
        if (!equal && after_equal) ++change;
        owners.push_back(equal ? -1 : change);
        after_equal = equal;
    }
    return owners;
}

void placeCursor(QPlainTextEdit* editor, qsizetype position) {
    QTextCursor cursor(editor->document());
    cursor.setPosition(int(std::min<qsizetype>(position, editor->document()->characterCount() - 1)));
    editor->setTextCursor(cursor);
    editor->centerCursor();
}

} // namespace

RedlineView::RedlineView(QWidget* parent) : QWidget(parent) {
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setAccessibleName(QStringLiteral("Redline summary"));
    position_ = new QLabel(this);
    position_->setAccessibleName(QStringLiteral("Current change"));
    previous_ = makeButton(QStringLiteral("Previous"), QStringLiteral("Previous change"), this);
    previous_->setToolTip(QStringLiteral("Previous change (Alt+Up)"));
    next_ = makeButton(QStringLiteral("Next"), QStringLiteral("Next change"), this);
    next_->setToolTip(QStringLiteral("Next change (Alt+Down)"));
    inline_toggle_ = makeButton(QStringLiteral("Inline"), QStringLiteral("Show the changes inline"), this);
    inline_toggle_->setCheckable(true);
    inline_toggle_->setToolTip(QStringLiteral("One text with deletions and insertions, or two side by side"));

    left_title_ = new QLabel(this);
    right_title_ = new QLabel(this);
    left_ = makeEditor(QStringLiteral("Original document"), this);
    right_ = makeEditor(QStringLiteral("Changed document"), this);
    inline_ = makeEditor(QStringLiteral("Redline, inline"), this);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(titledColumn(left_title_, left_, splitter));
    splitter->addWidget(titledColumn(right_title_, right_, splitter));
    stack_ = new QStackedWidget(this);
    stack_->addWidget(splitter);
    stack_->addWidget(inline_);

    auto* bar = new QHBoxLayout;
    bar->addWidget(summary_, 1);
    bar->addWidget(position_);
    bar->addWidget(previous_);
    bar->addWidget(next_);
    bar->addWidget(inline_toggle_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(stack_, 1);

    connect(previous_, &QToolButton::clicked, this, &RedlineView::previousChange);
    connect(next_, &QToolButton::clicked, this, &RedlineView::nextChange);
    connect(inline_toggle_, &QToolButton::toggled, this,
            [this](bool on) { setPresentation(on ? Presentation::Inline : Presentation::SideBySide); });
    // Only while the redline has focus, so the main window keeps its own Alt+arrows elsewhere.
    auto* previous_key =
        new QShortcut(QKeySequence(Qt::ALT | Qt::Key_Up), this, this, &RedlineView::previousChange);
    auto* next_key =
        new QShortcut(QKeySequence(Qt::ALT | Qt::Key_Down), this, this, &RedlineView::nextChange);
    previous_key->setContext(Qt::WidgetWithChildrenShortcut);
    next_key->setContext(Qt::WidgetWithChildrenShortcut);
    updateNavigation();
}

bool RedlineView::compare(const QString& left_title, const QString& left_text, const QString& right_title,
                          const QString& right_text) {
    auto redline = compare::compareTexts(left_text, right_text);
    if (!redline) {
        showError(QString::fromStdString(redline.error()));
        return false;
    }
    showRedline(left_title, left_text, right_title, right_text, *redline);
    return true;
}

void RedlineView::showRedline(const QString& left_title, const QString& left_text, const QString& right_title,
                              const QString& right_text, const compare::Redline& redline) {
    clear();
    left_title_->setText(left_title);
    right_title_->setText(right_title);
    left_->setAccessibleDescription(left_title);
    right_->setAccessibleDescription(right_title);
    left_->setPlainText(left_text);
    right_->setPlainText(right_text);
    shown_ = true;
    spans_ = redline.spans;
    for (const compare::Change& change : redline.changes) changes_.push_back({change, {}});
    buildInline(left_text, right_text, redline);
    current_ = changes_.isEmpty() ? -1 : 0;
    markSides();
    markInlineCurrent();
    updateNavigation();
    if (current_ >= 0) goToChange(0);
}

void RedlineView::showError(const QString& message) {
    clear();
    error_ = message;
    updateNavigation();
}

void RedlineView::clear() {
    error_.clear();
    shown_ = false;
    spans_.clear();
    inline_spans_.clear();
    changes_.clear();
    current_ = -1;
    left_title_->clear();
    right_title_->clear();
    left_->setExtraSelections({});
    right_->setExtraSelections({});
    inline_->setExtraSelections({});
    left_->clear();
    right_->clear();
    inline_->clear();
}

void RedlineView::buildInline(const QString& left_text, const QString& right_text,
                              const compare::Redline& redline) {
    QTextCursor cursor(inline_->document());
    cursor.beginEditBlock();
    const QList<int> owners = changeOfSpans(redline.spans);
    for (qsizetype i = 0; i < redline.spans.size(); ++i) {
        const compare::DiffSpan& span = redline.spans[i];
        const qsizetype start = cursor.position();
        inline_spans_.push_back({start, start});
        if (span.kind == SpanKind::Equal)
            cursor.insertText(left_text.mid(span.left.start, span.left.end - span.left.start),
                              QTextCharFormat());
        else if (span.kind == SpanKind::Deleted)
            cursor.insertText(left_text.mid(span.left.start, span.left.end - span.left.start),
                              changeFormat(SpanKind::Deleted, false));
        else
            cursor.insertText(right_text.mid(span.right.start, span.right.end - span.right.start),
                              changeFormat(SpanKind::Inserted, false));
        inline_spans_.back().end = cursor.position();
        if (owners[i] < 0) continue;
        TextRange& range = changes_[owners[i]].inline_range;
        if (range.start == range.end) range.start = start;
        range.end = cursor.position();
    }
    cursor.endEditBlock();
}

void RedlineView::markSides() {
    QList<QTextEdit::ExtraSelection> left_marks, right_marks;
    const QList<int> owners = changeOfSpans(spans_);
    for (qsizetype i = 0; i < spans_.size(); ++i) {
        const compare::DiffSpan& span = spans_[i];
        if (span.kind == SpanKind::Equal) continue;
        const bool deleted = span.kind == SpanKind::Deleted;
        QPlainTextEdit* editor = deleted ? left_ : right_;
        const TextRange range = deleted ? span.left : span.right;
        QTextEdit::ExtraSelection mark;
        mark.cursor = QTextCursor(editor->document());
        mark.cursor.setPosition(int(range.start));
        mark.cursor.setPosition(int(range.end), QTextCursor::KeepAnchor);
        mark.format = changeFormat(span.kind, owners[i] == current_);
        (deleted ? left_marks : right_marks).push_back(mark);
    }
    left_->setExtraSelections(left_marks);
    right_->setExtraSelections(right_marks);
}

// The current change is an overlay (an extra selection), not a format change: re-formatting text
// re-lays out its whole paragraph, which takes half a second in a 100k-word paragraph.
void RedlineView::markInlineCurrent() {
    QList<QTextEdit::ExtraSelection> marks;
    const QList<int> owners = changeOfSpans(spans_);
    for (qsizetype i = 0; i < spans_.size(); ++i) {
        if (owners[i] != current_ || current_ < 0) continue;
        QTextEdit::ExtraSelection mark;
        mark.cursor = QTextCursor(inline_->document());
        mark.cursor.setPosition(int(inline_spans_[i].start));
        mark.cursor.setPosition(int(inline_spans_[i].end), QTextCursor::KeepAnchor);
        mark.format = changeFormat(spans_[i].kind, true);
        marks.push_back(mark);
    }
    inline_->setExtraSelections(marks);
}

void RedlineView::goToChange(int index) {
    if (index < 0 || index >= changes_.size()) return;
    const int previous = current_;
    current_ = index;
    markSides();
    markInlineCurrent();
    const ShownChange& change = changes_[index];
    placeCursor(left_, change.sides.left.start);
    placeCursor(right_, change.sides.right.start);
    placeCursor(inline_, change.inline_range.start);
    updateNavigation();
    if (previous != current_) emit currentChangeChanged(current_);
}

void RedlineView::nextChange() {
    goToChange(current_ + 1);
}

void RedlineView::previousChange() {
    goToChange(current_ - 1);
}

void RedlineView::setPresentation(Presentation presentation) {
    presentation_ = presentation;
    stack_->setCurrentIndex(presentation == Presentation::Inline ? 1 : 0);
    const QSignalBlocker block(inline_toggle_);
    inline_toggle_->setChecked(presentation == Presentation::Inline);
}

QString RedlineView::summary() const {
    if (!error_.isEmpty()) return error_;
    if (!shown_) return {};
    if (changes_.isEmpty()) return QStringLiteral("No differences");
    return changes_.size() == 1 ? QStringLiteral("1 change")
                                : QStringLiteral("%1 changes").arg(changes_.size());
}

void RedlineView::updateNavigation() {
    summary_->setText(summary());
    position_->setText(
        current_ >= 0 ? QStringLiteral("Change %1 of %2").arg(current_ + 1).arg(changes_.size()) : QString());
    previous_->setEnabled(current_ > 0);
    next_->setEnabled(current_ >= 0 && current_ + 1 < changes_.size());
}

QPlainTextEdit* RedlineView::editor(Pane pane) const {
    return pane == Pane::Left ? left_ : pane == Pane::Right ? right_ : inline_;
}

QList<RedlineView::Highlight> RedlineView::highlights(Pane pane) const {
    QList<Highlight> out;
    const auto add = [&out](qsizetype start, qsizetype end, const QTextFormat& format) {
        if (!format.hasProperty(kKindProperty)) return;
        out.push_back({{start, end},
                       SpanKind(format.intProperty(kKindProperty)),
                       format.boolProperty(kCurrentProperty)});
    };
    if (pane != Pane::Inline) {
        for (const QTextEdit::ExtraSelection& mark : editor(pane)->extraSelections())
            add(mark.cursor.selectionStart(), mark.cursor.selectionEnd(), mark.format);
        return out;
    }
    const QList<QTextEdit::ExtraSelection> current = inline_->extraSelections();
    for (QTextBlock block = inline_->document()->begin(); block.isValid(); block = block.next()) {
        for (auto fragment = block.begin(); !fragment.atEnd(); ++fragment) {
            const QTextFragment piece = fragment.fragment();
            const qsizetype start = piece.position(), end = start + piece.length();
            add(start, end, piece.charFormat());
            if (out.isEmpty() || out.back().range.start != start) continue;
            out.back().current =
                std::any_of(current.begin(), current.end(), [&](const QTextEdit::ExtraSelection& mark) {
                    return mark.cursor.selectionStart() <= start && end <= mark.cursor.selectionEnd();
                });
        }
    }
    return out;
}

} // namespace lectern::ui
