#pragma once
// Runs a comparison (app/answers/comparison.h) on the inference worker: its answers one after another,
// each from its corpus cache entry when there is one (else prefilled and saved), streamed with the
// index of the answer it belongs to, and each kept in the store: one conversation per comparison, one
// message per answer, with the corpus it was answered from (A and B for the one answer of "both").
//
// It follows only its own requests' signals: the worker may serve other clients meanwhile (the main
// window's conversation pane). A model loaded in the middle of a run ends it after the answer in flight:
// the remaining prompts were made with the previous model's tokenizer.

#include "app/answers/comparison.h"
#include "app/answers/corpus_cache.h"
#include "app/worker/inference_worker.h"

#include <QObject>

#include <optional>

namespace lectern::store {
class Store;
}

namespace lectern::compare {

struct ComparisonTarget {
    store::Store* store = nullptr;
    qint64 session = 0;
    qint64 corpus_a = 0;
    qint64 corpus_b = 0;
    QString model_path;                    // part of the corpus cache key
    answers::CorpusCache* cache = nullptr; // null: the worker keeps the last corpus prefix in memory only
};

class ComparisonRun : public QObject {
    Q_OBJECT
public:
    explicit ComparisonRun(worker::InferenceWorker& worker, QObject* parent = nullptr);

    // Starts the plan's answers; finished() follows the last one (or the first that failed or stopped).
    void start(const QString& question, answers::ComparisonPlan plan, const ComparisonTarget& target,
               std::int64_t max_answer_tokens);
    void cancel();
    bool isRunning() const { return running_; }
    const answers::ComparisonPlan& plan() const { return plan_; }
    // Where its answers are kept: made with the first one.
    std::optional<qint64> conversation() const { return conversation_; }

signals:
    void answerStarted(int index);
    void thinkingText(int index, const QString& text);
    void answerText(int index, const QString& text);
    void citation(int index, const lectern::answers::VerifiedCitation& citation);
    void answerFinished(int index, const lectern::worker::AnswerOutcome& outcome);
    // `error` is empty when every answer was written and kept.
    void finished(const QString& error);

private:
    void askNext();
    void onAnswered(const worker::AnswerOutcome& outcome, worker::RequestId request);
    void finish(const QString& error);
    qint64 corpusOfSide(const QString& label) const;

    worker::InferenceWorker& worker_;
    QList<QMetaObject::Connection> connections_;
    answers::ComparisonPlan plan_;
    ComparisonTarget target_;
    QString question_;
    std::int64_t max_answer_tokens_ = 0;
    std::optional<qint64> conversation_;
    std::optional<answers::CorpusCacheKey> key_; // of the answer in flight
    int current_ = -1;
    worker::RequestId request_ = 0; // of the answer in flight
    bool modelChanged_ = false;
    bool running_ = false;
};

} // namespace lectern::compare
