#pragma once
// OCR of rendered pages with Tesseract: positioned words, ready for buildPage().

#include "importers/layout.h"
#include "kernels/result.h"

#include <QImage>
#include <QString>

#include <memory>
#include <stop_token>

namespace tesseract {
class TessBaseAPI;
}

namespace lectern::importers {

// One engine per thread; loading a language takes a moment, so an importer keeps it for its document.
class OcrEngine {
public:
    OcrEngine();
    ~OcrEngine();
    OcrEngine(const OcrEngine&) = delete;
    OcrEngine& operator=(const OcrEngine&) = delete;

    // language: Tesseract codes joined by '+', e.g. "eng+deu". Fails with a message naming the package.
    Result<void> start(const QString& language);

    // Boxes come back in page points (the image is taken at `dpi`). Lines and paragraphs come
    // from Tesseract's own layout analysis. Returns no words when `stop` is requested.
    QList<LayoutWord> recognize(const QImage& image, int dpi, std::stop_token stop);

private:
    std::unique_ptr<tesseract::TessBaseAPI> api_;
};

} // namespace lectern::importers
