#pragma once
// The inference worker: drives the Qt-free engine (inference/engine/engine.h) on its own thread and
// reports through queued signals, so the GUI thread never waits on a model. Load (memory estimate
// first, then progress), ask (corpus prefix from the cache or prefilled, then the question, then the
// answer streamed as thinking, text and verified citations), cancel (from any thread; the running step
// stops within about a second and the session stays usable), unload.
//
// Every public method returns at once; the work runs on the worker's thread, one request at a time.
// One worker serves a whole main window (the conversation pane and the compare view share its model):
// load() and ask() return the request's id, and every signal about an ask carries it as its last
// argument, so each client follows only its own requests.

#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"
#include "app/answers/looked_at.h"
#include "inference/engine/engine.h"
#include "inference/tokenizer/bpe_tokenizer.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

namespace lectern::worker {

struct ModelSummary {
    QString path; // what was loaded: the checkpoint folder or .gguf file
    QString name;
    QString family;
    qint64 context_tokens = 0;
    qint64 state_bytes = 0; // the empty sequence's memory; grows with the prompt
    QString backend;        // what runs it: "CPU", "Vulkan" or "CUDA" (Engine::backend())
    QString device;         // which device of that backend ("CPU" on the host)
    QStringList fallbacks;  // one plain reason per faster backend passed over, in the order tried
    qint64 layers = 0;      // the graph's layers, and how many of them run on the device
    qint64 device_layers = 0;
    bool experts_on_host = false; // a MoE model's routed experts run on the CPU beside the GPU's layers
    // The model's own tokenizer (thread-safe to encode with), or null; valid until unload or the next load.
    const tokenizer::BpeTokenizer* tokenizer = nullptr;
};

struct AskRequest {
    std::vector<model::Token> tokens; // the whole rendered prompt
    std::size_t prefix_tokens = 0;    // its corpus prefix: restored from the cache when it can be
    QString snapshot_path;            // the corpus cache file; empty keeps the last prefix in memory only
    bool thinking = false;            // the answer starts inside the model's thinking
    inference::GenerateOptions generate;
    std::shared_ptr<const answers::Corpus> corpus;            // citations are verified against it
    std::shared_ptr<const tokenizer::BpeTokenizer> tokenizer; // null: the model's own
    // Where each passage lies in `tokens` (RenderedPrompt::passages): with a model that has a sparse
    // attention indexer (DeepSeek-V4), the answer then reports the passages it looked at.
    std::vector<answers::PassageTokens> passages;
};

struct AnswerOutcome {
    bool cancelled = false;
    QString error;       // empty on success (a cancel is not an error)
    QString stop_reason; // "stop-token", "max-tokens", "cancelled", "context-full", "caller"
    qint64 prompt_tokens = 0;
    qint64 cached_tokens = 0; // prompt tokens restored from the corpus cache, not prefilled
    qint64 prefilled_tokens = 0;
    qint64 answer_tokens = 0; // generated, stop token not counted
    double prefill_seconds = 0;
    double decode_seconds = 0;
    qint64 state_bytes = 0; // the sequence state's memory (KV and compressed caches) after the answer
    QString answer;         // the answer's text (citations taken out; see answers::Citation::answer_offset)
    QString thinking;       // the thinking, when the model thought
    QList<answers::VerifiedCitation> citations;
    QList<answers::LookedAtPassage> looked_at; // best first; empty without evidence (answers/looked_at.h)
};

using RequestId = quint64;

class InferenceWorker : public QObject {
    Q_OBJECT
public:
    explicit InferenceWorker(QObject* parent = nullptr);
    ~InferenceWorker() override; // cancels what runs and joins the thread

    // `backend` says where the model should run (inference/backend/README.md); the engine falls back
    // towards the CPU when it cannot, and the summary says why.
    RequestId load(const QString& model_path, backend::Request backend = {});
    RequestId ask(AskRequest request);
    void unload();
    // Any thread, any time: stops the running load (between tensors), prefill or generation (within ~1 s),
    // and drops requests still queued.
    void cancel();
    // The same for one request only (running or queued); the others go on.
    void cancel(RequestId request);

