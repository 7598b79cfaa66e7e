#pragma once
// A place in a document that the viewer can show: what citations, search hits and "looked at" passages
// hand to DocumentViewer::showLocation.

#include "importers/document.h"

#include <QList>
#include <QRectF>
#include <QString>

namespace lectern::ui {

struct Location {
    QString documentPath;
    int page = 1;               // 1-based, as importers::Page::number
    QList<QRectF> rects;        // PDF points on that page (paged formats); highlighted
    importers::TextRange range; // in that page's text (reflowable formats); highlighted when non-empty
};

} // namespace lectern::ui
