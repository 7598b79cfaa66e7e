// "Looked at" passages end to end with the tiny DeepSeek-V4 checkpoint and DeepSeek-V4's tokenizer
// (skipped when the tokenizer is not fetched): a fixture corpus assembled and rendered as the app does,
// asked through the inference worker; lookedAt() comes once, before answered(), and lists real passages
// of the corpus (ids, markers), best first, with shares in (0, 1] that sum to at most 1, cited ones
// marked, the same list as the outcome's. The tiny model's weights are random, so the test asserts
// structure, not relevance. A request without passage ranges records nothing.

#include "app/answers/prompt.h"
#include "app/answers/prompt_renderer.h"
#include "app/worker/inference_worker.h"
#include "inference/engine/engine.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/queued_spy.h"

#include <QFile>
#include <QTest>

#include <variant>

using namespace lectern;

namespace {

answers::Corpus fixtureCorpus() {
    QList<importers::Document> documents;
    const QStringList texts = {
        QStringLiteral("The tenant pays rent of 4,200 EUR on the first day of each month.\n\n"
                       "The landlord repairs the roof and the outer walls.\n\n"
                       "Either party may end the lease with six months' notice."),
        QStringLiteral("The inspection on 3 May found water damage in hall B.\n\n"
                       "The roof drains were blocked by leaves.\n\nRepairs are due by 30 June.")};
    for (int i = 0; i < texts.size(); ++i) {
        test::Document doc;
        doc.path = QStringLiteral("/docs/doc%1.txt").arg(i + 1);
        doc.contentHash = QString(32, QChar(u'a' + i));
        doc.pages.append(test::makePage(1, texts[i], false));
        test::addPassages(doc, doc.pages[0]);
        documents.append(doc);
    }
    return answers::Corpus(documents);
}

// The question "Who repairs the roof?" over the corpus, rendered as the app does, for 16 tokens.
bool makeRequest(const worker::ModelSummary& model, const std::shared_ptr<const answers::Corpus>& corpus,
                 worker::AskRequest& request) {
    auto templates = answers::PromptTemplates::load();
    if (!templates) return false;
    const answers::PromptRenderer renderer(*model.tokenizer, answers::ChatFormat::DeepSeekV4, true);
    const answers::PromptBuilder builder(*corpus, *templates, renderer.counter());
    const answers::BudgetSettings budget{model.context_tokens, 64, renderer.templateTokens(0)};
    auto assembled = builder.assemble(QStringLiteral("Who repairs the roof?"), {}, budget);
    if (!std::holds_alternative<answers::AssembledPrompt>(assembled)) return false;
    const answers::RenderedPrompt rendered = renderer.render(std::get<answers::AssembledPrompt>(assembled));
    if (int(rendered.passages.size()) != corpus->passageCount()) return false;

    request.tokens = rendered.tokens;
    request.prefix_tokens = rendered.prefix_tokens;
    request.thinking = rendered.thinking;
    request.passages = rendered.passages;
    request.corpus = corpus;
    request.generate.max_tokens = 16;
    request.generate.stop_at_model_stop_tokens = false;
    return true;
}

} // namespace

