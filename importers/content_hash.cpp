#include "importers/content_hash.h"

#include <xxhash.h>

namespace lectern::importers {

QString contentHash(QByteArrayView bytes) {
    const XXH128_hash_t hash = XXH3_128bits(bytes.data(), size_t(bytes.size()));
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    return QString::fromLatin1(QByteArray(reinterpret_cast<const char*>(canonical.digest), 16).toHex());
}

} // namespace lectern::importers
