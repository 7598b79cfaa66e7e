#pragma once
// One Internet message (RFC 5322 + MIME) to its readable parts: headers (encoded words decoded), the body
// text (text/plain preferred, else text/html as text) and the attachments as raw bytes.

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

namespace lectern::importers {

struct MimeAttachment {
    QString fileName;
    QByteArray bytes;
};

struct MimeMessage {
    QString subject;
    QString from;
    QString to;
    QString cc;
    QString dateText;
    QDateTime date;
    QString body;
    QList<MimeAttachment> attachments;
    bool hasHeaders = false; // false: the bytes did not look like a message at all
};

MimeMessage parseMime(const QByteArray& raw);

// Splits an mbox file into its messages (">From " unescaped).
QList<QByteArray> splitMailbox(const QByteArray& mailbox);

} // namespace lectern::importers
