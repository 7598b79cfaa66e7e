// MIME messages and mailboxes on arbitrary bytes; HTML-to-text on the same bytes as text.
#include "importers/html_text.h"
#include "importers/mime.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const QByteArray raw(reinterpret_cast<const char*>(data), qsizetype(size));
    const lectern::importers::MimeMessage message = lectern::importers::parseMime(raw);
    for (const auto& attachment : message.attachments) {
        if (attachment.bytes.isEmpty())
            __builtin_trap(); // empty parts are dropped, never passed on as attachments
    }
    qsizetype total = 0;
    for (const QByteArray& item : lectern::importers::splitMailbox(raw)) total += item.size();
    if (total > raw.size()) __builtin_trap();
    QString title;
    (void)lectern::importers::htmlToText(QString::fromUtf8(raw), &title);
    return 0;
}
