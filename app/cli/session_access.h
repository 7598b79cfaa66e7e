#pragma once
// What the commands that work on a session share: opening the profile's store, finding `--session S`,
// and reading `--corpus A|B` and a document given as an id or a path. Each reports its own failure
// (message and exit code) through the context.

#include "app/cli/cli.h"
#include "app/store/store.h"

#include <QJsonObject>

#include <memory>
#include <optional>
#include <variant>

namespace lectern::cli {

struct OpenSession {
    std::unique_ptr<store::Store> store;
    store::SessionInfo session;
};

enum class IfMissing { Fail, Create };

// The store and the session named by --session; on failure the exit code, the reason already printed.
std::variant<OpenSession, int> openSession(Context& context, IfMissing ifMissing);

// The corpus named by --corpus (A or B) when given; nullopt without it; the exit code for a bad value.
std::variant<std::optional<qint64>, int> corpusOption(Context& context, OpenSession& open, bool create);

// A document of the session given by its id (from `documents`) or its path.
std::variant<store::DocumentInfo, int> findDocument(Context& context, OpenSession& open,
                                                    const QString& reference);

// A document as `documents` and `show` print it (cli.md's fields, then extensions).
QJsonObject documentJson(const store::DocumentInfo& document);

} // namespace lectern::cli
