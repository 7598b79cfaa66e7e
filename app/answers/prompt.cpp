#include "app/answers/prompt.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QLocale>
#include <QSet>

#include <algorithm>

namespace lectern::answers {
namespace {

// Bumped when the way the corpus is written into the prompt changes (the code below, not the texts):
// it is part of the prompt version, so old corpus caches stop matching.
constexpr int kCorpusFormatVersion = 1;

// Keeps pickRelevant's estimate (made before the label's exact digits are known) on the safe side.
constexpr std::int64_t kSelectionSlackTokens = 16;

Result<QString> readResource(const QString& name) {
    QFile file(QStringLiteral(":/prompts/") + name);
    if (!file.open(QIODevice::ReadOnly))
        return Error{
            "The prompt text '" + name.toStdString() +
            "' is missing from this build of Lectern (resources/prompts/): rebuild or reinstall it."};
    return QString::fromUtf8(file.readAll());
}

QString number(std::int64_t value) {
    return QLocale(QLocale::English).toString(qlonglong(value));
}

QString documentHeader(const Corpus& corpus, int document) {
    const importers::Document& doc = corpus.documents()[document];
    const QString file = QFileInfo(doc.path).fileName();
    const QString name = corpus.documentName(document);
    QString header = QStringLiteral("\n=== Document %1: %2").arg(document + 1).arg(name);
    if (name != file && !file.isEmpty()) header += QStringLiteral(" (%1)").arg(file);
    return header + QStringLiteral(" ===\n");
}

// Opens each side of a side-by-side corpus; its marker range tells the model which side a marker names.
QString sideHeader(const CorpusSide& side) {
    return QStringLiteral("\n##### Corpus %1: passages P%2 to P%3 #####\n")
        .arg(side.label)
        .arg(side.first_marker)
        .arg(side.last_marker);
}

bool isPaged(const importers::Document& doc) {
    return doc.pages.size() > 1 || !doc.pages.value(0).size.isEmpty();
}

} // namespace

Result<PromptTemplates> PromptTemplates::load() {
    return loadNamed(QStringLiteral("system.txt"), QStringLiteral("question.txt"));
}

Result<PromptTemplates> PromptTemplates::loadComparison() {
    return loadNamed(QStringLiteral("compare_system.txt"), QStringLiteral("compare_question.txt"));
}

Result<PromptTemplates> PromptTemplates::loadNamed(const QString& system_name, const QString& question_name) {
    PromptTemplates templates;
    for (auto [name, text] :
         {std::pair{system_name, &templates.system}, std::pair{question_name, &templates.question},
          std::pair{QStringLiteral("selection_note.txt"), &templates.selection_note}}) {
        Result<QString> read = readResource(name);
        if (!read) return std::move(read).take_error();
        *text = std::move(*read);
    }
    if (!templates.system.contains(QStringLiteral("{{corpus}}")))
        return Error{"The prompt text '" + system_name.toStdString() +
                     "' has no {{corpus}} placeholder: the build's resources are broken."};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(QByteArray::number(kCorpusFormatVersion));
    for (const QString* text : {&templates.system, &templates.question, &templates.selection_note}) {
        hash.addData(QByteArrayView("\0", 1));
        hash.addData(text->toUtf8());
    }
    templates.version = QString::fromLatin1(hash.result().toHex().left(16));
    return templates;
}

QString PromptMessage::text() const {
    QString joined;
    for (const PromptSegment& segment : segments) joined += segment.text;
    return joined;
}

std::int64_t OverBudget::availableForCorpus() const {
    return budget.context_tokens - budget.answer_reserve - other_tokens;
}

QString OverBudget::message() const {
    const std::int64_t available = availableForCorpus();
    const QString frame =
        QStringLiteral("The model's context holds %1 tokens; %2 are kept for the answer and %3 "
                       "go to the question, the earlier turns and the chat format")
            .arg(number(budget.context_tokens), number(budget.answer_reserve), number(other_tokens));
    if (available <= 0)
        return frame +
               QStringLiteral(", which leaves no room for the documents. Shorten the question or start a "
                              "new conversation.");
    return QStringLiteral("The documents and the instructions need %1 tokens, more than fit. ")
               .arg(number(corpus_tokens)) +
           frame +
           QStringLiteral(
               ", which leaves %1 for the documents. Choose documents that fit, or let Lectern pick "
               "the passages most relevant to the question.")
               .arg(number(available));
}

PromptBuilder::PromptBuilder(const Corpus& corpus, PromptTemplates templates, TokenCounter count_tokens)
    : corpus_(corpus), templates_(std::move(templates)), count_tokens_(std::move(count_tokens)),
      passage_tokens_(std::size_t(corpus.passageCount()), -1) {}

std::int64_t PromptBuilder::segmentTokens(const PromptSegment& segment) const {
    if (segment.marker <= 0) return count_tokens_(segment.text);
    std::int64_t& cached = passage_tokens_[std::size_t(segment.marker - 1)];
    if (cached < 0) cached = count_tokens_(segment.text);
    return cached;
}

QString PromptBuilder::systemText(const CorpusSelection& selection, bool before_corpus) const {
    const qsizetype at = templates_.system.indexOf(QStringLiteral("{{corpus}}"));
    if (!before_corpus) return templates_.system.mid(at + qsizetype(sizeof("{{corpus}}") - 1));
    QString text = templates_.system.left(at);
    QString note;
    if (selection.kind != CorpusSelection::Kind::Whole) {
        note = templates_.selection_note;
        note.replace(QStringLiteral("{{label}}"), selection.label);
        if (note.endsWith(u'\n')) note.chop(1);
    }
    // An empty note takes its line with it.
    if (note.isEmpty()) text.replace(QStringLiteral("{{selection_note}}\n"), QString());
    text.replace(QStringLiteral("{{selection_note}}"), note);
    return text;
}

std::vector<PromptSegment> PromptBuilder::corpusSegments(const CorpusSelection& selection) const {
    std::vector<PromptSegment> segments;
    int document = -1, page = -1;
    for (const MarkedPassage& marked : corpus_.markers()) {
        if (selection.kind != CorpusSelection::Kind::Whole &&
            !std::binary_search(selection.markers.begin(), selection.markers.end(), marked.marker))
            continue;
        const importers::Document& doc = corpus_.document(marked);
        const importers::Passage& passage = corpus_.passage(marked);
        if (marked.document != document) {
            const int side = corpus_.sideOf(marked.document);
            if (side >= 0 && side != corpus_.sideOf(document))
                segments.push_back({sideHeader(corpus_.sides()[std::size_t(side)]), 0});
            document = marked.document;
            page = -1;
            segments.push_back({documentHeader(corpus_, document), 0});
        }
        if (passage.page != page && isPaged(doc)) {
            page = passage.page;
            segments.push_back({QStringLiteral("--- page %1 ---\n").arg(page), 0});
        }
        QString text = QStringLiteral("[P%1] ").arg(marked.marker) + passage.text.trimmed();
        segments.push_back({text + u'\n', marked.marker});
    }
    return segments;
}

std::vector<PromptMessage> PromptBuilder::conversation(const QString& question,
                                                       const std::vector<Turn>& history) const {
    const auto userTurn = [&](const QString& text) {
        QString content = templates_.question;
        content.replace(QStringLiteral("{{question}}"), text.trimmed());
        return PromptMessage{PromptMessage::Role::User, {{content.trimmed(), 0}}};
    };
    std::vector<PromptMessage> messages;
    for (const Turn& turn : history) {
        messages.push_back(userTurn(turn.question));
        messages.push_back(PromptMessage{PromptMessage::Role::Assistant, {{turn.answer.trimmed(), 0}}});
    }
    messages.push_back(userTurn(question));
    return messages;
}

PromptBuilder::Costs PromptBuilder::fixedCosts(const QString& question, const std::vector<Turn>& history,
                                               const CorpusSelection& selection) const {
    Costs costs;
    costs.instructions =
        count_tokens_(systemText(selection, true)) + count_tokens_(systemText(selection, false));
    for (const PromptMessage& message : conversation(question, history))
        for (const PromptSegment& segment : message.segments) costs.others += segmentTokens(segment);
    return costs;
}

std::variant<AssembledPrompt, OverBudget> PromptBuilder::assemble(const QString& question,
                                                                  const std::vector<Turn>& history,
                                                                  const BudgetSettings& budget,
                                                                  const CorpusSelection& selection) const {
    AssembledPrompt prompt;
    prompt.selection = selection;
    PromptMessage system{PromptMessage::Role::System, {{systemText(selection, true), 0}}};
    for (PromptSegment& segment : corpusSegments(selection)) system.segments.push_back(std::move(segment));
    system.segments.push_back({systemText(selection, false), 0});
    for (const PromptSegment& segment : system.segments) prompt.corpus_tokens += segmentTokens(segment);
    prompt.messages.push_back(std::move(system));

    std::int64_t others = budget.template_tokens;
    for (PromptMessage& message : conversation(question, history)) {
        for (const PromptSegment& segment : message.segments) others += segmentTokens(segment);
        prompt.messages.push_back(std::move(message));
    }
    prompt.total_tokens = prompt.corpus_tokens + others;
    if (prompt.total_tokens > budget.context_tokens - budget.answer_reserve)
        return OverBudget{budget, prompt.corpus_tokens, others, documentCosts()};
    return prompt;
}

std::vector<DocumentCost> PromptBuilder::documentCosts() const {
    std::vector<DocumentCost> costs;
    for (int d = 0; d < corpus_.documents().size(); ++d) costs.push_back({d, corpus_.documentName(d), 0});
    int document = -1;
    for (const PromptSegment& segment : corpusSegments({})) {
        // Headers open a document; everything up to the next header is its cost.
        if (segment.marker == 0 && segment.text.startsWith(QStringLiteral("\n=== Document "))) ++document;
        if (document >= 0) costs[std::size_t(document)].tokens += segmentTokens(segment);
    }
    return costs;
}

CorpusSelection PromptBuilder::chooseDocuments(const std::vector<int>& documents) const {
    CorpusSelection selection;
    selection.kind = CorpusSelection::Kind::ChosenDocuments;
    const QSet<int> chosen(documents.begin(), documents.end());
    QStringList names;
    for (int d = 0; d < corpus_.documents().size(); ++d)
        if (chosen.contains(d)) names.append(corpus_.documentName(d));
    for (const MarkedPassage& marked : corpus_.markers())
        if (chosen.contains(marked.document)) selection.markers.push_back(marked.marker);
    constexpr qsizetype kNamesShown = 5;
    QString list = QStringList(names.mid(0, kNamesShown)).join(QStringLiteral(", "));
    if (names.size() > kNamesShown) list += QStringLiteral(" and %1 more").arg(names.size() - kNamesShown);
    selection.label = QStringLiteral("the %1 of %2 documents chosen by the user (%3).")
                          .arg(names.size())
                          .arg(corpus_.documents().size())
                          .arg(list);
    return selection;
}

Result<CorpusSelection> PromptBuilder::pickRelevant(const QString& question, const std::vector<Turn>& history,
                                                    const BudgetSettings& budget,
                                                    const PassageRanker& ranker) const {
    Result<std::vector<QString>> ranked = ranker.rank(question);
    if (!ranked) return std::move(ranked).take_error();
    std::vector<int> order; // markers, best first
    for (const QString& id : *ranked)
        if (const int marker = corpus_.markerOf(id)) order.push_back(marker);
    if (order.empty())
        return Error{
            "No passage matches the words of the question, so Lectern cannot pick passages by relevance. "
            "Rephrase the question or choose documents instead."};

    std::int64_t whole_tokens = 0;
    for (const PromptSegment& segment : corpusSegments({}))
        if (segment.marker > 0) whole_tokens += segmentTokens(segment);

    // A label with the largest numbers it can hold, for the instructions' cost.
    CorpusSelection selection;
    selection.kind = CorpusSelection::Kind::RelevantPassages;
    const auto makeLabel = [&](std::size_t picked, std::int64_t tokens) {
        return QStringLiteral(
                   "Lectern picked %1 of %2 passages (%3 of %4 tokens) by full-text relevance to the "
                   "question; the other passages are not shown.")
            .arg(number(std::int64_t(picked)), number(corpus_.passageCount()), number(tokens),
                 number(whole_tokens));
    };
    selection.label = makeLabel(std::size_t(corpus_.passageCount()), whole_tokens);
    const Costs fixed = fixedCosts(question, history, selection);
    const std::int64_t available = budget.context_tokens - budget.answer_reserve - budget.template_tokens -
                                   fixed.instructions - fixed.others - kSelectionSlackTokens;

    std::int64_t used = 0, passage_tokens = 0;
    QSet<int> documents;
    QSet<std::pair<int, int>> pages;
    std::vector<int> picked_order;
    for (const int marker : order) {
        const MarkedPassage& marked = *corpus_.find(marker);
        const importers::Passage& passage = corpus_.passage(marked);
        const std::int64_t tokens =
            segmentTokens({QStringLiteral("[P%1] ").arg(marker) + passage.text.trimmed() + u'\n', marker});
        std::int64_t cost = tokens;
        if (!documents.contains(marked.document))
            cost += count_tokens_(documentHeader(corpus_, marked.document));
        if (!pages.contains({marked.document, passage.page}))
            cost += count_tokens_(QStringLiteral("--- page %1 ---\n").arg(passage.page));
        if (used + cost > available) continue;
        used += cost;
        passage_tokens += tokens;
        documents.insert(marked.document);
        pages.insert({marked.document, passage.page});
        picked_order.push_back(marker);
    }
    if (picked_order.empty())
        return Error{"Not even the most relevant passage fits: the instructions, the question and the answer "
                     "reserve leave room for " +
                     number(std::max<std::int64_t>(0, available)).toStdString() +
                     " tokens. Lower the answer reserve, shorten the question or start a new conversation."};

    // The estimate counted page lines per passage, not per run of passages; check the real prompt and
    // give up the least relevant passages until it fits.
    while (!picked_order.empty()) {
        selection.markers = picked_order;
        std::sort(selection.markers.begin(), selection.markers.end());
        passage_tokens = 0;
        for (const int marker : selection.markers) passage_tokens += passage_tokens_[std::size_t(marker - 1)];
        selection.label = makeLabel(selection.markers.size(), passage_tokens);
        if (std::holds_alternative<AssembledPrompt>(assemble(question, history, budget, selection)))
            return selection;
        picked_order.pop_back();
    }
    return Error{
        "Not even the most relevant passage fits beside the question. Shorten the question or start a new "
        "conversation."};
}

} // namespace lectern::answers
