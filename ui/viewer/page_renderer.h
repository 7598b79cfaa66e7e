#pragma once
// Renders PDF pages on its own thread, from its own Poppler document, so the GUI thread never waits on
// Poppler. Requests replace each other: after a fast scroll only what is visible now gets rendered.

#include <QImage>
#include <QList>
#include <QMutex>
#include <QThread>
#include <QWaitCondition>

namespace lectern::ui {

struct RenderRequest {
    int pageIndex = 0;  // 0-based
    double scale = 1.0; // device pixels per PDF point
    friend bool operator==(const RenderRequest&, const RenderRequest&) = default;
};

class PageRenderer : public QThread {
    Q_OBJECT
public:
    explicit PageRenderer(QObject* parent = nullptr);
    ~PageRenderer() override;

    // Opens `path` for rendering; pending requests for the previous document are dropped.
    void setDocument(const QString& path);
    // What should be rendered next, most urgent first; replaces every pending request.
    void request(const QList<RenderRequest>& requests);

signals:
    void rendered(const QString& path, int pageIndex, double scale, const QImage& image);

protected:
    void run() override;

private:
    QMutex mutex_;
    QWaitCondition wake_;
    QString path_;
    QList<RenderRequest> pending_;
    bool stopping_ = false;
};

} // namespace lectern::ui
