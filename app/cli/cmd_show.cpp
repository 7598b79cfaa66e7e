// lectern-cli show: one document in full: its pages' text and its passages with their anchors.

#include "app/cli/cli.h"
#include "app/cli/session_access.h"

#include <QJsonArray>

namespace lectern::cli {
namespace {

int runShow(Context& context) {
    if (context.args.positional.size() != 1)
        return context.fail(Usage, QStringLiteral("show needs one DOC: an id from `documents`, or the path"));
    auto opened = openSession(context, IfMissing::Fail);
    if (const int* code = std::get_if<int>(&opened)) return *code;
    OpenSession& open = std::get<OpenSession>(opened);
    auto found = findDocument(context, open, context.args.positional.first());
    if (const int* code = std::get_if<int>(&found)) return *code;
    const store::DocumentInfo& info = std::get<store::DocumentInfo>(found);
    const auto document = open.store->loadDocument(info.id);
    if (!document) return context.fail(Failure, QString::fromStdString(document.error()));

    if (context.json) {
        QJsonObject head = documentJson(info);
        head.insert(QStringLiteral("author"), document->author);
        head.insert(QStringLiteral("language"), document->language);
        QJsonArray pages;
        for (const importers::Page& page : document->pages)
            pages.append(QJsonObject{{QStringLiteral("number"), page.number},
                                     {QStringLiteral("text"), page.text},
                                     {QStringLiteral("ocr"), page.ocr},
                                     {QStringLiteral("width"), page.size.width()},
                                     {QStringLiteral("height"), page.size.height()}});
        QJsonArray passages;
        for (const importers::Passage& passage : document->passages)
            passages.append(QJsonObject{{QStringLiteral("id"), passage.id},
                                        {QStringLiteral("page"), passage.page},
                                        {QStringLiteral("start"), passage.range.start},
                                        {QStringLiteral("end"), passage.range.end},
                                        {QStringLiteral("text"), passage.text},
                                        {QStringLiteral("tokens"), passage.tokens}});
        context.printJson({{QStringLiteral("document"), head},
                           {QStringLiteral("pages"), pages},
                           {QStringLiteral("passages"), passages}});
        return Success;
    }
    QString out =
        QStringLiteral("%1 (%2, %3)\n").arg(info.path, info.format, store::importStateName(info.state));
    if (!info.title.isEmpty()) out += QStringLiteral("Title: %1\n").arg(info.title);
    if (!info.error.isEmpty()) out += QStringLiteral("Error: %1\n").arg(info.error);
    for (const importers::Page& page : document->pages)
        out += QStringLiteral("\n--- page %1%2 ---\n%3\n")
                   .arg(page.number)
                   .arg(page.ocr ? QStringLiteral(" (OCR)") : QString(), page.text);
    out += QStringLiteral("\n%1 passage(s)\n").arg(document->passages.size());
    context.print(out);
    return Success;
}

} // namespace

Command showCommand() {
    return {QStringLiteral("show"),
            QStringLiteral("show --session S DOC"),
            QStringLiteral("prints one document (an id from `documents`, or its path): pages and passages"),
            {{QStringLiteral("session"), true, QStringLiteral("the session")}},
            runShow};
}

} // namespace lectern::cli
