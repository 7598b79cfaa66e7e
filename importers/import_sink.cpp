#include "importers/import_sink.h"

namespace lectern::importers {

QString failureKindName(FailureKind kind) {
    switch (kind) {
    case FailureKind::Corrupt:
        return QStringLiteral("corrupt");
    case FailureKind::NeedsPassword:
        return QStringLiteral("needs-password");
    case FailureKind::Empty:
        return QStringLiteral("empty");
    case FailureKind::Unsupported:
        return QStringLiteral("unsupported");
    case FailureKind::TooLarge:
        return QStringLiteral("too-large");
    case FailureKind::Unreadable:
        return QStringLiteral("unreadable");
    }
    return QStringLiteral("corrupt");
}

} // namespace lectern::importers
