// lectern-cli ask: one grounded answer from a session's corpus, with numbered, verified citations.
// Drives the same worker, prompt assembly, corpus cache and store as the app.

#include "app/answers/comparison.h"
#include "app/answers/corpus_cache.h"
#include "app/answers/prompt.h"
#include "app/answers/prompt_renderer.h"
#include "app/answers/store_corpus.h"
#include "app/cli/cli.h"
#include "app/cli/session_access.h"
#include "app/compare/comparison_run.h"
#include "app/profile/cache_settings.h"
#include "app/profile/profile.h"
#include "app/worker/inference_worker.h"

#include <QDir>
#include <QEventLoop>
#include <QJsonArray>

#include <algorithm>
#include <functional>
#include <tuple>

namespace lectern::cli {
namespace {

constexpr std::int64_t kDefaultMaxTokens = 512;

std::optional<std::int64_t> positiveNumber(const Context& context, const QString& name,
                                           std::int64_t fallback) {
    const std::optional<QString> value = context.args.value(name);
    if (!value) return fallback;
    bool ok = false;
    const qlonglong number = value->toLongLong(&ok);
    if (!ok || number < 1) return std::nullopt;
    return number;
}

QString verificationText(const answers::VerifiedCitation& citation) {
    return answers::toString(citation.verification);
}

// The model on the worker's thread; the exit code (reason printed) when it cannot be used.
std::variant<worker::ModelSummary, int> loadModel(Context& context, worker::InferenceWorker& worker,
                                                  const QString& model_path) {
    std::optional<worker::ModelSummary> model;
    QString load_error;
    QEventLoop loop;
    QObject::connect(&worker, &worker::InferenceWorker::loaded, &loop,
                     [&](const worker::ModelSummary& summary) {
                         model = summary;
                         loop.quit();
                     });
    QObject::connect(&worker, &worker::InferenceWorker::loadFailed, &loop, [&](const QString& message) {
        load_error = message;
        loop.quit();
    });
    worker.load(model_path);
    loop.exec();
    if (!model) return context.fail(Failure, load_error);
    if (!model->tokenizer)
        return context.fail(
            Failure,
            QStringLiteral("the model at %1 has no tokenizer to build a prompt with").arg(model_path));
    return *model;
}

// The answer with [n] where each citation stood.
QString numberedAnswer(const worker::AnswerOutcome& outcome) {
    QString answer;
    qsizetype at = 0;
    for (const answers::VerifiedCitation& citation : outcome.citations) {
        answer += outcome.answer.mid(at, citation.citation.answer_offset - at);
        answer += QStringLiteral("[%1]").arg(citation.citation.number);
        at = citation.citation.answer_offset;
    }
    return answer + outcome.answer.mid(at);
}

struct CitationListing {
    QJsonArray json;
    QString text; // one line per citation
};

// `side_of` names the corpus a citation lands on, for a comparison; null otherwise.
CitationListing listCitations(const worker::AnswerOutcome& outcome, const answers::Corpus& corpus,
                              const std::function<QString(const answers::VerifiedCitation&)>& side_of) {
    CitationListing listing;
    for (const answers::VerifiedCitation& citation : outcome.citations) {
        QJsonObject entry{{QStringLiteral("n"), citation.citation.number},
                          {QStringLiteral("marker"), citation.citation.marker},
                          {QStringLiteral("quote"), citation.citation.quote},
                          {QStringLiteral("verified"), answers::isVerified(citation.verification)},
                          {QStringLiteral("verification"), verificationText(citation)}};
        QString where = QStringLiteral("P%1 (no such passage)").arg(citation.citation.marker);
        if (citation.passage) {
            const importers::Passage& passage = corpus.passage(*citation.passage);
            entry[QStringLiteral("passage")] = passage.id;
            entry[QStringLiteral("document")] = corpus.document(*citation.passage).path;
            entry[QStringLiteral("page")] = passage.page;
            if (answers::isVerified(citation.verification)) {
                entry[QStringLiteral("start")] = citation.range.start;
                entry[QStringLiteral("end")] = citation.range.end;
            }
            where = QStringLiteral("%1, page %2")
                        .arg(corpus.documentName(citation.passage->document))
                        .arg(passage.page);
            if (side_of) {
                const QString side = side_of(citation);
                entry[QStringLiteral("corpus")] = side;
                where = QStringLiteral("corpus %1: ").arg(side) + where;
            }
        }
        listing.json.append(entry);
        listing.text += QStringLiteral("[%1] %2: \"%3\" (%4)\n")
                            .arg(citation.citation.number)
                            .arg(where, citation.citation.quote, verificationText(citation));
    }
    return listing;
}

QString tokenSummary(const worker::AnswerOutcome& outcome) {
    return QStringLiteral("%1 prompt tokens (%2 from the corpus cache, %3 prefilled), %4 answer tokens")
        .arg(outcome.prompt_tokens)
        .arg(outcome.cached_tokens)
        .arg(outcome.prefilled_tokens)
        .arg(outcome.answer_tokens);
}

int runCompare(Context& context, const QString& question, std::int64_t max_tokens);

int runAsk(Context& context) {
    const QString question = context.args.positional.join(u' ').trimmed();
    if (question.isEmpty()) return context.fail(Usage, QStringLiteral("ask needs a QUESTION"));
    const std::optional<std::int64_t> max_tokens =
        positiveNumber(context, QStringLiteral("max-tokens"), kDefaultMaxTokens);
    if (!max_tokens) return context.fail(Usage, QStringLiteral("--max-tokens takes a whole number from 1"));
    if (context.args.value(QStringLiteral("compare"))) return runCompare(context, question, *max_tokens);

    auto opened = openSession(context, IfMissing::Fail);
    if (const int* code = std::get_if<int>(&opened)) return *code;
    OpenSession& open = std::get<OpenSession>(opened);
    auto corpus_option = corpusOption(context, open, false);
    if (const int* code = std::get_if<int>(&corpus_option)) return *code;
    std::optional<qint64> corpus_id = std::get<std::optional<qint64>>(corpus_option);
    if (!corpus_id) {
        auto a = open.store->corpus(open.session.id, QStringLiteral("A"));
        if (!a) return context.fail(Failure, QString::fromStdString(a.error()));
        corpus_id = *a;
    }
    auto loaded_corpus = answers::loadCorpus(*open.store, open.session.id, corpus_id);
    if (!loaded_corpus) return context.fail(Failure, QString::fromStdString(loaded_corpus.error()));
    auto corpus = std::make_shared<const answers::Corpus>(std::move(*loaded_corpus));
    if (corpus->passageCount() == 0)
        return context.fail(Failure,
                            QStringLiteral("session '%1' has no imported documents to answer from; import "
                                           "some first (lectern-cli import)")
                                .arg(open.session.name));

    auto profile = Profile::open(context.profile_directory.isEmpty() ? Profile::defaultDirectory()
                                                                     : context.profile_directory);
    if (!profile) return context.fail(Failure, QString::fromStdString(profile.error()));
    const CacheSettings cache_settings = CacheSettings::load(*profile);
    QDir().mkpath(cache_settings.directory);
    answers::CorpusCache cache(*open.store, cache_settings.directory, cache_settings.limitBytes);

    // The model, on the worker's thread.
    const QString model_path =
        context.args.value(QStringLiteral("model")).value_or(QStringLiteral("default"));
    worker::InferenceWorker worker;
    auto loaded_model = loadModel(context, worker, model_path);
    if (const int* code = std::get_if<int>(&loaded_model)) return *code;
    const worker::ModelSummary* model = &std::get<worker::ModelSummary>(loaded_model);

    // The prompt.
    auto templates = answers::PromptTemplates::load();
    if (!templates) return context.fail(Failure, QString::fromStdString(templates.error()));
    const answers::ChatFormat format = answers::chatFormatFor(model->family.toStdString());
    const bool thinking =
        answers::thinksByDefault(format) && !context.args.has(QStringLiteral("no-thinking"));
    const answers::PromptRenderer renderer(*model->tokenizer, format, thinking);
    const answers::PromptBuilder builder(*corpus, *templates, renderer.counter());
    const answers::BudgetSettings budget{model->context_tokens, *max_tokens, renderer.templateTokens(0)};
    answers::CorpusSelection selection;
    if (const std::optional<QString> chosen = context.args.value(QStringLiteral("documents"))) {
        std::vector<int> indices;
        for (const QString& reference : chosen->split(u',', Qt::SkipEmptyParts)) {
            auto found = findDocument(context, open, reference.trimmed());
            if (const int* code = std::get_if<int>(&found)) return *code;
            const QString path = std::get<store::DocumentInfo>(found).path;
            const auto& documents = corpus->documents();
            const auto at = std::find_if(documents.begin(), documents.end(),
                                         [&](const importers::Document& d) { return d.path == path; });
            if (at == documents.end())
                return context.fail(
                    Usage, QStringLiteral("%1 is not an imported document of this corpus").arg(reference));
            indices.push_back(int(at - documents.begin()));
        }
        selection = builder.chooseDocuments(indices);
    }
    auto assembled = builder.assemble(question, {}, budget, selection);
    if (const auto* over = std::get_if<answers::OverBudget>(&assembled)) {
        if (!context.args.has(QStringLiteral("relevant"))) {
            if (context.json)
                context.printJson({{QStringLiteral("error"), QStringLiteral("over-budget")},
                                   {QStringLiteral("corpus_tokens"), qint64(over->corpus_tokens)},
                                   {QStringLiteral("available_tokens"), qint64(over->availableForCorpus())},
                                   {QStringLiteral("context_tokens"), qint64(budget.context_tokens)},
                                   {QStringLiteral("answer_reserve"), qint64(budget.answer_reserve)}});
            return context.fail(
                Failure,
                over->message() + QStringLiteral(" (--documents ID,... chooses, --relevant picks passages)"));
        }
        const answers::StoreRanker ranker(*open.store, open.session.id, corpus_id);
        auto picked = builder.pickRelevant(question, {}, budget, ranker);
        if (!picked) return context.fail(Failure, QString::fromStdString(picked.error()));
        assembled = builder.assemble(question, {}, budget, *picked);
        if (std::holds_alternative<answers::OverBudget>(assembled))
            return context.fail(Failure, std::get<answers::OverBudget>(assembled).message());
    }
    const answers::AssembledPrompt& prompt = std::get<answers::AssembledPrompt>(assembled);
    const answers::RenderedPrompt rendered = renderer.render(prompt);

    // The corpus cache.
    const answers::CorpusCacheKey key =
        answers::CorpusCacheKey::make(model_path, rendered.prefix_hash, templates->version);
    auto cached = cache.find(*corpus_id, key);
    if (!cached) return context.fail(Failure, QString::fromStdString(cached.error()));

    worker::AskRequest request;
    request.tokens = rendered.tokens;
    request.prefix_tokens = rendered.prefix_tokens;
    request.passages = rendered.passages;
    request.snapshot_path = cached->value_or(cache.pathFor(key));
    request.thinking = rendered.thinking;
    request.generate.max_tokens = *max_tokens;
    request.corpus = corpus;
    QObject::connect(
        &worker, &worker::InferenceWorker::cacheSaved, &worker,
        [&](const QString&, qint64, qint64 tokens) { (void)cache.add(*corpus_id, key, tokens); });
    QObject::connect(&worker, &worker::InferenceWorker::cacheDiscarded, &worker,
                     [&](const QString& path, const QString& reason) {
                         (void)cache.remove(*corpus_id, key);
                         if (!context.json)
                             std::fprintf(stderr, "corpus cache %s discarded: %s\n", qPrintable(path),
                                          qPrintable(reason));
                     });
    worker::AnswerOutcome outcome;
    {
        QEventLoop loop;
        QObject::connect(&worker, &worker::InferenceWorker::answered, &loop,
                         [&](const worker::AnswerOutcome& result) {
                             outcome = result;
                             loop.quit();
                         });
        worker.ask(std::move(request));
        loop.exec();
    }
    if (!outcome.error.isEmpty()) return context.fail(Failure, outcome.error);

    // Kept in the store as the app keeps answers: a conversation per ask, citations with their status.
    store::MessageRecord record;
    record.question = question;
    record.answer = outcome.answer;
    record.thinking = outcome.thinking;
    record.modelId = key.model_id;
    record.prefillMs = outcome.prefill_seconds * 1000.0;
    record.decodeMs = outcome.decode_seconds * 1000.0;
    record.promptTokens = outcome.prompt_tokens;
    record.cachedTokens = outcome.cached_tokens;
    record.answerTokens = outcome.answer_tokens;
    record.corpus = *corpus_id;
    for (const answers::VerifiedCitation& citation : outcome.citations)
        record.citations.append(answers::citationRecord(*open.store, *corpus_id, *corpus, citation));
    for (const answers::LookedAtPassage& looked : outcome.looked_at)
        record.lookedAt.append(answers::lookedAtRecord(*open.store, *corpus_id, looked));
    auto conversation = open.store->createConversation(open.session.id, question.left(80));
    if (!conversation) return context.fail(Failure, QString::fromStdString(conversation.error()));
    if (auto saved = open.store->saveMessage(*conversation, record); !saved)
        return context.fail(Failure, QString::fromStdString(saved.error()));

    // Output: the answer with [n] where each citation stood, then the citations.
    const QString answer = numberedAnswer(outcome);
    const CitationListing listing = listCitations(outcome, *corpus, {});
    if (context.json) {
        QJsonObject result{{QStringLiteral("answer"), answer},
                           {QStringLiteral("citations"), listing.json},
                           {QStringLiteral("prefill_tokens"), outcome.prefilled_tokens},
                           {QStringLiteral("cached_tokens"), outcome.cached_tokens},
                           {QStringLiteral("prompt_tokens"), outcome.prompt_tokens},
                           {QStringLiteral("answer_tokens"), outcome.answer_tokens},
                           {QStringLiteral("thinking"), outcome.thinking},
                           {QStringLiteral("stop_reason"), outcome.stop_reason}};
        if (prompt.selection.kind != answers::CorpusSelection::Kind::Whole)
            result[QStringLiteral("selection")] = prompt.selection.label;
        if (!outcome.looked_at.isEmpty()) {
            QJsonArray looked_at;
            for (const answers::LookedAtPassage& looked : outcome.looked_at)
                looked_at.append(QJsonObject{{QStringLiteral("marker"), looked.marker},
                                             {QStringLiteral("passage"), looked.passage_id},
                                             {QStringLiteral("weight"), looked.weight},
                                             {QStringLiteral("cited"), looked.cited}});
            result[QStringLiteral("looked_at")] = looked_at;
        }
        context.printJson(result);
    } else {
        if (prompt.selection.kind != answers::CorpusSelection::Kind::Whole)
            context.print(prompt.selection.label + u'\n');
        context.print(answer.trimmed() + QStringLiteral("\n\n") + listing.text + u'\n' +
                      tokenSummary(outcome));
    }
    return Success;
}

// ask --compare each|both: the question against corpus A and corpus B (app/answers/comparison.h).
int runCompare(Context& context, const QString& question, std::int64_t max_tokens) {
    const QString mode_name = context.args.value(QStringLiteral("compare"))->trimmed().toLower();
    const std::optional<answers::CompareMode> mode = answers::compareModeNamed(mode_name);
    if (!mode)
        return context.fail(Usage, QStringLiteral("--compare is each or both, not '%1'").arg(mode_name));
    for (const QString& option : {QStringLiteral("corpus"), QStringLiteral("documents")})
        if (context.args.value(option))
            return context.fail(
                Usage, QStringLiteral("--compare asks both corpora; it does not take --%1").arg(option));
    if (context.args.has(QStringLiteral("relevant")))
        return context.fail(Usage, QStringLiteral("--compare does not take --relevant"));

    auto opened = openSession(context, IfMissing::Fail);
    if (const int* code = std::get_if<int>(&opened)) return *code;
    OpenSession& open = std::get<OpenSession>(opened);
    auto corpora = open.store->corpora(open.session.id);
    if (!corpora) return context.fail(Failure, QString::fromStdString(corpora.error()));
    compare::ComparisonTarget target;
    target.store = open.store.get();
    target.session = open.session.id;
    answers::ComparisonCorpora loaded;
    for (const auto& [label, id, corpus] : {std::tuple{QStringLiteral("A"), &target.corpus_a, &loaded.a},
                                            std::tuple{QStringLiteral("B"), &target.corpus_b, &loaded.b}}) {
        const auto found = std::find_if(corpora->begin(), corpora->end(),
                                        [&](const store::CorpusInfo& info) { return info.label == label; });
        if (found == corpora->end())
            return context.fail(Failure,
                                QStringLiteral("session '%1' has no corpus %2 to compare; import documents "
                                               "into it first (lectern-cli import --corpus %2)")
                                    .arg(open.session.name, label));
        *id = found->id;
        auto documents = answers::loadCorpus(*open.store, open.session.id, found->id);
        if (!documents) return context.fail(Failure, QString::fromStdString(documents.error()));
        *corpus = std::make_shared<const answers::Corpus>(std::move(*documents));
    }

    auto profile = Profile::open(context.profile_directory.isEmpty() ? Profile::defaultDirectory()
                                                                     : context.profile_directory);
    if (!profile) return context.fail(Failure, QString::fromStdString(profile.error()));
    const CacheSettings cache_settings = CacheSettings::load(*profile);
    QDir().mkpath(cache_settings.directory);
    answers::CorpusCache cache(*open.store, cache_settings.directory, cache_settings.limitBytes);
    target.cache = &cache;
    target.model_path = context.args.value(QStringLiteral("model")).value_or(QStringLiteral("default"));

    worker::InferenceWorker worker;
    auto loaded_model = loadModel(context, worker, target.model_path);
    if (const int* code = std::get_if<int>(&loaded_model)) return *code;
    const worker::ModelSummary& model = std::get<worker::ModelSummary>(loaded_model);
    const answers::ChatFormat format = answers::chatFormatFor(model.family.toStdString());
    const bool thinking =
        answers::thinksByDefault(format) && !context.args.has(QStringLiteral("no-thinking"));
    const answers::PromptRenderer renderer(*model.tokenizer, format, thinking);
    auto plan = answers::planComparison(loaded, question, *mode, renderer, model.context_tokens, max_tokens);
    if (!plan) return context.fail(Failure, QString::fromStdString(plan.error()));
    if (!plan->fallback.isEmpty() && !context.json) context.print(plan->fallback + QStringLiteral("\n\n"));

    compare::ComparisonRun run(worker);
    std::vector<worker::AnswerOutcome> outcomes;
    QString error;
    {
        QEventLoop loop;
        QObject::connect(&run, &compare::ComparisonRun::answerFinished, &loop,
                         [&](int, const worker::AnswerOutcome& outcome) { outcomes.push_back(outcome); });
        QObject::connect(&run, &compare::ComparisonRun::finished, &loop, [&](const QString& message) {
            error = message;
            loop.quit();
        });
        run.start(question, *plan, target, max_tokens);
        if (run.isRunning()) loop.exec();
    }
    if (!error.isEmpty()) return context.fail(Failure, error);

    QJsonArray answers_json;
    qint64 prefilled = 0, cached = 0;
    QString text;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const answers::ComparisonAnswer& planned = run.plan().answers[i];
        const worker::AnswerOutcome& outcome = outcomes[i];
        const CitationListing listing =
            listCitations(outcome, *planned.corpus, [&](const answers::VerifiedCitation& citation) {
                return answers::sideOf(planned, citation);
            });
        prefilled += outcome.prefilled_tokens;
        cached += outcome.cached_tokens;
        answers_json.append(QJsonObject{{QStringLiteral("corpus"), planned.label},
                                        {QStringLiteral("answer"), numberedAnswer(outcome)},
                                        {QStringLiteral("citations"), listing.json},
                                        {QStringLiteral("prefill_tokens"), outcome.prefilled_tokens},
                                        {QStringLiteral("cached_tokens"), outcome.cached_tokens},
                                        {QStringLiteral("prompt_tokens"), outcome.prompt_tokens},
                                        {QStringLiteral("answer_tokens"), outcome.answer_tokens},
                                        {QStringLiteral("thinking"), outcome.thinking},
                                        {QStringLiteral("stop_reason"), outcome.stop_reason}});
        const QString heading = planned.label.contains(u'+') ? QStringLiteral("Corpora A and B")
                                                             : QStringLiteral("Corpus ") + planned.label;
        text += QStringLiteral("== %1 ==\n").arg(heading) + numberedAnswer(outcome).trimmed() +
                QStringLiteral("\n\n") + listing.text + u'\n' + tokenSummary(outcome) +
                QStringLiteral("\n\n");
    }
    if (context.json) {
        QJsonObject result{{QStringLiteral("mode"), answers::toString(plan->mode)},
                           {QStringLiteral("answers"), answers_json},
                           {QStringLiteral("prefill_tokens"), prefilled},
                           {QStringLiteral("cached_tokens"), cached}};
        if (!plan->fallback.isEmpty()) result[QStringLiteral("fallback")] = plan->fallback;
        context.printJson(result);
    } else {
        context.print(text.trimmed() + u'\n');
    }
    return Success;
}

} // namespace

