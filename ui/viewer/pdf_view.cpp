#include "ui/viewer/pdf_view.h"

#include "ui/viewer/page_renderer.h"

#include <QApplication>
#include <QClipboard>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollBar>
#include <QWheelEvent>
#include <QtConcurrent>
#include <poppler-qt6.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace lectern::ui {
namespace {

constexpr double kMargin = 12; // pixels around and between pages
constexpr double kMinZoom = 0.1;
constexpr double kMaxZoom = 8.0;
constexpr std::array kZoomSteps{0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25,
                                1.5,  1.75, 2.0, 2.5,  3.0,  4.0, 5.0, 6.0, 8.0};
constexpr int kCacheKiB = 256 * 1024;

double distanceToRect(const QPointF& p, const QRectF& r) {
    const double dx = std::max({r.left() - p.x(), 0.0, p.x() - r.right()});
    const double dy = std::max({r.top() - p.y(), 0.0, p.y() - r.bottom()});
    return std::hypot(dx, dy * 2); // a line above or below is farther than a word beside
}

} // namespace

PdfView::PdfView(QWidget* parent) : QAbstractScrollArea(parent), renderer_(new PageRenderer(this)) {
    setObjectName(QStringLiteral("pdfView"));
    setAccessibleName(QStringLiteral("PDF pages"));
    setFocusPolicy(Qt::StrongFocus);
    viewport()->setCursor(Qt::IBeamCursor);
    viewport()->setAutoFillBackground(true);
    QPalette palette = viewport()->palette();
    palette.setColor(QPalette::Window, palette.color(QPalette::Mid));
    viewport()->setPalette(palette);
    cache_.setMaxCost(kCacheKiB);
    connect(renderer_, &PageRenderer::rendered, this, &PdfView::onRendered, Qt::QueuedConnection);
    connect(&findWatcher_, &QFutureWatcher<QList<Match>>::finished, this, &PdfView::onFindFinished);
}

PdfView::~PdfView() {
    findWatcher_.waitForFinished();
}

Result<void> PdfView::open(const QString& path) {
    std::unique_ptr<Poppler::Document> document = Poppler::Document::load(path);
    if (!document)
        return Error{QStringLiteral("Cannot open %1: it is missing, unreadable or not a PDF.")
                         .arg(path)
                         .toStdString()};
    if (document->isLocked())
        return Error{QStringLiteral("%1 is protected by a password; Lectern cannot open encrypted PDFs.")
                         .arg(path)
                         .toStdString()};
    close();
    path_ = path;
    document_ = std::move(document);
    for (int i = 0; i < document_->numPages(); ++i) {
        std::unique_ptr<Poppler::Page> page = document_->page(i);
        pageSizes_.append(page ? page->pageSizeF() : QSizeF(612, 792));
    }
    renderer_->setDocument(path_);
    relayout();
    verticalScrollBar()->setValue(0);
    horizontalScrollBar()->setValue(0);
    requestVisiblePages();
    viewport()->update();
    emitPageIfChanged();
    return {};
}

void PdfView::close() {
    findWatcher_.cancel();
    findWatcher_.waitForFinished();
    path_.clear();
    document_.reset();
    pageSizes_.clear();
    pageTops_.clear();
    cache_.clear();
    newestRenderOf_.clear();
    words_.clear();
    matches_.clear();
    currentMatch_ = -1;
    locationPage_ = 0;
    locationRects_.clear();
    selectionAnchor_ = selectionEnd_ = {};
    lastReportedPage_ = 0;
    renderer_->setDocument(QString());
    relayout();
    viewport()->update();
}

QSizeF PdfView::pageSize(int page) const {
    return page >= 1 && page <= pageCount() ? pageSizes_[page - 1] : QSizeF();
}

double PdfView::pixelsPerPoint() const {
    return zoom_ * logicalDpiY() / 72.0;
}

void PdfView::relayout() {
    const double ppp = pixelsPerPoint();
    pageTops_.clear();
    double y = kMargin;
    double widest = 0;
    for (const QSizeF& size : pageSizes_) {
        pageTops_.append(y);
        y += size.height() * ppp + kMargin;
        widest = std::max(widest, size.width() * ppp);
    }
    contentWidth_ = widest + 2 * kMargin;
    contentHeight_ = pageSizes_.isEmpty() ? 0 : y;
    const QSize view = viewport()->size();
    verticalScrollBar()->setRange(0, std::max(0, int(std::lround(contentHeight_)) - view.height()));
    verticalScrollBar()->setPageStep(view.height());
    verticalScrollBar()->setSingleStep(std::max(20, view.height() / 20));
    // Rounded, not ceiled: at fit width the content is the view's width give or take a rounding error.
    horizontalScrollBar()->setRange(0, std::max(0, int(std::lround(contentWidth_)) - view.width()));
    horizontalScrollBar()->setPageStep(view.width());
    horizontalScrollBar()->setSingleStep(20);
}

