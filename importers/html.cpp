// HTML documents: the charset (BOM, <meta charset>, else detected), then html_text.h.

#include "importers/encoding.h"
#include "importers/formats.h"
#include "importers/html_text.h"

#include <QFileInfo>
#include <QRegularExpression>

namespace lectern::importers {

namespace {

QString decodeHtmlBytes(QByteArrayView bytes) {
    if (!bytes.startsWith("\xEF\xBB\xBF") && !bytes.startsWith("\xFF\xFE") && !bytes.startsWith("\xFE\xFF")) {
        static const QRegularExpression charset(QStringLiteral("charset\\s*=\\s*[\"']?([A-Za-z0-9_.:-]+)"),
                                                QRegularExpression::CaseInsensitiveOption);
        const QString head = QString::fromLatin1(bytes.first(std::min<qsizetype>(bytes.size(), 4096)));
        if (const auto match = charset.match(head); match.hasMatch()) {
            if (auto decoded = decodeCharset(bytes, match.captured(1).toLatin1())) return *decoded;
        }
    }
    return decodeDetected(bytes);
}

} // namespace

ParseResult parseHtml(const ParseInput& input) {
    ParseResult result;
    Document document;
    document.format = QStringLiteral("html");
    const QString text = normalizedLineEnds(htmlToText(decodeHtmlBytes(input.bytes), &document.title));
    if (text.trimmed().isEmpty()) {
        result.failures.append(
            failureOf(input, FailureKind::Empty,
                      QStringLiteral("\"%1\" contains no text.").arg(QFileInfo(input.fileName).fileName())));
        return result;
    }
    Page page;
    page.text = text;
    document.pages.append(std::move(page));
    result.documents.append(std::move(document));
    return result;
}

} // namespace lectern::importers
