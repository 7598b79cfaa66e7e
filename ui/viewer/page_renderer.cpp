#include "ui/viewer/page_renderer.h"

#include <QMutexLocker>
#include <poppler-qt6.h>

#include <memory>

namespace lectern::ui {

PageRenderer::PageRenderer(QObject* parent) : QThread(parent) {
    start(QThread::LowPriority);
}

PageRenderer::~PageRenderer() {
    {
        QMutexLocker lock(&mutex_);
        stopping_ = true;
        pending_.clear();
    }
    wake_.wakeAll();
    wait();
}

void PageRenderer::setDocument(const QString& path) {
    QMutexLocker lock(&mutex_);
    path_ = path;
    pending_.clear();
}

void PageRenderer::request(const QList<RenderRequest>& requests) {
    {
        QMutexLocker lock(&mutex_);
        pending_ = requests;
    }
    wake_.wakeAll();
}

void PageRenderer::run() {
    std::unique_ptr<Poppler::Document> document;
    QString openPath;
    for (;;) {
        RenderRequest next;
        QString path;
        {
            QMutexLocker lock(&mutex_);
            while (!stopping_ && pending_.isEmpty()) wake_.wait(&mutex_);
            if (stopping_) return;
            next = pending_.takeFirst();
            path = path_;
        }
        if (path != openPath) {
            document = Poppler::Document::load(path);
            openPath = path;
            if (document) {
                document->setRenderHint(Poppler::Document::Antialiasing);
                document->setRenderHint(Poppler::Document::TextAntialiasing);
                document->setRenderHint(Poppler::Document::TextHinting);
            }
        }
        if (!document || document->isLocked()) continue;
        std::unique_ptr<Poppler::Page> page = document->page(next.pageIndex);
        if (!page) continue;
        const double dpi = 72.0 * next.scale;
        QImage image = page->renderToImage(dpi, dpi);
        if (!image.isNull()) emit rendered(path, next.pageIndex, next.scale, image);
    }
}

} // namespace lectern::ui
