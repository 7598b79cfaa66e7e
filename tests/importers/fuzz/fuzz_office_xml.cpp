// The DOCX and ODT XML walks and the metadata reader on arbitrary bytes.
#include "importers/office_xml.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const QByteArray xml(reinterpret_cast<const char*>(data), qsizetype(size));
    const auto docx = lectern::importers::docxText(xml);
    const auto odt = lectern::importers::odtText(xml);
    // A walk either fails with a message or returns text, never both.
    if ((!docx.error.isEmpty() && !docx.text.isEmpty()) || (!odt.error.isEmpty() && !odt.text.isEmpty()))
        __builtin_trap();
    (void)lectern::importers::officeMetadata(xml);
    return 0;
}
