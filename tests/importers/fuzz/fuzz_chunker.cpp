// The chunker on arbitrary text, targets and header ranges; checks the passage invariants.
#include "importers/chunker.h"

#include <cstddef>
#include <cstdint>

using namespace lectern::importers;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    Document document;
    document.contentHash = QStringLiteral("00112233445566778899aabbccddeeff");
    Page page;
    page.text = QString::fromUtf8(reinterpret_cast<const char*>(data) + 3, qsizetype(size) - 3);
    // Two (sorted, possibly overlapping or empty) "repeated" ranges chosen by the input.
    const qsizetype length = page.text.size();
    if (length > 0) {
        const qsizetype a = data[1] % (length + 1);
        const qsizetype b = std::min<qsizetype>(length, a + data[2] % 64);
        page.repeated.append({a, b});
    }
    document.pages.append(page);
    const int target = 16 + data[0];
    chunkDocument(document, target);
    qsizetype previousEnd = 0;
    for (qsizetype i = 0; i < document.passages.size(); ++i) {
        const Passage& passage = document.passages[i];
        const bool ok =
            passage.ordinal == i && passage.range.start >= previousEnd &&
            passage.range.end > passage.range.start && passage.range.end <= length &&
            passage.text == page.text.mid(passage.range.start, passage.range.end - passage.range.start) &&
            passage.text.size() <= qsizetype(std::max(target, 16)) * 4;
        if (!ok) __builtin_trap();
        previousEnd = passage.range.end;
    }
    return 0;
}
