// Plain text, Markdown, CSV, source code and config files: one logical page with the decoded text.

#include "importers/encoding.h"
#include "importers/formats.h"

#include <QFileInfo>
#include <QRegularExpression>

namespace lectern::importers {

ParseResult parseText(const ParseInput& input, const QString& format, const QString& language) {
    ParseResult result;
    QString text = normalizedLineEnds(decodeDetected(input.bytes));
    if (text.trimmed().isEmpty()) {
        result.failures.append(
            failureOf(input, FailureKind::Empty,
                      QStringLiteral("\"%1\" contains no text.").arg(QFileInfo(input.fileName).fileName())));
        return result;
    }
    Document document;
    document.format = format;
    document.language = language;
    if (format == QLatin1String("markdown")) {
        static const QRegularExpression heading(QStringLiteral("^#\\s+(.+)$"),
                                                QRegularExpression::MultilineOption);
        if (const auto match = heading.match(text); match.hasMatch())
            document.title = match.captured(1).trimmed();
    }
    Page page;
    page.text = std::move(text);
    document.pages.append(std::move(page));
    result.documents.append(std::move(document));
    return result;
}

} // namespace lectern::importers
