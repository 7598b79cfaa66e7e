#include "importers/ocr.h"

#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>
#include <tesseract/resultiterator.h>

namespace lectern::importers {

OcrEngine::OcrEngine() = default;
OcrEngine::~OcrEngine() {
    if (api_) api_->End();
}

Result<void> OcrEngine::start(const QString& language) {
    api_ = std::make_unique<tesseract::TessBaseAPI>();
    if (api_->Init(nullptr, language.toUtf8().constData(), tesseract::OEM_LSTM_ONLY) != 0) {
        api_.reset();
        QString packages;
        for (const QString& code : language.split(QLatin1Char('+'), Qt::SkipEmptyParts))
            packages += QStringLiteral(" tesseract-ocr-") + code;
        return Error{
            QStringLiteral("OCR language \"%1\" is not installed; install the package(s)%2 or choose "
                           "another OCR language")
                .arg(language, packages)
                .toStdString()};
    }
    api_->SetPageSegMode(tesseract::PSM_AUTO);
    return {};
}

namespace {

bool stopRequested(void* stop, int /*words*/) {
    return static_cast<std::stop_token*>(stop)->stop_requested();
}

} // namespace

QList<LayoutWord> OcrEngine::recognize(const QImage& image, int dpi, std::stop_token stop) {
    QList<LayoutWord> words;
    if (!api_ || image.isNull()) return words;
    const QImage gray = image.convertToFormat(QImage::Format_Grayscale8);
    api_->SetImage(gray.constBits(), gray.width(), gray.height(), 1, int(gray.bytesPerLine()));
    api_->SetSourceResolution(dpi);
    tesseract::ETEXT_DESC monitor;
    monitor.cancel = &stopRequested;
    monitor.cancel_this = &stop;
    if (api_->Recognize(&monitor) != 0 || stop.stop_requested()) {
        api_->Clear();
        return words;
    }
    const double scale = 72.0 / dpi;
    std::unique_ptr<tesseract::ResultIterator> it(api_->GetIterator());
    if (it) {
        do {
            std::unique_ptr<char[]> text(it->GetUTF8Text(tesseract::RIL_WORD));
            int left = 0, top = 0, right = 0, bottom = 0;
            if (!text || !it->BoundingBox(tesseract::RIL_WORD, &left, &top, &right, &bottom)) continue;
            LayoutWord word;
            word.text = QString::fromUtf8(text.get()).trimmed();
            word.rect = QRectF(left * scale, top * scale, (right - left) * scale, (bottom - top) * scale);
            word.lineEnd = it->IsAtFinalElement(tesseract::RIL_TEXTLINE, tesseract::RIL_WORD);
            word.paragraphEnd = it->IsAtFinalElement(tesseract::RIL_PARA, tesseract::RIL_WORD);
            if (!word.text.isEmpty())
                words.append(word);
            else if (!words.isEmpty()) {
                words.back().lineEnd |= word.lineEnd;
                words.back().paragraphEnd |= word.paragraphEnd;
            }
        } while (it->Next(tesseract::RIL_WORD));
    }
    api_->Clear();
    return words;
}

} // namespace lectern::importers
