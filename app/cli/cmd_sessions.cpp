// lectern-cli sessions: every session in the profile, with its corpora, documents and tokens.

#include "app/cli/cli.h"
#include "app/store/open_profile.h"

#include <QJsonArray>

namespace lectern::cli {
namespace {

int runSessions(Context& context) {
    if (!context.args.positional.isEmpty())
        return context.fail(Usage, QStringLiteral("sessions takes no arguments"));
    auto store = store::openProfileStore(context.profile_directory);
    if (!store) return context.fail(Failure, QString::fromStdString(store.error()));
    const auto sessions = (*store)->sessions();
    if (!sessions) return context.fail(Failure, QString::fromStdString(sessions.error()));

    if (context.json) {
        QJsonArray list;
        for (const store::SessionInfo& session : *sessions)
            list.append(QJsonObject{{QStringLiteral("name"), session.name},
                                    {QStringLiteral("corpora"), session.corpora},
                                    {QStringLiteral("documents"), session.documents},
                                    {QStringLiteral("tokens"), session.tokens},
                                    {QStringLiteral("created"), session.created.toString(Qt::ISODate)}});
        context.printJson({{QStringLiteral("sessions"), list}});
        return Success;
    }
    if (sessions->isEmpty()) {
        context.print(
            QStringLiteral("No sessions yet: lectern-cli import --session NAME PATH... makes one."));
        return Success;
    }
    QString text;
    for (const store::SessionInfo& session : *sessions)
        text += QStringLiteral("%1  %2 corpus(es), %3 document(s), %4 tokens\n")
                    .arg(session.name)
                    .arg(session.corpora)
                    .arg(session.documents)
                    .arg(session.tokens);
    context.print(text);
    return Success;
}

} // namespace

Command sessionsCommand() {
    return {QStringLiteral("sessions"),
            QStringLiteral("sessions"),
            QStringLiteral("lists the sessions with their corpora, documents and tokens"),
            {},
            runSessions};
}

} // namespace lectern::cli