Command askCommand() {
    return {
        QStringLiteral("ask"),
        QStringLiteral("ask --session S [--model M] [--corpus A|B | --compare each|both] QUESTION"),
        QStringLiteral(
            "answers QUESTION from the session's documents, with numbered citations (document, page, "
            "quote, verification); the corpus is prefilled once and cached"),
        {{QStringLiteral("session"), true, QStringLiteral("the session to answer from")},
         {QStringLiteral("model"), true, QStringLiteral("a checkpoint folder, a .gguf file, or 'default'")},
         {QStringLiteral("corpus"), true, QStringLiteral("A or B (default A)")},
         {QStringLiteral("max-tokens"), true, QStringLiteral("the most answer tokens (default 512)")},
         {QStringLiteral("documents"), true,
          QStringLiteral(
              "answer from these documents only (ids from `documents`, or paths; comma-separated)")},
         {QStringLiteral("relevant"), false,
          QStringLiteral("when the corpus does not fit, pick the passages most relevant to the question")},
         {QStringLiteral("compare"), true,
          QStringLiteral(
              "ask corpus A and corpus B: 'each' gives one answer per corpus, 'both' one answer "
              "about their differences with both in one prompt (each when they do not fit "
              "together); JSON: \"mode\", \"answers\":[{\"corpus\",\"answer\",\"citations\",...}]")},
         {QStringLiteral("no-thinking"), false,
          QStringLiteral("DeepSeek-V4: answer without thinking first")}},
        runAsk};
}

} // namespace lectern::cli