QRectF PdfView::pageRectInContent(int pageIndex) const {
    const double ppp = pixelsPerPoint();
    const QSizeF size = pageSizes_[pageIndex] * ppp;
    const double available = std::max(contentWidth_, double(viewport()->width()));
    return QRectF((available - size.width()) / 2, pageTops_[pageIndex], size.width(), size.height());
}

int PdfView::pageIndexAtContentY(double y) const {
    if (pageTops_.isEmpty()) return -1;
    const auto after = std::upper_bound(pageTops_.begin(), pageTops_.end(), y);
    return std::max(0, int(after - pageTops_.begin()) - 1);
}

QRectF PdfView::mapFromPage(int page, const QRectF& points) const {
    if (page < 1 || page > pageCount()) return {};
    const double ppp = pixelsPerPoint();
    const QRectF pageRect = pageRectInContent(page - 1);
    return QRectF(pageRect.left() + points.left() * ppp - horizontalScrollBar()->value(),
                  pageRect.top() + points.top() * ppp - verticalScrollBar()->value(), points.width() * ppp,
                  points.height() * ppp);
}

int PdfView::currentPage() const {
    if (pageTops_.isEmpty()) return 0;
    // The page that fills most of the view: after goToPage(n) that is n, even for a short last page.
    const double top = verticalScrollBar()->value();
    const double bottom = top + viewport()->height();
    int best = pageIndexAtContentY(top);
    double bestVisible = -1;
    for (int i = best; i < pageCount() && pageTops_[i] < bottom; ++i) {
        const double pageBottom = pageTops_[i] + pageSizes_[i].height() * pixelsPerPoint();
        const double visible = std::min(bottom, pageBottom) - std::max(top, pageTops_[i]);
        if (visible > bestVisible + 0.5) {
            bestVisible = visible;
            best = i;
        }
    }
    return best + 1;
}

void PdfView::goToPage(int page) {
    if (pageCount() == 0) return;
    page = std::clamp(page, 1, pageCount());
    verticalScrollBar()->setValue(int(pageTops_[page - 1] - kMargin));
    emitPageIfChanged();
}

void PdfView::emitPageIfChanged() {
    const int page = currentPage();
    if (page != lastReportedPage_) {
        lastReportedPage_ = page;
        emit currentPageChanged(page);
    }
}

void PdfView::setZoom(double zoom) {
    fit_ = Fit::None;
    zoomTo(zoom);
}

void PdfView::zoomTo(double zoom) {
    zoom = std::clamp(zoom, kMinZoom, kMaxZoom);
    if (std::abs(zoom - zoom_) < 1e-6) return;
    // Keep the point under the top of the view where it is on its page.
    const int pageIndex = pageIndexAtContentY(verticalScrollBar()->value());
    double offsetInPage = 0;
    if (pageIndex >= 0)
        offsetInPage = (verticalScrollBar()->value() - pageTops_[pageIndex]) / pixelsPerPoint();
    zoom_ = zoom;
    relayout();
    if (pageIndex >= 0)
        verticalScrollBar()->setValue(int(pageTops_[pageIndex] + offsetInPage * pixelsPerPoint()));
    requestVisiblePages();
    viewport()->update();
    emit zoomChanged(zoom_);
}

void PdfView::zoomIn() {
    for (double step : kZoomSteps)
        if (step > zoom_ + 1e-3) return setZoom(step);
}

void PdfView::zoomOut() {
    for (auto it = kZoomSteps.rbegin(); it != kZoomSteps.rend(); ++it)
        if (*it < zoom_ - 1e-3) return setZoom(*it);
}

void PdfView::setFit(Fit fit) {
    if (fit == Fit::None) {
        fit_ = fit;
        return;
    }
    fit_ = fit;
    applyFit();
}

void PdfView::applyFit() {
    if (fit_ == Fit::None || pageSizes_.isEmpty()) return;
    const QSizeF page = pageSizes_[std::max(0, currentPage() - 1)];
    const double pointsToPixels = logicalDpiY() / 72.0;
    const double availableWidth = viewport()->width() - 2 * kMargin;
    const double availableHeight = viewport()->height() - 2 * kMargin;
    double zoom = availableWidth / (page.width() * pointsToPixels);
    if (fit_ == Fit::Page) zoom = std::min(zoom, availableHeight / (page.height() * pointsToPixels));
    const int current = currentPage();
    zoomTo(zoom);
    if (fit_ == Fit::Page) goToPage(current);
}

