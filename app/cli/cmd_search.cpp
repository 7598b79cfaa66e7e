// lectern-cli search: ranked full-text search over a session's passages.

#include "app/cli/cli.h"
#include "app/cli/session_access.h"

#include <QJsonArray>

namespace lectern::cli {
namespace {

std::optional<int> count(const Context& context, const QString& name, int fallback, int minimum) {
    const std::optional<QString> value = context.args.value(name);
    if (!value) return fallback;
    bool ok = false;
    const int number = value->toInt(&ok);
    if (!ok || number < minimum) return std::nullopt;
    return number;
}

int runSearch(Context& context) {
    const QString text = context.args.positional.join(u' ').trimmed();
    if (text.isEmpty()) return context.fail(Usage, QStringLiteral("search needs a QUERY"));
    const std::optional<int> limit = count(context, QStringLiteral("limit"), 20, 1);
    const std::optional<int> offset = count(context, QStringLiteral("offset"), 0, 0);
    if (!limit) return context.fail(Usage, QStringLiteral("--limit takes a whole number from 1"));
    if (!offset) return context.fail(Usage, QStringLiteral("--offset takes a whole number from 0"));

    auto opened = openSession(context, IfMissing::Fail);
    if (const int* code = std::get_if<int>(&opened)) return *code;
    OpenSession& open = std::get<OpenSession>(opened);
    store::SearchQuery query;
    query.session = open.session.id;
    query.text = text;
    query.limit = *limit;
    query.offset = *offset;
    auto corpus = corpusOption(context, open, false);
    if (const int* code = std::get_if<int>(&corpus)) return *code;
    query.corpus = std::get<std::optional<qint64>>(corpus);
    if (const std::optional<QString> document = context.args.value(QStringLiteral("document"))) {
        auto found = findDocument(context, open, *document);
        if (const int* code = std::get_if<int>(&found)) return *code;
        query.document = std::get<store::DocumentInfo>(found).id;
    }

    const auto results = open.store->search(query);
    if (!results) return context.fail(Failure, QString::fromStdString(results.error()));
    if (context.json) {
        QJsonArray hits;
        for (const store::SearchHit& hit : results->hits)
            hits.append(QJsonObject{{QStringLiteral("passage"), hit.stableId},
                                    {QStringLiteral("document"), hit.document},
                                    {QStringLiteral("path"), hit.documentPath},
                                    {QStringLiteral("page"), hit.page},
                                    {QStringLiteral("start"), hit.range.start},
                                    {QStringLiteral("end"), hit.range.end},
                                    {QStringLiteral("snippet"), hit.snippet},
                                    {QStringLiteral("score"), hit.score}});
        context.printJson({{QStringLiteral("hits"), hits},
                           {QStringLiteral("more"), results->more},
                           {QStringLiteral("substring"), results->trigram}});
        return Success;
    }
    if (results->hits.isEmpty()) {
        context.print(QStringLiteral("No passages match."));
        return Success;
    }
    QString out;
    for (const store::SearchHit& hit : results->hits)
        out += QStringLiteral("%1  page %2  (%3, score %4)\n    %5\n")
                   .arg(hit.documentPath)
                   .arg(hit.page)
                   .arg(hit.stableId)
                   .arg(hit.score, 0, 'g', 3)
                   .arg(QString(hit.snippet).replace(u'\n', u' '));
    if (results->more) out += QStringLiteral("More: --offset %1\n").arg(*offset + *limit);
    context.print(out);
    return Success;
}

} // namespace

Command searchCommand() {
    return {QStringLiteral("search"),
            QStringLiteral("search --session S [--corpus A|B] [--document DOC] QUERY"),
            QStringLiteral("finds passages, best first, with the matching words in [brackets]"),
            {{QStringLiteral("session"), true, QStringLiteral("the session to search")},
             {QStringLiteral("corpus"), true, QStringLiteral("only corpus A or B")},
             {QStringLiteral("document"), true, QStringLiteral("only this document (an id or a path)")},
             {QStringLiteral("limit"), true, QStringLiteral("hits per page (default 20)")},
             {QStringLiteral("offset"), true, QStringLiteral("hits to skip, for the next page")}},
            runSearch};
}

} // namespace lectern::cli
