#pragma once
// A continuous view of a PDF's pages: rendering off the GUI thread with a per-page, per-scale cache;
// zoom and fit; find (all matches, next/previous); word-flow text selection and copy; and highlight boxes
// given in PDF points, which is how citations point into a page.

#include "kernels/result.h"

#include <QAbstractScrollArea>
#include <QCache>
#include <QFutureWatcher>
#include <QHash>
#include <QImage>
#include <QList>
#include <QRectF>
#include <QSizeF>

#include <memory>

namespace Poppler {
class Document;
}

namespace lectern::ui {

class PageRenderer;

class PdfView : public QAbstractScrollArea {
    Q_OBJECT
public:
    enum class Fit { None, Width, Page };
    struct Match {
        int page = 1; // 1-based
        QRectF rect;  // PDF points
    };

    explicit PdfView(QWidget* parent = nullptr);
    ~PdfView() override;

    Result<void> open(const QString& path);
    void close();
    const QString& path() const { return path_; }
    int pageCount() const { return int(pageSizes_.size()); }
    QSizeF pageSize(int page) const; // points

    int currentPage() const; // 1-based; the page under the middle of the view
    void goToPage(int page);

    double zoom() const { return zoom_; } // 1.0 shows a page at its printed size
    void setZoom(double zoom);
    void zoomIn();
    void zoomOut();
    void setFit(Fit fit);
    Fit fit() const { return fit_; }
    double pixelsPerPoint() const;

    // Highlights `rects` (points) on `page` and scrolls them into the middle of the view.
    void showLocation(int page, const QList<QRectF>& rects);
    void clearLocation();
    int locationPage() const { return locationPage_; }
    const QList<QRectF>& locationRects() const { return locationRects_; }

    // Starts a search of every page (on a worker thread); findFinished reports the number of matches.
    void find(const QString& text);
    bool isSearching() const { return findWatcher_.isRunning(); }
    void findNext();
    void findPrevious();
    const QList<Match>& matches() const { return matches_; }
    int currentMatch() const { return currentMatch_; } // -1 when none

    QString selectedText() const;
    void copy() const;
    void clearSelection();

    // Where a rectangle in points on `page` is in viewport pixels now.
    QRectF mapFromPage(int page, const QRectF& points) const;
    // Whether `page` is drawn from a render at the current scale (not a stretched older one).
    bool isRendered(int page) const;

signals:
    void currentPageChanged(int page);
    void zoomChanged(double zoom);
    void findFinished(int matches);
    void currentMatchChanged(int index);
    void selectionChanged(bool hasSelection);
    void pageRendered(int page);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;

private:
    struct Word {
        QRectF rect; // points
        QString text;
        bool spaceAfter = false;
    };
    struct WordPosition {
        int page = 0; // 0 when nothing is selected
        int index = 0;
        friend auto operator<=>(const WordPosition&, const WordPosition&) = default;
    };

    void relayout();
    void zoomTo(double zoom); // keeps the fit mode, which setZoom ends
    void applyFit();
    QRectF pageRectInContent(int pageIndex) const; // pixels, content coordinates
    int pageIndexAtContentY(double y) const;
    void requestVisiblePages();
    void onRendered(const QString& path, int pageIndex, double scale, const QImage& image);
    void scrollToContentRect(const QRectF& rect);
    void showMatch(int index);
    void onFindFinished();
    void emitPageIfChanged();
    const QList<Word>& wordsOn(int pageIndex) const;
    WordPosition wordAt(const QPoint& viewportPoint) const;
    QList<QRectF> selectedRectsOn(int pageIndex) const;
    static quint64 cacheKey(int pageIndex, double scale);

    QString path_;
    std::unique_ptr<Poppler::Document> document_;
    QList<QSizeF> pageSizes_;
    QList<double> pageTops_; // content pixels, per page, at the current zoom
    double contentWidth_ = 0;
    double contentHeight_ = 0;
    double zoom_ = 1.0;
    Fit fit_ = Fit::Width;
    int lastReportedPage_ = 0;

    PageRenderer* renderer_ = nullptr;
    QCache<quint64, QImage> cache_;      // cost in KiB
    QHash<int, quint64> newestRenderOf_; // page index -> cache key, for drawing stretched while re-rendering

    int locationPage_ = 0;
    QList<QRectF> locationRects_;

    QList<Match> matches_;
    int currentMatch_ = -1;
    QFutureWatcher<QList<Match>> findWatcher_;

    mutable QHash<int, QList<Word>> words_;
    WordPosition selectionAnchor_;
    WordPosition selectionEnd_;
    bool selecting_ = false;
};

} // namespace lectern::ui
