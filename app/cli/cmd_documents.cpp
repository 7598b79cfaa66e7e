// lectern-cli documents: a session's documents with their import state.

#include "app/cli/cli.h"
#include "app/cli/session_access.h"

#include <QJsonArray>

namespace lectern::cli {
namespace {

int runDocuments(Context& context) {
    if (!context.args.positional.isEmpty())
        return context.fail(Usage, QStringLiteral("documents takes no arguments besides its options"));
    auto opened = openSession(context, IfMissing::Fail);
    if (const int* code = std::get_if<int>(&opened)) return *code;
    OpenSession& open = std::get<OpenSession>(opened);
    auto corpus = corpusOption(context, open, false);
    if (const int* code = std::get_if<int>(&corpus)) return *code;
    const auto documents = open.store->documents({open.session.id, std::get<std::optional<qint64>>(corpus)});
    if (!documents) return context.fail(Failure, QString::fromStdString(documents.error()));

    if (context.json) {
        QJsonArray list;
        for (const store::DocumentInfo& document : *documents) list.append(documentJson(document));
        context.printJson({{QStringLiteral("documents"), list}});
        return Success;
    }
    if (documents->isEmpty()) {
        context.print(QStringLiteral("Session '%1' has no documents yet.").arg(open.session.name));
        return Success;
    }
    QString out;
    for (const store::DocumentInfo& document : *documents) {
        out += QStringLiteral("%1  [%2] %3  %4, %5 page(s), %6 passage(s)\n")
                   .arg(document.id)
                   .arg(document.corpusLabel, document.path, store::importStateName(document.state))
                   .arg(document.pages)
                   .arg(document.passages);
        if (!document.error.isEmpty()) out += QStringLiteral("    %1\n").arg(document.error);
        if (!document.duplicateOf.isEmpty())
            out += QStringLiteral("    same as %1\n").arg(document.duplicateOf);
    }
    context.print(out);
    return Success;
}

} // namespace

Command documentsCommand() {
    return {QStringLiteral("documents"),
            QStringLiteral("documents --session S [--corpus A|B]"),
            QStringLiteral("lists a session's documents: pages, passages, import status and errors"),
            {{QStringLiteral("session"), true, QStringLiteral("the session")},
             {QStringLiteral("corpus"), true, QStringLiteral("only corpus A or B")}},
            runDocuments};
}

} // namespace lectern::cli
