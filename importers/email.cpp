// .eml and .mbox: each message is a document (headers, then the body); each attachment is imported as
// its own document through parseFile(), with the message as its parent.

#include "importers/content_hash.h"
#include "importers/formats.h"
#include "importers/mime.h"

#include <QFileInfo>

namespace lectern::importers {

namespace {

constexpr int kMaxContainerDepth = 4;

QString messageText(const MimeMessage& message) {
    QString text;
    const auto field = [&text](const char* name, const QString& value) {
        if (!value.isEmpty()) text += QLatin1String(name) + QLatin1String(": ") + value + QLatin1Char('\n');
    };
    field("From", message.from);
    field("To", message.to);
    field("Cc", message.cc);
    field("Date", message.dateText);
    field("Subject", message.subject);
    if (!message.body.trimmed().isEmpty()) text += QLatin1Char('\n') + message.body.trimmed();
    return text;
}

// The message's document, then its attachments' documents and failures.
void importMessage(const ParseInput& input, const QByteArray& raw, ParseResult& result) {
    const MimeMessage message = parseMime(raw);
    const QString name = QFileInfo(input.fileName).fileName();
    if (!message.hasHeaders) {
        result.failures.append(
            failureOf(input, FailureKind::Corrupt,
                      QStringLiteral("\"%1\" is not an e-mail message (it has no mail headers).").arg(name)));
        return;
    }
    Document document;
    document.path = input.path;
    document.parentPath = input.parentPath;
    document.contentHash = input.contentHash;
    document.format = QStringLiteral("email");
    document.title = message.subject;
    document.author = message.from;
    document.created = message.date;
    Page page;
    page.text = messageText(message);
    document.pages.append(std::move(page));
    result.documents.append(std::move(document));

    for (qsizetype i = 0; i < message.attachments.size(); ++i) {
        const MimeAttachment& attachment = message.attachments[i];
        ParseInput child = input;
        child.path = input.path + QLatin1Char('#') + QString::number(i + 1);
        child.fileName = attachment.fileName;
        child.parentPath = input.path;
        child.bytes = attachment.bytes;
        child.contentHash = contentHash(attachment.bytes);
        child.depth = input.depth + 1;
        if (child.depth > kMaxContainerDepth) {
            result.failures.append(
                failureOf(child, FailureKind::TooLarge,
                          QStringLiteral("Attachment \"%1\" is nested more than %2 messages deep.")
                              .arg(attachment.fileName)
                              .arg(kMaxContainerDepth)));
            continue;
        }
        ParseResult inner = parseFile(child);
        result.documents += inner.documents;
        result.failures += inner.failures;
        result.notes += inner.notes;
        result.cancelled = result.cancelled || inner.cancelled;
    }
}

} // namespace

ParseResult parseEmail(const ParseInput& input) {
    ParseResult result;
    importMessage(input, input.bytes, result);
    return result;
}

ParseResult parseMailbox(const ParseInput& input) {
    ParseResult result;
    const QList<QByteArray> messages = splitMailbox(input.bytes);
    if (messages.isEmpty()) {
        result.failures.append(
            failureOf(input, FailureKind::Empty,
                      QStringLiteral("\"%1\" contains no messages (no \"From \" separator lines).")
                          .arg(QFileInfo(input.fileName).fileName())));
        return result;
    }
    for (qsizetype i = 0; i < messages.size() && !input.stop.stop_requested(); ++i) {
        ParseInput item = input;
        item.path = input.path + QLatin1Char('#') + QString::number(i + 1);
        item.fileName = QStringLiteral("message.eml");
        item.parentPath = input.path;
        item.bytes = messages[i];
        item.contentHash = contentHash(messages[i]);
        item.depth = input.depth + 1;
        importMessage(item, messages[i], result);
    }
    result.cancelled = input.stop.stop_requested();
    return result;
}

} // namespace lectern::importers