void PdfView::scrollToContentRect(const QRectF& rect) {
    const QSize view = viewport()->size();
    if (rect.height() < view.height())
        verticalScrollBar()->setValue(int(rect.center().y() - view.height() / 2.0));
    else
        verticalScrollBar()->setValue(int(rect.top() - kMargin));
    const int left = horizontalScrollBar()->value();
    if (rect.left() < left || rect.right() > left + view.width())
        horizontalScrollBar()->setValue(int(rect.center().x() - view.width() / 2.0));
    emitPageIfChanged();
    requestVisiblePages();
    viewport()->update();
}

void PdfView::showLocation(int page, const QList<QRectF>& rects) {
    if (pageCount() == 0) return;
    locationPage_ = std::clamp(page, 1, pageCount());
    locationRects_ = rects;
    if (rects.isEmpty()) {
        goToPage(locationPage_);
        viewport()->update();
        return;
    }
    QRectF united;
    for (const QRectF& r : rects) united = united.united(r);
    const QRectF inView = mapFromPage(locationPage_, united);
    scrollToContentRect(inView.translated(horizontalScrollBar()->value(), verticalScrollBar()->value()));
}

void PdfView::clearLocation() {
    locationPage_ = 0;
    locationRects_.clear();
    viewport()->update();
}

// ---- rendering ----

quint64 PdfView::cacheKey(int pageIndex, double scale) {
    return (quint64(pageIndex) << 32) | quint64(std::lround(scale * 10000));
}

bool PdfView::isRendered(int page) const {
    return cache_.contains(cacheKey(page - 1, pixelsPerPoint() * devicePixelRatioF()));
}

void PdfView::requestVisiblePages() {
    if (pageTops_.isEmpty()) return;
    const double scale = pixelsPerPoint() * devicePixelRatioF();
    const double top = verticalScrollBar()->value();
    const int first = pageIndexAtContentY(top);
    const int last = pageIndexAtContentY(top + viewport()->height());
    QList<RenderRequest> wanted;
    // Visible pages first, then one ahead and one behind so paging feels instant.
    for (int i = first; i <= last + 1 && i < pageCount(); ++i)
        if (!cache_.contains(cacheKey(i, scale))) wanted.append({i, scale});
    if (first > 0 && !cache_.contains(cacheKey(first - 1, scale))) wanted.append({first - 1, scale});
    renderer_->request(wanted);
}

void PdfView::onRendered(const QString& path, int pageIndex, double scale, const QImage& image) {
    if (path != path_) return;
    const quint64 key = cacheKey(pageIndex, scale);
    cache_.insert(key, new QImage(image), std::max<qsizetype>(1, image.sizeInBytes() / 1024));
    newestRenderOf_[pageIndex] = key;
    if (std::abs(scale - pixelsPerPoint() * devicePixelRatioF()) < 1e-4) {
        viewport()->update();
        emit pageRendered(pageIndex + 1);
    }
}

void PdfView::paintEvent(QPaintEvent* event) {
    QPainter painter(viewport());
    painter.fillRect(event->rect(), viewport()->palette().color(QPalette::Window));
    if (pageTops_.isEmpty()) return;
    const double scale = pixelsPerPoint() * devicePixelRatioF();
    const QPointF scroll(horizontalScrollBar()->value(), verticalScrollBar()->value());
    const int first = pageIndexAtContentY(scroll.y());
    const int last = pageIndexAtContentY(scroll.y() + viewport()->height());
    const QColor matchColor(255, 220, 0, 110);
    const QColor currentMatchColor(255, 140, 0, 150);
    const QColor locationColor(40, 140, 255, 80);
    QColor selectionColor = palette().color(QPalette::Highlight);
    selectionColor.setAlpha(110);
    for (int i = first; i <= last; ++i) {
        const QRectF pageRect = pageRectInContent(i).translated(-scroll);
        painter.fillRect(pageRect.translated(2, 2), QColor(0, 0, 0, 60));
        painter.fillRect(pageRect, Qt::white);
        const QImage* image = cache_.object(cacheKey(i, scale));
        if (!image && newestRenderOf_.contains(i)) image = cache_.object(newestRenderOf_.value(i));
        if (image) {
            painter.setRenderHint(QPainter::SmoothPixmapTransform,
                                  image->width() != qRound(pageRect.width()));
            painter.drawImage(pageRect, *image);
        }
        const int page = i + 1;
        for (int m = 0; m < matches_.size(); ++m)
            if (matches_[m].page == page)
                painter.fillRect(mapFromPage(page, matches_[m].rect),
                                 m == currentMatch_ ? currentMatchColor : matchColor);
        if (page == locationPage_) {
            painter.setPen(QPen(QColor(20, 100, 220), 1.5));
            for (const QRectF& r : locationRects_) {
                const QRectF box = mapFromPage(page, r).adjusted(-1, -1, 1, 1);
                painter.fillRect(box, locationColor);
                painter.drawRect(box);
            }
            painter.setPen(Qt::NoPen);
        }
        for (const QRectF& r : selectedRectsOn(i)) painter.fillRect(mapFromPage(page, r), selectionColor);
    }
}

