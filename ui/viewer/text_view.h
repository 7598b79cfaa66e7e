#pragma once
// Reflowable documents (text, Markdown, code, mail bodies, office text): a read-only editor with
// KSyntaxHighlighting, find, and highlighting of a character range on a logical page.

#include "importers/document.h"

#include <QList>
#include <QPlainTextEdit>

namespace KSyntaxHighlighting {
class SyntaxHighlighter;
}

namespace lectern::ui {

class TextView : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit TextView(QWidget* parent = nullptr);

    // `syntax` is a KSyntaxHighlighting definition name ("C++") or a file name to guess one from;
    // plain text when neither matches. Pages are shown one after another, separated by a blank line.
    void setPages(const QStringList& pageTexts, const QString& syntax);
    QString syntaxName() const;
    int pageCount() const { return int(pageStarts_.size()); }

    // Highlights `range` of page `page` (1-based) and scrolls it into the middle of the view.
    void showRange(int page, importers::TextRange range);
    // Document positions of the highlighted range, or {0, 0}.
    importers::TextRange highlightedRange() const { return highlighted_; }

    void find(const QString& text);
    void findNext();
    void findPrevious();
    int matchCount() const { return int(matches_.size()); }
    int currentMatch() const { return currentMatch_; }
    importers::TextRange matchRange(int index) const { return matches_.value(index); }

    void zoomBy(int steps);
    void resetZoom();

signals:
    void findFinished(int matches);
    void currentMatchChanged(int index);

private:
    void showMatch(int index);
    void updateExtraSelections();

    KSyntaxHighlighting::SyntaxHighlighter* highlighter_ = nullptr;
    QList<qsizetype> pageStarts_;
    importers::TextRange highlighted_;
    QList<importers::TextRange> matches_;
    int currentMatch_ = -1;
    int zoomSteps_ = 0;
};

} // namespace lectern::ui
