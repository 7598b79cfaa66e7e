#include "ui/viewer/text_view.h"

#include <KSyntaxHighlighting/Definition>
#include <KSyntaxHighlighting/Repository>
#include <KSyntaxHighlighting/SyntaxHighlighter>
#include <KSyntaxHighlighting/Theme>
#include <QFontDatabase>
#include <QTextBlock>
#include <QTextDocument>

#include <algorithm>

namespace lectern::ui {
namespace {

// Loading ~300 definitions takes a while: once per process.
KSyntaxHighlighting::Repository& repository() {
    static KSyntaxHighlighting::Repository instance;
    return instance;
}

const QString kPageSeparator = QStringLiteral("\n\n");

} // namespace

TextView::TextView(QWidget* parent) : QPlainTextEdit(parent) {
    setObjectName(QStringLiteral("textView"));
    setAccessibleName(QStringLiteral("Document text"));
    setReadOnly(true);
    setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
    highlighter_ = new KSyntaxHighlighting::SyntaxHighlighter(document());
    const bool dark = palette().color(QPalette::Base).lightness() < 128;
    highlighter_->setTheme(repository().defaultTheme(dark ? KSyntaxHighlighting::Repository::DarkTheme
                                                          : KSyntaxHighlighting::Repository::LightTheme));
}

void TextView::setPages(const QStringList& pageTexts, const QString& syntax) {
    resetZoom();
    KSyntaxHighlighting::Definition definition = repository().definitionForName(syntax);
    if (!definition.isValid()) definition = repository().definitionForFileName(syntax);
    const bool code = definition.isValid() && definition.name() != QLatin1String("Markdown");
    setFont(code ? QFontDatabase::systemFont(QFontDatabase::FixedFont) : QFont());
    setLineWrapMode(code ? QPlainTextEdit::NoWrap : QPlainTextEdit::WidgetWidth);
    highlighter_->setDefinition(definition);

    pageStarts_.clear();
    QString all;
    for (const QString& text : pageTexts) {
        if (!pageStarts_.isEmpty()) all += kPageSeparator;
        pageStarts_.append(all.size());
        all += text;
    }
    setPlainText(all);
    highlighted_ = {};
    matches_.clear();
    currentMatch_ = -1;
    updateExtraSelections();
}

QString TextView::syntaxName() const {
    return highlighter_->definition().name();
}

void TextView::showRange(int page, importers::TextRange range) {
    if (pageStarts_.isEmpty()) return;
    const qsizetype base = pageStarts_[std::clamp(page, 1, pageCount()) - 1];
    const qsizetype size = document()->characterCount() - 1;
    highlighted_ = {std::clamp(base + range.start, qsizetype(0), size),
                    std::clamp(base + range.end, qsizetype(0), size)};
    updateExtraSelections();
    QTextCursor cursor(document());
    cursor.setPosition(int(highlighted_.end));
    setTextCursor(cursor);
    cursor.setPosition(int(highlighted_.start));
    setTextCursor(cursor);
    centerCursor();
}

void TextView::updateExtraSelections() {
    QList<QTextEdit::ExtraSelection> selections;
    const auto add = [&](importers::TextRange range, const QColor& color) {
        QTextEdit::ExtraSelection selection;
        selection.cursor = QTextCursor(document());
        selection.cursor.setPosition(int(range.start));
        selection.cursor.setPosition(int(range.end), QTextCursor::KeepAnchor);
        selection.format.setBackground(color);
        selections.append(selection);
    };
    for (int i = 0; i < matches_.size(); ++i)
        add(matches_[i], i == currentMatch_ ? QColor(255, 160, 40) : QColor(255, 230, 90));
    if (highlighted_.end > highlighted_.start) add(highlighted_, QColor(150, 200, 255));
    setExtraSelections(selections);
}

void TextView::find(const QString& text) {
    matches_.clear();
    currentMatch_ = -1;
    if (!text.isEmpty()) {
        QTextCursor cursor(document());
        for (;;) {
            cursor = document()->find(text, cursor);
            if (cursor.isNull()) break;
            matches_.append({cursor.selectionStart(), cursor.selectionEnd()});
        }
    }
    updateExtraSelections();
    if (!matches_.isEmpty()) {
        const int from = textCursor().position();
        int index = 0;
        while (index < matches_.size() && matches_[index].start < from) ++index;
        showMatch(index < matches_.size() ? index : 0);
    }
    emit findFinished(int(matches_.size()));
}

void TextView::showMatch(int index) {
    if (matches_.isEmpty()) return;
    const int count = int(matches_.size());
    currentMatch_ = (index % count + count) % count;
    QTextCursor cursor(document());
    cursor.setPosition(int(matches_[currentMatch_].start));
    setTextCursor(cursor);
    centerCursor();
    updateExtraSelections();
    emit currentMatchChanged(currentMatch_);
}

void TextView::findNext() {
    showMatch(currentMatch_ + 1);
}
void TextView::findPrevious() {
    showMatch(currentMatch_ - 1);
}

void TextView::zoomBy(int steps) {
    zoomIn(steps);
    zoomSteps_ += steps;
}

void TextView::resetZoom() {
    zoomOut(zoomSteps_);
    zoomSteps_ = 0;
}

} // namespace lectern::ui