    // On the thread the worker was made on, as its signals arrive there: the model loaded (none while a
    // load is queued or running, or after unload), and whether a load is queued or running.
    const std::optional<ModelSummary>& model() const { return model_; }
    bool isLoading() const { return loads_pending_ > 0; }

    // Estimated bytes a model at `model_path` needs: its weight files (mapped), before loading.
    static qint64 estimateMemory(const QString& model_path);

signals:
    void memoryEstimated(qint64 bytes);
    void loadProgress(double fraction, const QString& what);
    void loaded(const lectern::worker::ModelSummary& model);
    void loadFailed(const QString& message);
    // cancel() stopped the load: no model is loaded (the one loaded before was already let go).
    void loadCancelled();
    void unloaded();

    // The corpus cache file was unusable (damaged, another model's, another corpus) and was removed.
    void cacheDiscarded(const QString& path, const QString& reason, lectern::worker::RequestId request);
    void cacheSaved(const QString& path, qint64 bytes, qint64 tokens, lectern::worker::RequestId request);
    void prefillProgress(qint64 done, qint64 total, double tokens_per_second, double eta_seconds,
                         lectern::worker::RequestId request);
    // While the answer is written (at most every 100 ms): tokens so far and their rate.
    void decodeProgress(qint64 tokens, double tokens_per_second, lectern::worker::RequestId request);
    // The sequence state's memory, after the corpus is in place and after each answer.
    void stateBytes(qint64 bytes, lectern::worker::RequestId request);
    void thinkingText(const QString& text, lectern::worker::RequestId request);
    void answerText(const QString& text, lectern::worker::RequestId request);
    void citation(const lectern::answers::VerifiedCitation& citation, lectern::worker::RequestId request);
    // After the answer, before answered(): the passages the model's indexer looked at most (V4 only).
    void lookedAt(const QList<lectern::answers::LookedAtPassage>& passages,
                  lectern::worker::RequestId request);
    void answered(const lectern::worker::AnswerOutcome& outcome, lectern::worker::RequestId request);
    // Before answered(), when the backend's notes changed since loading or the last answer (a sequence
    // outgrew the GPU and continued on the CPU): all of them, as ModelSummary::fallbacks.
    void fallbacksChanged(const QStringList& fallbacks);

private:
    struct State; // the engine and the last corpus prefix: touched only on the worker's thread

    void post(std::function<void()> job);
    void runLoad(const QString& model_path, const backend::Request& backend, std::uint64_t sequence);
    void runAsk(const AskRequest& request, std::uint64_t sequence);
    bool cancelled(std::uint64_t sequence) const;

    QThread thread_;
    QObject* context_; // lives on thread_: jobs are posted to it
    std::unique_ptr<State> state_;
    std::mutex engine_mutex_; // guards `engine_` for cancel() from other threads
    inference::Engine* engine_ = nullptr;
    std::atomic<bool> busy_{false};
    std::atomic<std::uint64_t> submitted_{0};
    std::atomic<std::uint64_t> cancelled_through_{0}; // requests up to this number are cancelled
    std::atomic<std::uint64_t> running_{0};           // the request on the worker's thread now
    mutable std::mutex cancelled_mutex_;
    std::set<std::uint64_t> cancelled_requests_; // cancelled one by one
    std::optional<ModelSummary> model_;          // the worker's own thread's view: see model()
    int loads_pending_ = 0;
};

} // namespace lectern::worker

Q_DECLARE_METATYPE(lectern::worker::ModelSummary)
Q_DECLARE_METATYPE(lectern::worker::AnswerOutcome)
Q_DECLARE_METATYPE(lectern::answers::VerifiedCitation)
