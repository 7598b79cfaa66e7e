#include "app/compare/comparison_run.h"

#include "app/answers/store_corpus.h"
#include "app/store/store.h"

namespace lectern::compare {

ComparisonRun::ComparisonRun(worker::InferenceWorker& worker, QObject* parent)
    : QObject(parent), worker_(worker) {}

void ComparisonRun::start(const QString& question, answers::ComparisonPlan plan,
                          const ComparisonTarget& target, std::int64_t max_answer_tokens) {
    if (running_) return;
    plan_ = std::move(plan);
    target_ = target;
    question_ = question;
    max_answer_tokens_ = max_answer_tokens;
    conversation_.reset();
    current_ = -1;
    request_ = 0;
    modelChanged_ = false;
    running_ = true;
    if (!target_.store) return finish(QStringLiteral("There is no session store to keep the answers in."));

    using Worker = worker::InferenceWorker;
    connections_ = {
        connect(&worker_, &Worker::thinkingText, this,
                [this](const QString& text, worker::RequestId request) {
                    if (request == request_) emit thinkingText(current_, text);
                }),
        connect(&worker_, &Worker::answerText, this,
                [this](const QString& text, worker::RequestId request) {
                    if (request == request_) emit answerText(current_, text);
                }),
        connect(&worker_, &Worker::citation, this,
                [this](const answers::VerifiedCitation& verified, worker::RequestId request) {
                    if (request == request_) emit citation(current_, verified);
                }),
        connect(&worker_, &Worker::answered, this, &ComparisonRun::onAnswered),
        connect(&worker_, &Worker::loaded, this, [this] { modelChanged_ = true; }),
        connect(&worker_, &Worker::cacheSaved, this,
                [this](const QString&, qint64, qint64 tokens, worker::RequestId request) {
                    if (request == request_ && target_.cache && key_)
                        (void)target_.cache->add(corpusOfSide(plan_.answers[std::size_t(current_)].label),
                                                 *key_, tokens);
                }),
        connect(&worker_, &Worker::cacheDiscarded, this,
                [this](const QString&, const QString&, worker::RequestId request) {
                    if (request == request_ && target_.cache && key_)
                        (void)target_.cache->remove(corpusOfSide(plan_.answers[std::size_t(current_)].label),
                                                    *key_);
                })};
    askNext();
}

void ComparisonRun::cancel() {
    if (running_ && request_ != 0) worker_.cancel(request_);
}

// "A+B", the prefix of both, is A's: its cache entry is registered under A (its key changes when B does).
qint64 ComparisonRun::corpusOfSide(const QString& label) const {
    return label == QStringLiteral("B") ? target_.corpus_b : target_.corpus_a;
}

void ComparisonRun::askNext() {
    ++current_;
    if (current_ >= int(plan_.answers.size())) return finish({});
    const answers::ComparisonAnswer& answer = plan_.answers[std::size_t(current_)];
    worker::AskRequest request;
    request.tokens = answer.rendered.tokens;
    request.prefix_tokens = answer.rendered.prefix_tokens;
    request.passages = answer.rendered.passages;
    request.thinking = answer.rendered.thinking;
    request.generate.max_tokens = max_answer_tokens_;
    request.corpus = answer.corpus;
    key_.reset();
    if (target_.cache) {
        key_ = answers::CorpusCacheKey::make(target_.model_path, answer.rendered.prefix_hash,
                                             answer.prompt_version);
        auto cached = target_.cache->find(corpusOfSide(answer.label), *key_);
        if (!cached) return finish(QString::fromStdString(cached.error()));
        request.snapshot_path = cached->value_or(target_.cache->pathFor(*key_));
    }
    emit answerStarted(current_);
    request_ = worker_.ask(std::move(request));
}

void ComparisonRun::onAnswered(const worker::AnswerOutcome& outcome, worker::RequestId request) {
    if (request != request_) return;
    const answers::ComparisonAnswer& answer = plan_.answers[std::size_t(current_)];
    QString error;
    if (!outcome.cancelled && outcome.error.isEmpty()) {
        store::MessageRecord record;
        record.question = question_;
        record.answer = outcome.answer;
        record.thinking = outcome.thinking;
        record.modelId = key_ ? key_->model_id : target_.model_path;
        record.prefillMs = outcome.prefill_seconds * 1000.0;
        record.decodeMs = outcome.decode_seconds * 1000.0;
        record.promptTokens = outcome.prompt_tokens;
        record.cachedTokens = outcome.cached_tokens;
        record.answerTokens = outcome.answer_tokens;
        if (plan_.mode == answers::CompareMode::Both) {
            record.corpus = target_.corpus_a;
            record.comparedCorpus = target_.corpus_b;
        } else {
            record.corpus = corpusOfSide(answer.label);
        }
        for (const answers::VerifiedCitation& verified : outcome.citations)
            record.citations.append(answers::citationRecord(
                *target_.store, corpusOfSide(answers::sideOf(answer, verified)), *answer.corpus, verified));
        for (const answers::LookedAtPassage& looked : outcome.looked_at)
            record.lookedAt.append(answers::lookedAtRecord(
                *target_.store, corpusOfSide(answers::sideOf(answer, looked.marker)), looked));
        // The conversation is made with the first answer kept: a comparison stopped before it leaves none.
        if (!conversation_) {
            auto created = target_.store->createConversation(
                target_.session, QStringLiteral("Compare: ") + question_.trimmed().left(70));
            if (created)
                conversation_ = *created;
            else
                error = QString::fromStdString(created.error());
        }
        if (conversation_) {
            if (auto saved = target_.store->saveMessage(*conversation_, record); !saved)
                error = QString::fromStdString(saved.error());
        }
    } else {
        error =
            outcome.cancelled ? QStringLiteral("Stopped before the answers were finished.") : outcome.error;
    }
    emit answerFinished(current_, outcome);
    if (error.isEmpty() && modelChanged_ && current_ + 1 < int(plan_.answers.size()))
        error =
            QStringLiteral("Another model was loaded during the comparison; ask again to compare with it.");
    if (!error.isEmpty()) return finish(error);
    askNext();
}

void ComparisonRun::finish(const QString& error) {
    for (const QMetaObject::Connection& connection : connections_) disconnect(connection);
    connections_.clear();
    running_ = false;
    emit finished(error);
}

} // namespace lectern::compare
