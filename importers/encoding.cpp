#include "importers/encoding.h"

#include <QStringDecoder>
#include <unicode/ucnv.h>

#include <memory>

namespace lectern::importers {

std::optional<QString> decodeCharset(QByteArrayView bytes, const QByteArray& charset) {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<UConverter, decltype(&ucnv_close)> converter(ucnv_open(charset.constData(), &status),
                                                                 &ucnv_close);
    if (U_FAILURE(status) || !converter) return std::nullopt;
    QString out;
    // At most two UTF-16 units per input byte for every ICU converter, plus room for a terminator.
    out.resize(bytes.size() * 2 + 1);
    status = U_ZERO_ERROR;
    const int32_t written = ucnv_toUChars(converter.get(), reinterpret_cast<UChar*>(out.data()),
                                          int32_t(out.size()), bytes.data(), int32_t(bytes.size()), &status);
    if (U_FAILURE(status)) return std::nullopt;
    out.resize(written);
    return out;
}

QString decodeDetected(QByteArrayView bytes) {
    if (bytes.startsWith("\xEF\xBB\xBF")) return QString::fromUtf8(bytes.sliced(3));
    if (bytes.startsWith(QByteArrayView("\xFF\xFE\0\0", 4)) ||
        bytes.startsWith(QByteArrayView("\0\0\xFE\xFF", 4))) {
        QStringDecoder decoder(bytes.startsWith("\xFF\xFE") ? QStringConverter::Utf32LE
                                                            : QStringConverter::Utf32BE);
        return decoder(bytes.sliced(4));
    }
    if (bytes.startsWith("\xFF\xFE") || bytes.startsWith("\xFE\xFF")) {
        QStringDecoder decoder(bytes.startsWith("\xFF\xFE") ? QStringConverter::Utf16LE
                                                            : QStringConverter::Utf16BE);
        return decoder(bytes.sliced(2));
    }
    QStringDecoder utf8(QStringConverter::Utf8, QStringConverter::Flag::Stateless);
    QString text = utf8(bytes);
    if (!utf8.hasError()) return text;
    if (auto windows = decodeCharset(bytes, "windows-1252")) return *windows;
    return QString::fromLatin1(bytes);
}

bool looksLikeText(QByteArrayView bytes) {
    const QByteArrayView head = bytes.first(std::min<qsizetype>(bytes.size(), 8192));
    if (head.startsWith("\xFF\xFE") || head.startsWith("\xFE\xFF")) return true;
    qsizetype controls = 0;
    for (char c : head) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte == 0) return false;
        if (byte < 0x20 && byte != '\n' && byte != '\r' && byte != '\t' && byte != '\f') ++controls;
    }
    return controls * 100 <= head.size();
}

QString normalizedLineEnds(QString text) {
    text.replace(QLatin1String("\r\n"), QLatin1String("\n"));
    text.replace(QLatin1Char('\r'), QLatin1Char('\n'));
    return text;
}

} // namespace lectern::importers
