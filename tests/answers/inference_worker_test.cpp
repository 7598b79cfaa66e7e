// The inference worker on its own thread, driving the real engine over a scripted model (registered with
// the model factory; it answers a fixed token script and sleeps per slice, like a slow model), with
// DeepSeek-V4's tokenizer (skipped when absent): streaming of thinking, text and verified citations, the
// corpus cache (saved, re-used with zero corpus tokens prefilled, a damaged file discarded), cancel
// mid-load (a slow scripted loader, and the real GGUF and DeepSeek-V4 loaders), mid-prefill and mid-answer
// within a second with the session usable afterwards, and calls that never block the calling thread.

#include "app/worker/inference_worker.h"
#include "inference/model/factory.h"
#include "inference/tokenizer/hf_tokenizer_json.h"
#include "tests/answers/corpus_fixture.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/queued_spy.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

using namespace lectern;
using worker::AnswerOutcome;
using worker::AskRequest;
using worker::InferenceWorker;

namespace {

struct Script {
    std::vector<model::Token> answer;
    std::int64_t prompt_length = 0; // generation starts at this position
    int slice_ms = 0;               // sleep per prefill slice of 32 tokens
    int token_ms = 0;               // sleep per decoded token
    std::int64_t vocab = 0;
    model::Token eos = 0;
};
Script g_script;

// A slow loader: kSlowLoadSteps tensors at kSlowLoadStepMs each (about 6 s), stopping when told.
constexpr int kSlowLoadSteps = 200;
constexpr int kSlowLoadStepMs = 30;
std::atomic<int> g_slow_load_steps{0}; // steps the last slow load went through
std::atomic<int> g_slow_load_starts{0};

class ScriptedState : public model::SequenceState {
public:
    std::int64_t position() const override { return position_; }
    std::uint64_t memory_bytes() const override { return std::uint64_t(position_) * 64; }
    std::vector<std::byte> snapshot() const override {
        std::vector<std::byte> bytes(8);
        std::memcpy(bytes.data(), &position_, 8);
        return bytes;
    }
    Result<void> restore(std::span<const std::byte> bytes) override {
        if (bytes.size() != 8) return Error{"not a scripted state"};
        std::memcpy(&position_, bytes.data(), 8);
        return {};
    }
    std::unique_ptr<model::SequenceState> clone() const override {
        return std::make_unique<ScriptedState>(*this);
    }
    std::int64_t position_ = 0;
};

class ScriptedModel : public model::Model {
public:
    ScriptedModel() {
        info_.family = "scripted";
        info_.name = "scripted";
        info_.vocab_size = g_script.vocab;
        info_.context_length = 1 << 20;
        info_.eos_token = g_script.eos;
        info_.stop_tokens = {g_script.eos};
    }
    const model::ModelInfo& info() const override { return info_; }
    std::unique_ptr<model::SequenceState> new_state() const override {
        return std::make_unique<ScriptedState>();
    }
    Result<model::ForwardResult> forward(model::SequenceState& base, std::span<const model::Token> tokens,
                                         const model::ForwardOptions& options) const override {
        auto& state = static_cast<ScriptedState&>(base);
        model::ForwardResult result;
        constexpr std::int64_t kSlice = 32;
        const auto total = std::int64_t(tokens.size());
        while (result.consumed < total) {
            if (options.cancel && options.cancel->load()) {
                result.cancelled = true;
                break;
            }
            const std::int64_t n = std::min(kSlice, total - result.consumed);
            std::this_thread::sleep_for(
                std::chrono::milliseconds(total == 1 ? g_script.token_ms : g_script.slice_ms));
            state.position_ += n;
            result.consumed += n;
            if (options.progress) options.progress(result.consumed, total);
        }
        if (options.logits != model::LogitsWanted::None && result.consumed > 0) {
            result.rows = 1;
            result.logits.assign(std::size_t(info_.vocab_size), 0.0f);
            const std::int64_t index = state.position_ - g_script.prompt_length;
            const bool scripted = index >= 0 && index < std::int64_t(g_script.answer.size());
            result.logits[std::size_t(scripted ? g_script.answer[std::size_t(index)] : g_script.eos)] = 1.0f;
        }
        return result;
    }

private:
    model::ModelInfo info_;
};

} // namespace

