#pragma once
// Asking, end to end: loads a model on the inference worker, builds the grounded prompt for the current
// session (app/answers), starts from the corpus cache when it holds this corpus (or prefills and saves
// it), streams thinking, text and verified citations into the conversation pane, keeps each complete
// answer in the store (saved_answers.h) and shows a session's saved conversation again when it is
// opened, and keeps the status bar current: context, KV-cache size, backend and device, tokens/s while
// the answer is written, prefill progress and ETA. The inference worker is the main window's, shared
// with the compare view: the controller follows only its own requests, and any model the worker loads.

#include "app/answers/corpus.h"
#include "app/answers/corpus_cache.h"
#include "app/answers/prompt.h"
#include "app/profile/cache_settings.h"
#include "app/worker/inference_worker.h"
#include "ui/conversation/answer_view_model.h"

#include <QObject>

#include <memory>
#include <optional>
#include <vector>

namespace lectern::store {
class Store;
}

namespace lectern::ui {

class ConversationView;
class StatusPanel;

class AskController : public QObject {
    Q_OBJECT
public:
    static constexpr std::int64_t kMaxAnswerTokens = 512;

    AskController(worker::InferenceWorker& worker, ConversationView* conversation, StatusPanel* status,
                  QObject* parent = nullptr);

    // Opening another session shows its saved answers; new answers continue its latest conversation.
    void setStore(store::Store* store, qint64 session);
    // Where corpus snapshots go and how large the cache may grow; a lower limit evicts at once.
    void setCacheSettings(const CacheSettings& settings);
    const CacheSettings& cacheSettings() const { return cacheSettings_; }
    // A checkpoint folder or .gguf file; empty: the built-in default model. `backend`: where it should
    // run (the engine falls back towards the CPU; the status bar shows what it got and why).
    void loadModel(const QString& path = {}, const backend::Request& backend = {});
    // The loaded model's summary (backend, device, fallbacks), when one is loaded.
    const std::optional<worker::ModelSummary>& model() const { return model_; }
    bool isModelLoaded() const { return model_.has_value(); }
    // The longest answer, in tokens (kMaxAnswerTokens unless set; lectern-cli ask --max-tokens is the
    // same limit); it is also what the prompt keeps free of corpus.
    void setMaxAnswerTokens(std::int64_t tokens) { maxAnswerTokens_ = tokens; }
    bool isAnswering() const { return answering_; }
    // The turns the next question carries as chat history: the latest ordinary conversation's.
    const std::vector<answers::Turn>& history() const { return history_; }
    void ask(const QString& question);

signals:
    void modelLoaded(const QString& name);
    void modelFailed(const QString& message);
    void answerFinished();

private:
    void updateAskState();
    // The loaded model's backend, device, how it is split and the fallbacks' reasons, in the status bar.
    void showBackend();
    void fail(const QString& message);
    void show();
    void restoreSession();
    void saveAnswer(const worker::AnswerOutcome& outcome);
    void makeCache();

    ConversationView* conversation_;
    StatusPanel* status_;
    void stop();

    worker::InferenceWorker& worker_;
    worker::RequestId request_ = 0; // the answer being written, or the load this controller started
    std::optional<worker::ModelSummary> model_;
    CacheSettings cacheSettings_;
    std::unique_ptr<answers::CorpusCache> cache_;
    std::optional<answers::CorpusCacheKey> cacheKey_; // of the answer being written
    qint64 corpusId_ = 0;                             // the store's id of corpus_
    qint64 storedConversation_ = 0;                   // where new answers are saved; 0: a new one
    std::int64_t maxAnswerTokens_ = kMaxAnswerTokens;
    QString modelStatus_ = QStringLiteral("No model is loaded yet.");
    store::Store* store_ = nullptr;
    qint64 session_ = 0;
    std::shared_ptr<const answers::Corpus> corpus_;
    std::vector<answers::Turn> history_;
    bool answering_ = false;
    bool loading_ = false; // a model is being loaded (Stop cancels it)
    int answerIndex_ = -1;
    AnswerViewModel answer_;
};

} // namespace lectern::ui
