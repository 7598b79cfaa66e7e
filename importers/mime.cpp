#include "importers/mime.h"

#include "importers/encoding.h"
#include "importers/html_text.h"

#include <QRegularExpression>
#include <QUrl>

namespace lectern::importers {

namespace {

constexpr int kMaxNesting = 16;
constexpr int kMaxParts = 1000;
constexpr int kMaxHeaders = 2000;

struct Headers {
    QList<std::pair<QByteArray, QByteArray>> fields; // lower-case name, raw (unfolded) value

    QByteArray value(const char* name) const {
        for (const auto& [key, value] : fields) {
            if (key == name) return value;
        }
        return {};
    }
};

// Splits at the first empty line; lines may end in CRLF or LF.
std::pair<QByteArrayView, QByteArrayView> splitHeaderBody(QByteArrayView raw) {
    qsizetype pos = 0;
    while (pos < raw.size()) {
        qsizetype end = raw.indexOf('\n', pos);
        if (end < 0) return {raw, {}};
        const QByteArrayView line = raw.sliced(pos, end - pos);
        if (line.isEmpty() || line == "\r") return {raw.first(pos), raw.sliced(end + 1)};
        pos = end + 1;
    }
    return {raw, {}};
}

Headers parseHeaders(QByteArrayView block) {
    Headers headers;
    qsizetype pos = 0;
    while (pos < block.size() && headers.fields.size() < kMaxHeaders) {
        qsizetype end = block.indexOf('\n', pos);
        if (end < 0) end = block.size();
        QByteArrayView line = block.sliced(pos, end - pos);
        if (line.endsWith('\r')) line.chop(1);
        pos = end + 1;
        if (line.isEmpty()) continue;
        if ((line.front() == ' ' || line.front() == '\t') && !headers.fields.isEmpty()) {
            headers.fields.back().second += ' ';
            headers.fields.back().second += line.trimmed().toByteArray();
            continue;
        }
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0) continue;
        headers.fields.append({line.first(colon).trimmed().toByteArray().toLower(),
                               line.sliced(colon + 1).trimmed().toByteArray()});
    }
    return headers;
}

bool isHexDigit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

QByteArray decodeQuotedPrintable(QByteArrayView in, bool header) {
    QByteArray out;
    out.reserve(in.size());
    for (qsizetype i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (header && c == '_') {
            out += ' ';
        } else if (c == '=' && i + 2 < in.size() && isHexDigit(in[i + 1]) && isHexDigit(in[i + 2])) {
            out += char(in.sliced(i + 1, 2).toByteArray().toInt(nullptr, 16));
            i += 2;
        } else if (c == '=' && i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
            // A soft line break.
            ++i;
            if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else {
            out += c;
        }
    }
    return out;
}

QString decodeBytes(QByteArrayView bytes, const QByteArray& charset) {
    if (!charset.isEmpty()) {
        if (auto decoded = decodeCharset(bytes, charset)) return *decoded;
    }
    return decodeDetected(bytes);
}

// RFC 2047 encoded words: =?charset?B|Q?text?=; whitespace between two encoded words is dropped.
QString decodeHeader(const QByteArray& value) {
    static const QRegularExpression word(QStringLiteral("=\\?([^?]+)\\?([BbQq])\\?([^?]*)\\?="));
    const QString raw = decodeDetected(value);
    QString out;
    qsizetype last = 0;
    bool previousWasEncoded = false;
    auto it = word.globalMatch(raw);
    while (it.hasNext()) {
        const auto match = it.next();
        const QString between = raw.mid(last, match.capturedStart() - last);
        if (!(previousWasEncoded && between.trimmed().isEmpty())) out += between;
        QByteArray charset = match.captured(1).toLatin1();
        if (const qsizetype star = charset.indexOf('*'); star >= 0)
            charset.truncate(star); // RFC 2231 language suffix
        const QByteArray payload = match.captured(3).toLatin1();
        const QByteArray bytes = match.captured(2).compare(QLatin1String("b"), Qt::CaseInsensitive) == 0
                                     ? QByteArray::fromBase64(payload)
                                     : decodeQuotedPrintable(payload, true);
        out += decodeBytes(bytes, charset);
        last = match.capturedEnd();
        previousWasEncoded = true;
    }
    out += raw.mid(last);
    return out.simplified();
}

struct ContentType {
    QByteArray type = "text/plain";
    QMap<QByteArray, QByteArray> parameters; // lower-case names; values unquoted
};

ContentType parseContentType(const QByteArray& value) {
    ContentType result;
    const QList<QByteArray> parts = value.split(';');
    if (!parts.isEmpty() && !parts.front().trimmed().isEmpty())
        result.type = parts.front().trimmed().toLower();
    for (qsizetype i = 1; i < parts.size(); ++i) {
        const qsizetype eq = parts[i].indexOf('=');
        if (eq <= 0) continue;
        QByteArray name = parts[i].first(eq).trimmed().toLower();
        QByteArray parameter = parts[i].mid(eq + 1).trimmed();
        if (parameter.size() >= 2 && parameter.startsWith('"') && parameter.endsWith('"'))
            parameter = parameter.mid(1, parameter.size() - 2);
        if (name.endsWith('*')) { // RFC 2231: charset'language'percent-encoded
            name.chop(1);
            const QList<QByteArray> pieces = parameter.split('\'');
            if (pieces.size() == 3)
                parameter = decodeBytes(QByteArray::fromPercentEncoding(pieces[2]), pieces[0]).toUtf8();
        }
        result.parameters.insert(name, parameter);
    }
    return result;
}

QByteArray decodeTransfer(QByteArrayView body, const QByteArray& encoding) {
    const QByteArray lower = encoding.trimmed().toLower();
    if (lower == "base64") return QByteArray::fromBase64(body.toByteArray().simplified().replace(' ', ""));
    if (lower == "quoted-printable") return decodeQuotedPrintable(body, false);
    return body.toByteArray();
}

QList<QByteArrayView> splitMultipart(QByteArrayView body, const QByteArray& boundary) {
    QList<QByteArrayView> parts;
    const QByteArray delimiter = "--" + boundary;
    qsizetype pos = 0;
    qsizetype partStart = -1;
    while (pos < body.size() && parts.size() < kMaxParts) {
        qsizetype end = body.indexOf('\n', pos);
        if (end < 0) end = body.size();
        QByteArrayView line = body.sliced(pos, end - pos);
        if (line.endsWith('\r')) line.chop(1);
        if (line.startsWith(delimiter)) {
            const QByteArrayView rest = line.sliced(delimiter.size()).trimmed();
            if (partStart >= 0) {
                // The line break before the delimiter belongs to the delimiter.
                qsizetype partEnd = pos > 0 ? pos - 1 : 0;
                if (partEnd > partStart && body[partEnd - 1] == '\r') --partEnd;
                parts.append(body.sliced(partStart, std::max<qsizetype>(partEnd - partStart, 0)));
            }
            if (rest == "--") return parts;
            if (rest.isEmpty()) partStart = end + 1;
        }
        pos = end + 1;
    }
    if (partStart >= 0 && partStart < body.size() && parts.size() < kMaxParts)
        parts.append(body.sliced(partStart)); // unterminated: keep what is there
    return parts;
}

struct Collected {
    QString plain;
    QString html;
    QList<MimeAttachment> attachments;
};

QString fileNameOf(const Headers& headers, const ContentType& type) {
    const ContentType disposition = parseContentType(headers.value("content-disposition"));
    QByteArray name = disposition.parameters.value("filename");
    if (name.isEmpty()) name = type.parameters.value("name");
    return decodeHeader(name);
}

void collect(QByteArrayView entity, int depth, Collected& out) {
    const auto [headerBlock, body] = splitHeaderBody(entity);
    const Headers headers = parseHeaders(headerBlock);
    const ContentType type = parseContentType(headers.value("content-type"));
    const bool attachment = headers.value("content-disposition").trimmed().toLower().startsWith("attachment");
    const QString fileName = fileNameOf(headers, type);
    if (type.type.startsWith("multipart/") && depth < kMaxNesting) {
        const QByteArray boundary = type.parameters.value("boundary");
        if (!boundary.isEmpty()) {
            for (const QByteArrayView part : splitMultipart(body, boundary)) collect(part, depth + 1, out);
            return;
        }
    }
    const QByteArray decoded = decodeTransfer(body, headers.value("content-transfer-encoding"));
    if (!attachment && fileName.isEmpty()) {
        if (type.type == "text/plain") {
            if (!out.plain.isEmpty()) out.plain += QLatin1String("\n\n");
            out.plain += decodeBytes(decoded, type.parameters.value("charset"));
            return;
        }
        if (type.type == "text/html") {
            if (!out.html.isEmpty()) out.html += QLatin1String("\n\n");
            out.html += htmlToText(decodeBytes(decoded, type.parameters.value("charset")), nullptr);
            return;
        }
    }
    // Inline images are logos and signatures, not exhibits; attached ones are kept (and reported).
    if (decoded.isEmpty() || (!attachment && type.type.startsWith("image/"))) return;
    QString name = fileName;
    if (name.isEmpty())
        name = type.type == "message/rfc822"
                   ? QStringLiteral("message.eml")
                   : QStringLiteral("attachment-%1").arg(out.attachments.size() + 1);
    out.attachments.append({name, decoded});
}

} // namespace

MimeMessage parseMime(const QByteArray& raw) {
    MimeMessage message;
    const auto [headerBlock, body] = splitHeaderBody(raw);
    const Headers headers = parseHeaders(headerBlock);
    message.hasHeaders = !headers.value("from").isEmpty() || !headers.value("subject").isEmpty() ||
                         !headers.value("date").isEmpty() || !headers.value("content-type").isEmpty();
    message.subject = decodeHeader(headers.value("subject"));
    message.from = decodeHeader(headers.value("from"));
    message.to = decodeHeader(headers.value("to"));
    message.cc = decodeHeader(headers.value("cc"));
    message.dateText = decodeHeader(headers.value("date"));
    message.date = QDateTime::fromString(message.dateText, Qt::RFC2822Date);
    Collected collected;
    collect(raw, 0, collected);
    message.body = normalizedLineEnds(collected.plain.isEmpty() ? collected.html : collected.plain);
    message.attachments = std::move(collected.attachments);
    return message;
}

QList<QByteArray> splitMailbox(const QByteArray& mailbox) {
    QList<QByteArray> messages;
    static const QRegularExpression escapedFrom(QStringLiteral("^>(>*From )"),
                                                QRegularExpression::MultilineOption);
    qsizetype start = -1;
    qsizetype pos = 0;
    auto finish = [&](qsizetype end) {
        if (start < 0) return;
        QByteArray message = mailbox.mid(start, end - start);
        if (message.contains("\n>"))
            message = QString::fromLatin1(message).replace(escapedFrom, QStringLiteral("\\1")).toLatin1();
        messages.append(message);
    };
    while (pos < mailbox.size()) {
        qsizetype end = mailbox.indexOf('\n', pos);
        if (end < 0) end = mailbox.size();
        if (QByteArrayView(mailbox).sliced(pos, end - pos).startsWith("From ")) {
            finish(pos);
            start = end + 1;
        }
        pos = end + 1;
    }
    finish(mailbox.size());
    return messages;
}

} // namespace lectern::importers