class LookedAtTinyV4Test : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        const QByteArray cache = qgetenv("LECTERN_CACHE");
        if (cache.isEmpty() || !QFile::exists(QString::fromUtf8(cache) +
                                              QStringLiteral("/tokenizers/deepseek-v4/tokenizer.json")))
            QSKIP("DeepSeek-V4's tokenizer is not fetched (scripts/fetch-models)");
        if (!QFile::exists(QString::fromStdString(test::tiny_v4_folder()) +
                           QStringLiteral("/tokenizer.json")))
            QSKIP("the tiny checkpoint was written without DeepSeek-V4's tokenizer");
    }

    void listsPassagesTheIndexerChose() {
        const QString folder = QString::fromStdString(test::tiny_v4_folder());

        worker::InferenceWorker worker;
        test::QueuedSpy loaded(&worker, &worker::InferenceWorker::loaded);
        worker.load(folder);
        QVERIFY(loaded.waitFor(1, 60000));
        const auto model = loaded.first().at(0).value<worker::ModelSummary>();
        QVERIFY(model.tokenizer);

        const auto corpus = std::make_shared<const answers::Corpus>(fixtureCorpus());
        worker::AskRequest request;
        QVERIFY(makeRequest(model, corpus, request));

        // Both delivered to this thread, queued, in the order the worker emitted them.
        QList<answers::LookedAtPassage> looked;
        bool answered_seen = false, looked_before_answered = false;
        worker::AnswerOutcome outcome;
        test::QueuedSpy answered(&worker, &worker::InferenceWorker::answered);
        connect(&worker, &worker::InferenceWorker::answered, this, [&] { answered_seen = true; });
        connect(&worker, &worker::InferenceWorker::lookedAt, this,
                [&](const QList<answers::LookedAtPassage>& passages) {
                    looked = passages;
                    looked_before_answered = !answered_seen;
                });
        worker.ask(request);
        QVERIFY(answered.waitFor(1, 120000));
        QTRY_VERIFY(answered_seen); // the queued deliveries, lookedAt's first, have run
        outcome = answered.first().at(0).value<worker::AnswerOutcome>();
        QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
        QCOMPARE(outcome.answer_tokens, 16);

        QVERIFY(looked_before_answered);
        QVERIFY(!looked.isEmpty());
        QCOMPARE(looked.size(), outcome.looked_at.size());
        double total = 0.0;
        for (qsizetype i = 0; i < looked.size(); ++i) {
            const answers::LookedAtPassage& passage = looked[i];
            QCOMPARE(passage.marker, outcome.looked_at[i].marker);
            const answers::MarkedPassage* marked = corpus->find(passage.marker);
            QVERIFY(marked);
            QCOMPARE(passage.passage_id, corpus->passage(*marked).id);
            QVERIFY(passage.weight > 0.0 && passage.weight <= 1.0);
            if (i > 0) QVERIFY(looked[i - 1].weight >= passage.weight);
            bool cited = false;
            for (const answers::VerifiedCitation& c : outcome.citations)
                cited |= c.citation.marker == passage.marker;
            QCOMPARE(passage.cited, cited);
            total += passage.weight;
        }
        QVERIFY(total <= 1.0 + 1e-9);
        qInfo("%lld of %d passages looked at, %.1f%% of the indexer's weight on them, the first P%d %.1f%%",
              static_cast<long long>(looked.size()), corpus->passageCount(), total * 100.0, looked[0].marker,
              looked[0].weight * 100.0);

        // Without passage ranges nothing is recorded and nothing is listed.
        test::QueuedSpy second_look(&worker, &worker::InferenceWorker::lookedAt);
        request.passages.clear();
        answered.clear();
        worker.ask(request);
        QVERIFY(answered.waitFor(1, 120000));
        QVERIFY(second_look.isEmpty());
        QVERIFY(answered.first().at(0).value<worker::AnswerOutcome>().looked_at.isEmpty());
    }

    // On Vulkan with the device memory capped just above what loading takes: the caches find no room, the
    // answer comes from the CPU all the same, and before answered() the worker says why.
    void saysWhenASequenceContinuesOnTheCpu() {
        if (qgetenv("LECTERN_BACKEND") != "vulkan") QSKIP("the Vulkan run of this test checks it");
        const QString folder = QString::fromStdString(test::tiny_v4_folder());
        const backend::Request all_layers{backend::Choice::Vulkan, 4, {}, {}, {}};
        auto probe = inference::Engine::load(folder.toStdString(), {}, all_layers);
        QVERIFY2(probe.ok(), probe ? "" : probe.error().c_str());
        if ((*probe)->backend().kind != backend::Kind::Vulkan) QSKIP("no Vulkan device");
        backend::Request capped = all_layers;
        capped.device_memory = (*probe)->backend().device_bytes_in_use + (256u << 10);
        probe->reset();

        worker::InferenceWorker worker;
        test::QueuedSpy loaded(&worker, &worker::InferenceWorker::loaded);
        worker.load(folder, capped);
        QVERIFY(loaded.waitFor(1, 60000));
        const auto model = loaded.first().at(0).value<worker::ModelSummary>();
        QCOMPARE(model.backend, QStringLiteral("Vulkan"));
        QVERIFY(model.fallbacks.isEmpty());
        const auto corpus = std::make_shared<const answers::Corpus>(fixtureCorpus());
        worker::AskRequest request;
        QVERIFY(makeRequest(model, corpus, request));
        test::QueuedSpy changed(&worker, &worker::InferenceWorker::fallbacksChanged);
        test::QueuedSpy answered(&worker, &worker::InferenceWorker::answered);
        worker.ask(request);
        QVERIFY(answered.waitFor(1, 120000));
        const auto outcome = answered.first().at(0).value<worker::AnswerOutcome>();
        QVERIFY2(outcome.error.isEmpty(), qPrintable(outcome.error));
        QCOMPARE(outcome.answer_tokens, 16);
        QCOMPARE(changed.size(), 1);
        const QStringList fallbacks = changed.first().at(0).toStringList();
        QVERIFY(!fallbacks.isEmpty());
        QVERIFY2(fallbacks.last().startsWith(QStringLiteral("GPU: no room for the caches of ")),
                 qPrintable(fallbacks.join(QStringLiteral("; "))));
        QTRY_COMPARE(worker.model()->fallbacks, fallbacks);
    }
};

QTEST_GUILESS_MAIN(LookedAtTinyV4Test)
#include "looked_at_tiny_v4_test.moc"