void PdfView::resizeEvent(QResizeEvent* event) {
    QAbstractScrollArea::resizeEvent(event);
    relayout();
    if (fit_ != Fit::None) applyFit();
    requestVisiblePages();
}

void PdfView::scrollContentsBy(int, int) {
    requestVisiblePages();
    viewport()->update();
    emitPageIfChanged();
}

void PdfView::wheelEvent(QWheelEvent* event) {
    if (event->modifiers() & Qt::ControlModifier) {
        event->angleDelta().y() > 0 ? zoomIn() : zoomOut();
        event->accept();
        return;
    }
    QAbstractScrollArea::wheelEvent(event);
}

void PdfView::keyPressEvent(QKeyEvent* event) {
    if (event->matches(QKeySequence::Copy)) {
        copy();
        return event->accept();
    }
    if (event->matches(QKeySequence::MoveToStartOfDocument)) {
        goToPage(1);
        return event->accept();
    }
    if (event->matches(QKeySequence::MoveToEndOfDocument)) {
        goToPage(pageCount());
        return event->accept();
    }
    QAbstractScrollArea::keyPressEvent(event);
}

// ---- find ----

void PdfView::find(const QString& text) {
    findWatcher_.cancel();
    findWatcher_.waitForFinished();
    matches_.clear();
    currentMatch_ = -1;
    viewport()->update();
    if (text.isEmpty() || path_.isEmpty()) {
        emit findFinished(0);
        return;
    }
    // Its own Poppler document: the GUI thread's one stays free for painting and selection.
    findWatcher_.setFuture(QtConcurrent::run([path = path_, text](QPromise<QList<Match>>& promise) {
        std::unique_ptr<Poppler::Document> document = Poppler::Document::load(path);
        QList<Match> found;
        if (document && !document->isLocked()) {
            for (int i = 0; i < document->numPages() && !promise.isCanceled(); ++i) {
                std::unique_ptr<Poppler::Page> page = document->page(i);
                if (!page) continue;
                for (const QRectF& rect : page->search(text, Poppler::Page::IgnoreCase))
                    found.append({i + 1, rect});
            }
        }
        promise.addResult(found);
    }));
}

void PdfView::onFindFinished() {
    if (findWatcher_.isCanceled() || findWatcher_.future().resultCount() == 0) return;
    matches_ = findWatcher_.result();
    currentMatch_ = -1;
    if (!matches_.isEmpty()) {
        // Start from the page being read, not from the top of the document.
        const int from = currentPage();
        int index = 0;
        while (index < matches_.size() && matches_[index].page < from) ++index;
        showMatch(index < matches_.size() ? index : 0);
    }
    viewport()->update();
    emit findFinished(int(matches_.size()));
}

void PdfView::showMatch(int index) {
    if (matches_.isEmpty()) return;
    currentMatch_ = (index % int(matches_.size()) + int(matches_.size())) % int(matches_.size());
    const Match& match = matches_[currentMatch_];
    const QRectF inView = mapFromPage(match.page, match.rect);
    const QRectF content = inView.translated(horizontalScrollBar()->value(), verticalScrollBar()->value());
    if (!viewport()->rect().contains(inView.toAlignedRect())) scrollToContentRect(content);
    viewport()->update();
    emit currentMatchChanged(currentMatch_);
}

void PdfView::findNext() {
    showMatch(currentMatch_ + 1);
}
void PdfView::findPrevious() {
    showMatch(currentMatch_ - 1);
}

// ---- selection ----

const QList<PdfView::Word>& PdfView::wordsOn(int pageIndex) const {
    auto it = words_.find(pageIndex);
    if (it != words_.end()) return *it;
    QList<Word> words;
    if (document_) {
        if (std::unique_ptr<Poppler::Page> page = document_->page(pageIndex)) {
            for (const std::unique_ptr<Poppler::TextBox>& box : page->textList())
                words.append({box->boundingBox(), box->text(), box->hasSpaceAfter()});
        }
    }
    return *words_.insert(pageIndex, words);
}