class InferenceWorkerTest : public QObject {
    Q_OBJECT

private:
    std::shared_ptr<const tokenizer::BpeTokenizer> tokenizer_;
    std::shared_ptr<const answers::Corpus> corpus_;
    QTemporaryDir directory_;

    AskRequest request(std::int64_t prompt, std::int64_t prefix, const QString& cache) {
        AskRequest r;
        r.tokens.assign(std::size_t(prompt), 100);
        for (std::int64_t i = prefix; i < prompt; ++i) r.tokens[std::size_t(i)] = 200; // the question
        r.prefix_tokens = std::size_t(prefix);
        r.snapshot_path = cache;
        r.thinking = true;
        r.generate.max_tokens = 4096;
        r.corpus = corpus_;
        r.tokenizer = tokenizer_;
        g_script.prompt_length = prompt;
        return r;
    }

    static AnswerOutcome waitForAnswer(test::QueuedSpy& answered, int timeout_ms = 30000) {
        if (!answered.waitFor(1, timeout_ms)) {
            AnswerOutcome timed_out;
            timed_out.error = QStringLiteral("no answer within %1 ms").arg(timeout_ms);
            return timed_out;
        }
        return answered.takeFirst().at(0).value<AnswerOutcome>();
    }

    void loadScriptedChecks(InferenceWorker& worker) {
        test::QueuedSpy loaded(&worker, &InferenceWorker::loaded);
        test::QueuedSpy estimated(&worker, &InferenceWorker::memoryEstimated);
        worker.load(QStringLiteral("scripted:model"));
        QVERIFY(loaded.waitFor(1, 10000));
        QCOMPARE(estimated.size(), 1);
        QCOMPARE(loaded.first().at(0).value<worker::ModelSummary>().family, QStringLiteral("scripted"));
    }
    // Whether the scripted model loaded as it should; the caller QVERIFYs it, so that a failure here
    // ends the test function rather than being followed by misleading ones.
    [[nodiscard]] bool loadScripted(InferenceWorker& worker) {
        loadScriptedChecks(worker);
        return !QTest::currentTestFailed();
    }

private slots:
    void initTestCase() {
        const QByteArray cache = qgetenv("LECTERN_CACHE");
        const QString path =
            QString::fromUtf8(cache) + QStringLiteral("/tokenizers/deepseek-v4/tokenizer.json");
        if (cache.isEmpty() || !QFile::exists(path))
            QSKIP("DeepSeek-V4's tokenizer is not fetched (scripts/fetch-models)");
        auto loaded = tokenizer::load_hf_tokenizer(path.toStdString());
        QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().c_str());
        tokenizer_ = std::make_shared<const tokenizer::BpeTokenizer>(std::move(*loaded));
        g_script.vocab = std::int64_t(tokenizer_->vocab_size());
        g_script.eos = *tokenizer_->token_id("<｜end▁of▁sentence｜>");
        g_script.answer = tokenizer_->encode("Looking at P1.</think>\n\nThe board met [P1: \"on 3 May\"].");
        test::Document doc;
        doc.path = QStringLiteral("/docs/minutes.txt");
        doc.contentHash = QStringLiteral("cccccccccccccccccccccccccccccccc");
        doc.pages.append(test::makePage(1, QStringLiteral("The board met on 3 May."), false));
        test::addPassages(doc, doc.pages[0]);
        corpus_ = std::make_shared<const answers::Corpus>(QList<importers::Document>{doc});
        // Set field by field: the loader struct may grow (a backend-aware entry point, ...).
        model::Loader scripted;
        scripted.name = "scripted";
        scripted.accepts = [](const std::string& name) { return name.starts_with("scripted:"); };
        scripted.load = [](const std::string&,
                           const model::LoadProgress& progress) -> Result<std::unique_ptr<model::Model>> {
            if (progress) progress(1.0, "scripted");
            return std::unique_ptr<model::Model>(std::make_unique<ScriptedModel>());
        };
        model::register_loader(std::move(scripted));
        model::Loader slow;
        slow.name = "slow";
        slow.accepts = [](const std::string& name) { return name.starts_with("slow:"); };
        slow.load = [](const std::string& model_path,
                       const model::LoadProgress& progress) -> Result<std::unique_ptr<model::Model>> {
            ++g_slow_load_starts;
            g_slow_load_steps = 0;
            for (int step = 1; step <= kSlowLoadSteps; ++step) {
                std::this_thread::sleep_for(std::chrono::milliseconds(kSlowLoadStepMs));
                g_slow_load_steps = step;
                if (progress && !progress(double(step) / kSlowLoadSteps, "tensors"))
                    return model::load_cancelled(model_path);
            }
            return std::unique_ptr<model::Model>(std::make_unique<ScriptedModel>());
        };
        model::register_loader(std::move(slow));
    }

    void streamsAndReusesTheCorpusCache() {
        g_script.slice_ms = 1;
        g_script.token_ms = 0;
        InferenceWorker worker;
        QVERIFY(loadScripted(worker));
        const QString cache = directory_.filePath(QStringLiteral("corpus.snapshot"));
        test::QueuedSpy answered(&worker, &InferenceWorker::answered);
        test::QueuedSpy saved(&worker, &InferenceWorker::cacheSaved);
        test::QueuedSpy progress(&worker, &InferenceWorker::prefillProgress);
        test::QueuedSpy stateBytes(&worker, &InferenceWorker::stateBytes);
        QString thinking, text;
        connect(&worker, &InferenceWorker::thinkingText, this, [&](const QString& t) { thinking += t; });
        connect(&worker, &InferenceWorker::answerText, this, [&](const QString& t) { text += t; });

        QElapsedTimer call;
        call.start();
        worker.ask(request(300, 256, cache));
        QVERIFY(call.elapsed() < 50); // the calling thread never waits on the model
        AnswerOutcome first = waitForAnswer(answered);
        QCOMPARE(first.error, QString());
        QCOMPARE(thinking, QStringLiteral("Looking at P1."));
        QCOMPARE(text, QStringLiteral("The board met ."));
        QCOMPARE(first.answer, text);
        QCOMPARE(first.citations.size(), 1);
        QVERIFY(first.citations[0].verification == answers::Verification::Exact);
        QCOMPARE(first.stop_reason, QStringLiteral("stop-token"));
        QCOMPARE(first.cached_tokens, 0);
        QCOMPARE(first.prefilled_tokens, 300);
        QCOMPARE(first.answer_tokens, qint64(g_script.answer.size()));
        QVERIFY(first.state_bytes >= 300 * 64); // the scripted state's 64 bytes per position
        QCOMPARE(stateBytes.last().at(0).toLongLong(), first.state_bytes);
        QCOMPARE(saved.size(), 1);
        QCOMPARE(saved.first().at(2).toLongLong(), 256);
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().at(0).toLongLong(), 300); // done == total at the end
        QCOMPARE(progress.last().at(1).toLongLong(), 300);

        // The second question starts from the cache: zero corpus tokens prefilled.
        progress.clear();
        worker.ask(request(310, 256, cache));
        AnswerOutcome second = waitForAnswer(answered);
        QCOMPARE(second.error, QString());
        QCOMPARE(second.cached_tokens, 256);
        QCOMPARE(second.prefilled_tokens, 54);
        QCOMPARE(second.citations.size(), 1);
        QCOMPARE(progress.last().at(1).toLongLong(), 54);

        // A damaged cache file is discarded with a message, and replaced.
        QFile damaged(cache);
        QVERIFY(damaged.open(QIODevice::WriteOnly));
        damaged.write("not a snapshot at all");
        damaged.close();
        test::QueuedSpy discarded(&worker, &InferenceWorker::cacheDiscarded);
        worker.ask(request(300, 256, cache));
        AnswerOutcome third = waitForAnswer(answered);
        QCOMPARE(third.error, QString());
        QCOMPARE(discarded.size(), 1);
        QCOMPARE(third.cached_tokens, 0);
        QCOMPARE(third.prefilled_tokens, 300);
        QCOMPARE(saved.size(), 2);

        // Without a cache file the last prefix is kept in memory.
        worker.ask(request(300, 256, {}));
        QCOMPARE(waitForAnswer(answered).cached_tokens, 0);
        worker.ask(request(305, 256, {}));
        QCOMPARE(waitForAnswer(answered).cached_tokens, 256);
    }

    void cancelsWithinASecond() {
        InferenceWorker worker;
        QVERIFY(loadScripted(worker));
        test::QueuedSpy answered(&worker, &InferenceWorker::answered);

        // Mid-prefill: 64k tokens at 20 ms per 32 would take 40 s.
        g_script.slice_ms = 20;
        test::QueuedSpy progress(&worker, &InferenceWorker::prefillProgress);
        worker.ask(request(65536, 65000, {}));
        QVERIFY(progress.waitFor(1, 10000));
        QElapsedTimer timer;
        timer.start();
        worker.cancel();
        AnswerOutcome cancelled = waitForAnswer(answered, 5000);
        qInfo("cancel mid-prefill answered after %lld ms", timer.elapsed());
        QVERIFY(timer.elapsed() < 1000);
        QVERIFY(cancelled.cancelled);
        QCOMPARE(cancelled.error, QString());
        QVERIFY(cancelled.prefilled_tokens > 0 && cancelled.prefilled_tokens < 65536);

        // Mid-answer: a long answer at 50 ms per token.
        g_script.slice_ms = 0;
        g_script.token_ms = 50;
        const std::vector<model::Token> short_answer = g_script.answer;
        g_script.answer = tokenizer_->encode("</think>" + std::string(2000, 'a'));
        test::QueuedSpy text(&worker, &InferenceWorker::answerText);
        test::QueuedSpy decoding(&worker, &InferenceWorker::decodeProgress);
        worker.ask(request(100, 64, {}));
        QVERIFY(text.waitFor(1, 10000));
        QVERIFY(decoding.waitFor(1, 5000)); // tokens so far and their rate, while the answer is written
        QVERIFY(decoding.last().at(0).toLongLong() > 0);
        const double rate = decoding.last().at(1).toDouble();
        QVERIFY2(rate > 5 && rate < 40, qPrintable(QString::number(rate))); // 50 ms a token: about 20/s
        timer.restart();
        worker.cancel();
        cancelled = waitForAnswer(answered, 5000);
        qInfo("cancel mid-answer answered after %lld ms", timer.elapsed());
        QVERIFY(timer.elapsed() < 1000);
        QVERIFY(cancelled.cancelled);

        // The session is usable afterwards.
        g_script.answer = short_answer;
        g_script.token_ms = 0;
        worker.ask(request(100, 64, {}));
        AnswerOutcome after = waitForAnswer(answered);
        QVERIFY(!after.cancelled);
        QCOMPARE(after.error, QString());
        QCOMPARE(after.citations.size(), 1);
        // The corpus prefix kept before the cancelled answer serves; the answer's tokens were dropped.
        QCOMPARE(after.cached_tokens, 64);
        QCOMPARE(after.prefilled_tokens, 36);
    }

    void cancelsALoadWithinASecond() {
        InferenceWorker worker;
        QVERIFY(loadScripted(
            worker)); // a model loaded before: a cancelled load must not leave it (or half of one)
        test::QueuedSpy loaded(&worker, &InferenceWorker::loaded);
        test::QueuedSpy failed(&worker, &InferenceWorker::loadFailed);
        test::QueuedSpy cancelledLoad(&worker, &InferenceWorker::loadCancelled);
        test::QueuedSpy progress(&worker, &InferenceWorker::loadProgress);
        worker.load(QStringLiteral("slow:model"));
        QVERIFY(progress.waitFor(1, 10000));
        QTest::qWait(200); // well inside the load
        QElapsedTimer timer;
        timer.start();
        worker.cancel();
        QVERIFY(cancelledLoad.waitFor(1, 5000));
        const qint64 latency = timer.elapsed();
        qInfo("cancel mid-load answered after %lld ms (the load had gone through %d of %d steps)", latency,
              g_slow_load_steps.load(), kSlowLoadSteps);
        QVERIFY(latency < 1000);
        QVERIFY(g_slow_load_steps < kSlowLoadSteps);
        QCOMPARE(loaded.size(), 0);
        QCOMPARE(failed.size(), 0);

        // Nothing is loaded afterwards: asking says so.
        test::QueuedSpy answered(&worker, &InferenceWorker::answered);
        worker.ask(request(10, 5, {}));
        QVERIFY(waitForAnswer(answered).error.contains(QStringLiteral("No model is loaded")));

        // A load still queued behind the running one is cancelled too, and never starts.
        cancelledLoad.clear();
        progress.clear();
        const int starts = g_slow_load_starts;
        worker.load(QStringLiteral("slow:model"));
        QVERIFY(progress.waitFor(1, 10000));
        worker.load(QStringLiteral("slow:model"));
        worker.cancel();
        QTRY_COMPARE_WITH_TIMEOUT(cancelledLoad.size(), 2, 5000);
        QCOMPARE(g_slow_load_starts.load(), starts + 1);
        QCOMPARE(loaded.size(), 0);

        // The worker loads and answers normally afterwards.
        QVERIFY(loadScripted(worker));
        worker.ask(request(100, 64, {}));
        const AnswerOutcome after = waitForAnswer(answered);
        QCOMPARE(after.error, QString());
        QCOMPARE(after.citations.size(), 1);
    }

    void cancelsRealLoadersAtTheirFirstStep() {
        // The built-in loaders (the default GGUF model, a DeepSeek-V4 checkpoint) stop at their next
        // progress point: cancel as soon as the first progress is reported.
        const auto cancelLoad = [](const QString& path) {
            InferenceWorker worker;
            test::QueuedSpy loaded(&worker, &InferenceWorker::loaded);
            test::QueuedSpy cancelledLoad(&worker, &InferenceWorker::loadCancelled);
            QElapsedTimer timer;
            connect(&worker, &InferenceWorker::loadProgress, &worker, [&] {
                if (!timer.isValid()) {
                    timer.start();
                    worker.cancel();
                }
            });
            worker.load(path);
            QVERIFY(cancelledLoad.waitFor(1, 10000));
            qInfo("%s: cancel during load answered after %lld ms", qPrintable(QFileInfo(path).fileName()),
                  timer.elapsed());
            QVERIFY(timer.elapsed() < 1000);
            QCOMPARE(loaded.size(), 0);
        };
        cancelLoad(QString::fromStdString(test::tiny_v4_folder()));
        const QString smol = QString::fromUtf8(qgetenv("LECTERN_CACHE")) +
                             QStringLiteral("/models/SmolLM2-135M-Instruct.Q4_1.gguf");
        if (QFile::exists(smol)) cancelLoad(smol);
    }

    void refusesToAskWithoutAModel() {
        InferenceWorker worker;
        test::QueuedSpy answered(&worker, &InferenceWorker::answered);
        worker.ask(request(10, 5, {}));
        QVERIFY(waitForAnswer(answered).error.contains(QStringLiteral("No model is loaded")));
    }
};

QTEST_GUILESS_MAIN(InferenceWorkerTest)
#include "inference_worker_test.moc"
