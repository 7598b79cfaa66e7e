#include "app/cli/session_access.h"

#include "app/store/open_profile.h"

#include <QFileInfo>

namespace lectern::cli {

std::variant<OpenSession, int> openSession(Context& context, IfMissing ifMissing) {
    const std::optional<QString> name = context.args.value(QStringLiteral("session"));
    if (!name || name->trimmed().isEmpty())
        return context.fail(Usage,
                            QStringLiteral("--session S is required (lectern-cli sessions lists them)"));
    auto store = store::openProfileStore(context.profile_directory);
    if (!store) return context.fail(Failure, QString::fromStdString(store.error()));
    auto session = (*store)->findSession(*name);
    if (!session) return context.fail(Failure, QString::fromStdString(session.error()));
    if (!*session && ifMissing == IfMissing::Create) {
        if (auto created = (*store)->createSession(*name); !created)
            return context.fail(Failure, QString::fromStdString(created.error()));
        session = (*store)->findSession(*name);
        if (!session) return context.fail(Failure, QString::fromStdString(session.error()));
    }
    if (!*session)
        return context.fail(Failure,
                            QStringLiteral("there is no session named '%1' (lectern-cli sessions lists them)")
                                .arg(name->trimmed()));
    return OpenSession{std::move(*store), **session};
}

std::variant<std::optional<qint64>, int> corpusOption(Context& context, OpenSession& open, bool create) {
    const std::optional<QString> label = context.args.value(QStringLiteral("corpus"));
    if (!label) return std::optional<qint64>();
    const QString upper = label->trimmed().toUpper();
    if (upper != QLatin1String("A") && upper != QLatin1String("B"))
        return context.fail(Usage, QStringLiteral("--corpus is A or B, not '%1'").arg(*label));
    if (!create) {
        const auto corpora = open.store->corpora(open.session.id);
        if (!corpora) return context.fail(Failure, QString::fromStdString(corpora.error()));
        for (const store::CorpusInfo& corpus : *corpora)
            if (corpus.label == upper) return std::optional<qint64>(corpus.id);
        return context.fail(Failure,
                            QStringLiteral("session '%1' has no corpus %2").arg(open.session.name, upper));
    }
    const auto corpus = open.store->corpus(open.session.id, upper);
    if (!corpus) return context.fail(Failure, QString::fromStdString(corpus.error()));
    return std::optional<qint64>(*corpus);
}

std::variant<store::DocumentInfo, int> findDocument(Context& context, OpenSession& open,
                                                    const QString& reference) {
    bool isNumber = false;
    const qint64 id = reference.toLongLong(&isNumber);
    Result<std::optional<store::DocumentInfo>> found = std::optional<store::DocumentInfo>();
    if (isNumber) {
        found = open.store->document(id);
        // An id from another session is not this session's document.
        if (found && *found && (*found)->corpus != 0) {
            const auto corpora = open.store->corpora(open.session.id);
            if (!corpora) return context.fail(Failure, QString::fromStdString(corpora.error()));
            const bool ours = std::any_of(corpora->begin(), corpora->end(), [&](const store::CorpusInfo& c) {
                return c.id == (*found)->corpus;
            });
            if (!ours) found = std::optional<store::DocumentInfo>();
        }
    } else {
        found = open.store->documentByPath(open.session.id, reference);
        if (found && !*found)
            found = open.store->documentByPath(open.session.id, QFileInfo(reference).absoluteFilePath());
    }
    if (!found) return context.fail(Failure, QString::fromStdString(found.error()));
    if (!*found)
        return context.fail(
            Failure, QStringLiteral("session '%1' has no document '%2' (lectern-cli documents lists them)")
                         .arg(open.session.name, reference));
    return **found;
}

QJsonObject documentJson(const store::DocumentInfo& document) {
    QJsonObject object{{QStringLiteral("id"), document.id},
                       {QStringLiteral("path"), document.path},
                       {QStringLiteral("format"), document.format},
                       {QStringLiteral("pages"), document.pages},
                       {QStringLiteral("passages"), document.passages},
                       {QStringLiteral("status"), store::importStateName(document.state)},
                       {QStringLiteral("error"), document.error},
                       {QStringLiteral("corpus"), document.corpusLabel},
                       {QStringLiteral("title"), document.title},
                       {QStringLiteral("tokens"), document.tokens},
                       {QStringLiteral("content_hash"), document.contentHash}};
    if (document.fileSize >= 0) object.insert(QStringLiteral("bytes"), document.fileSize);
    if (!document.parentPath.isEmpty()) object.insert(QStringLiteral("parent"), document.parentPath);
    if (!document.errorKind.isEmpty()) object.insert(QStringLiteral("error_kind"), document.errorKind);
    if (!document.duplicateOf.isEmpty()) object.insert(QStringLiteral("duplicate_of"), document.duplicateOf);
    return object;
}

} // namespace lectern::cli