PdfView::WordPosition PdfView::wordAt(const QPoint& viewportPoint) const {
    if (pageTops_.isEmpty()) return {};
    const int pageIndex =
        std::min(pageIndexAtContentY(viewportPoint.y() + verticalScrollBar()->value()), pageCount() - 1);
    const QRectF pageRect = mapFromPage(pageIndex + 1, QRectF(QPointF(0, 0), pageSizes_[pageIndex]));
    const QPointF inPoints = (QPointF(viewportPoint) - pageRect.topLeft()) / pixelsPerPoint();
    const QList<Word>& words = wordsOn(pageIndex);
    if (words.isEmpty()) return {};
    int best = 0;
    double bestDistance = std::numeric_limits<double>::max();
    for (int i = 0; i < words.size(); ++i) {
        const double d = distanceToRect(inPoints, words[i].rect);
        if (d < bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    return {pageIndex + 1, best};
}

QList<QRectF> PdfView::selectedRectsOn(int pageIndex) const {
    if (selectionAnchor_.page == 0 || selectionEnd_.page == 0) return {};
    const auto [from, to] = std::minmax(selectionAnchor_, selectionEnd_);
    const int page = pageIndex + 1;
    if (page < from.page || page > to.page) return {};
    const QList<Word>& words = wordsOn(pageIndex);
    const int first = page == from.page ? from.index : 0;
    const int last = page == to.page ? to.index : int(words.size()) - 1;
    QList<QRectF> rects;
    for (int i = first; i <= last && i < words.size(); ++i) rects.append(words[i].rect);
    return rects;
}

QString PdfView::selectedText() const {
    if (selectionAnchor_.page == 0 || selectionEnd_.page == 0) return {};
    const auto [from, to] = std::minmax(selectionAnchor_, selectionEnd_);
    QString text;
    for (int page = from.page; page <= to.page; ++page) {
        const QList<Word>& words = wordsOn(page - 1);
        const int first = page == from.page ? from.index : 0;
        const int last = page == to.page ? to.index : int(words.size()) - 1;
        for (int i = first; i <= last && i < words.size(); ++i) {
            text += words[i].text;
            if (i == last) break;
            const bool newLine = words[i + 1].rect.top() >= words[i].rect.center().y();
            if (newLine)
                text += QLatin1Char('\n');
            else if (words[i].spaceAfter)
                text += QLatin1Char(' ');
        }
        if (page != to.page) text += QLatin1Char('\n');
    }
    return text;
}

void PdfView::copy() const {
    const QString text = selectedText();
    if (!text.isEmpty()) QApplication::clipboard()->setText(text);
}

void PdfView::clearSelection() {
    const bool had = selectionAnchor_.page != 0;
    selectionAnchor_ = selectionEnd_ = {};
    viewport()->update();
    if (had) emit selectionChanged(false);
}

void PdfView::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QAbstractScrollArea::mousePressEvent(event);
    // A click only places the anchor: nothing is selected until the mouse moves.
    selectionAnchor_ = wordAt(event->position().toPoint());
    selectionEnd_ = {};
    selecting_ = selectionAnchor_.page != 0;
    viewport()->update();
    emit selectionChanged(false);
}

void PdfView::mouseDoubleClickEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return QAbstractScrollArea::mouseDoubleClickEvent(event);
    selectionAnchor_ = selectionEnd_ = wordAt(event->position().toPoint());
    selecting_ = false;
    viewport()->update();
    emit selectionChanged(selectionAnchor_.page != 0);
}

void PdfView::mouseMoveEvent(QMouseEvent* event) {
    if (!selecting_) return QAbstractScrollArea::mouseMoveEvent(event);
    const WordPosition end = wordAt(event->position().toPoint());
    if (end.page != 0 && end != selectionEnd_) {
        const bool first = selectionEnd_.page == 0;
        selectionEnd_ = end;
        viewport()->update();
        if (first) emit selectionChanged(true);
    }
}

void PdfView::mouseReleaseEvent(QMouseEvent* event) {
    if (!selecting_) return QAbstractScrollArea::mouseReleaseEvent(event);
    selecting_ = false;
    // Selecting also fills the X11 primary selection, as every reader on Linux does.
    if (QApplication::clipboard()->supportsSelection())
        QApplication::clipboard()->setText(selectedText(), QClipboard::Selection);
}

} // namespace lectern::ui
