#include "ui/conversation/ask_controller.h"

#include "app/answers/prompt_renderer.h"
#include "app/answers/store_corpus.h"
#include "app/store/store.h"
#include "inference/model/default_model.h"
#include "ui/conversation/citation_chips.h"
#include "ui/conversation/conversation_view.h"
#include "ui/conversation/saved_answers.h"
#include "ui/status/status_panel.h"

#include <QDir>

#include <algorithm>

namespace lectern::ui {
namespace {

// Two-corpus comparisons are kept in the same session but belong to the compare view: their conversation
// is titled "Compare: …" (app/compare/comparison_run.cpp), and their answers hold both corpora or come
// from corpus B. Chat answers come from corpus A alone.
bool isComparison(const store::ConversationInfo& conversation, const QList<store::MessageRecord>& messages,
                  std::optional<qint64> corpusA) {
    if (conversation.title.startsWith(QLatin1String("Compare: "))) return true;
    return std::any_of(messages.begin(), messages.end(), [&](const store::MessageRecord& message) {
        return message.comparedCorpus || (message.corpus && corpusA && *message.corpus != *corpusA);
    });
}

} // namespace

AskController::AskController(worker::InferenceWorker& worker, ConversationView* conversation,
                             StatusPanel* status, QObject* parent)
    : QObject(parent), conversation_(conversation), status_(status), worker_(worker) {
    connect(conversation_, &ConversationView::askRequested, this, &AskController::ask);
    connect(conversation_, &ConversationView::stopRequested, this, &AskController::stop);
    connect(&worker_, &worker::InferenceWorker::loadProgress, this,
            [this](double fraction, const QString& what) {
                modelStatus_ =
                    QStringLiteral("Loading the model: %1 (%2%)").arg(what).arg(qRound(fraction * 100));
                updateAskState();
            });
    connect(&worker_, &worker::InferenceWorker::loaded, this, [this](const worker::ModelSummary& model) {
        loading_ = false;
        model_ = model;
        showBackend();
        status_->setKvCacheBytes(model.state_bytes);
        status_->setContext(0, model.context_tokens);
        updateAskState();
        emit modelLoaded(model.name);
    });
    connect(&worker_, &worker::InferenceWorker::loadFailed, this, [this](const QString& message) {
        loading_ = false;
        model_.reset();
        modelStatus_ = message;
        updateAskState();
        emit modelFailed(message);
    });
    connect(&worker_, &worker::InferenceWorker::loadCancelled, this, [this] {
        loading_ = false;
        model_.reset();
        modelStatus_ = QStringLiteral("Loading the model was cancelled; choose one to load (Ctrl+M).");
        status_->setBackend({}, {});
        status_->setKvCacheBytes(-1);
        updateAskState();
        emit modelFailed(modelStatus_);
    });
    // The status bar shows the memory and speed of whatever the shared worker runs; the answer's own
    // signals are this controller's requests only.
    connect(&worker_, &worker::InferenceWorker::stateBytes, status_, &StatusPanel::setKvCacheBytes);
    connect(&worker_, &worker::InferenceWorker::fallbacksChanged, this, [this](const QStringList& fallbacks) {
        if (!model_) return;
        model_->fallbacks = fallbacks;
        showBackend();
    });
    connect(&worker_, &worker::InferenceWorker::decodeProgress, this,
            [this](qint64, double tokensPerSecond) { status_->setTokensPerSecond(tokensPerSecond); });
    connect(&worker_, &worker::InferenceWorker::cacheSaved, this,
            [this](const QString&, qint64, qint64 tokens, worker::RequestId request) {
                if (request == request_ && cache_ && cacheKey_ && corpusId_ != 0)
                    (void)cache_->add(corpusId_, *cacheKey_, tokens);
            });
    connect(&worker_, &worker::InferenceWorker::cacheDiscarded, this,
            [this](const QString&, const QString&, worker::RequestId request) {
                if (request == request_ && cache_ && cacheKey_ && corpusId_ != 0)
                    (void)cache_->remove(corpusId_, *cacheKey_);
            });
    connect(&worker_, &worker::InferenceWorker::prefillProgress, this,
            [this](qint64 done, qint64 total, double tokensPerSecond, double eta) {
                status_->setPrefill(total > 0 ? double(done) / double(total) : 0, eta, tokensPerSecond);
            });
    connect(&worker_, &worker::InferenceWorker::thinkingText, this,
            [this](const QString& text, worker::RequestId request) {
                if (request != request_) return;
                answer_.thinking += text;
                show();
            });
    connect(&worker_, &worker::InferenceWorker::answerText, this,
            [this](const QString& text, worker::RequestId request) {
                if (request != request_) return;
                status_->clearPrefill();
                answer_.markdown += text;
                show();
            });
    connect(&worker_, &worker::InferenceWorker::citation, this,
            [this](const answers::VerifiedCitation& citation, worker::RequestId request) {
                if (request != request_) return;
                if (corpus_) answer_.citations.append(chipFor(citation, *corpus_));
                show();
            });
    connect(&worker_, &worker::InferenceWorker::lookedAt, this,
            [this](const QList<answers::LookedAtPassage>& passages, worker::RequestId request) {
                if (request != request_ || !corpus_) return;
                answer_.lookedAt.clear();
                for (const answers::LookedAtPassage& passage : passages)
                    if (auto item = lookedAtFor(passage, *corpus_)) answer_.lookedAt.append(*item);
                show();
            });
    connect(&worker_, &worker::InferenceWorker::answered, this,
            [this](const worker::AnswerOutcome& outcome, worker::RequestId request) {
                if (request != request_ || !answering_) return;
                answering_ = false;
                status_->clearPrefill();
                answer_.streaming = false;
                answer_.markdown = outcome.answer; // the worker's final text, citations taken out
                if (!outcome.thinking.isEmpty()) answer_.thinking = outcome.thinking;
                if (corpus_) {
                    answer_.citations.clear();
                    for (const answers::VerifiedCitation& citation : outcome.citations)
                        answer_.citations.append(chipFor(citation, *corpus_));
                }
                if (outcome.cancelled)
                    answer_.error = QStringLiteral("Stopped before the answer was finished.");
                else if (!outcome.error.isEmpty())
                    answer_.error = outcome.error;
                else {
                    history_.push_back({answer_.question, outcome.answer});
                    saveAnswer(outcome);
                }
                status_->setTokensPerSecond(
                    outcome.decode_seconds > 0 ? double(outcome.answer_tokens) / outcome.decode_seconds : -1);
                if (model_)
                    status_->setContext(outcome.prompt_tokens + outcome.answer_tokens,
                                        model_->context_tokens);
                show();
                updateAskState();
                emit answerFinished();
            });
    updateAskState();
}

void AskController::showBackend() {
    const worker::ModelSummary& model = *model_;
    QStringList placement;
    if (model.device_layers > 0 && model.device_layers < model.layers)
        placement << QStringLiteral("%1 of %2 layers on the GPU").arg(model.device_layers).arg(model.layers);
    if (model.experts_on_host) placement << QStringLiteral("MoE experts on the CPU");
    status_->setBackend(model.backend, model.device, model.fallbacks, placement.join(QStringLiteral(", ")));
}

void AskController::setStore(store::Store* store, qint64 session) {
    const bool reopened = store != store_ || session != session_;
    store_ = store;
    session_ = session;
    makeCache();
    if (reopened && !answering_) restoreSession();
    updateAskState();
}

void AskController::setCacheSettings(const CacheSettings& settings) {
    cacheSettings_ = settings;
    makeCache();
    if (cache_) cache_->evict();
}

void AskController::makeCache() {
    cache_.reset();
    if (!store_ || cacheSettings_.directory.isEmpty()) return;
    QDir().mkpath(cacheSettings_.directory);
    cache_ =
        std::make_unique<answers::CorpusCache>(*store_, cacheSettings_.directory, cacheSettings_.limitBytes);
}

void AskController::restoreSession() {
    conversation_->clear();
    history_.clear();
    storedConversation_ = 0;
    answerIndex_ = -1;
    corpus_.reset();
    if (!store_ || session_ == 0) return;
    auto conversations = store_->conversations(session_);
    if (!conversations || conversations->isEmpty()) return;
    auto loaded = answers::loadCorpus(*store_, session_);
    if (!loaded) return;
    const answers::Corpus corpus(std::move(*loaded));
    std::optional<qint64> corpusA;
    if (auto corpora = store_->corpora(session_))
        for (const store::CorpusInfo& info : *corpora)
            if (info.label == QLatin1String("A")) corpusA = info.id;
    for (const store::ConversationInfo& info : *conversations) {
        auto messages = store_->messages(info.id);
        if (!messages || isComparison(info, *messages, corpusA)) continue;
        for (const store::MessageRecord& message : *messages)
            conversation_->addAnswer(savedAnswerView(message, corpus));
        // New answers continue the latest ordinary conversation, with its turns as the chat history.
        storedConversation_ = info.id;
        history_.clear();
        for (const store::MessageRecord& message : *messages)
            history_.push_back({message.question, message.answer});
    }
}

void AskController::saveAnswer(const worker::AnswerOutcome& outcome) {
    if (!store_ || !corpus_ || corpusId_ == 0) return;
    if (storedConversation_ == 0) {
        auto created = store_->createConversation(session_, answer_.question.left(80));
        if (!created) {
            answer_.error = QStringLiteral("The answer could not be saved: %1")
                                .arg(QString::fromStdString(created.error()));
            return;
        }
        storedConversation_ = *created;
    }
    auto saved = ui::saveAnswer(*store_, storedConversation_, corpusId_, *corpus_, answer_.question,
                                cacheKey_ ? cacheKey_->model_id : model_->path, outcome);
    if (!saved)
        answer_.error =
            QStringLiteral("The answer could not be saved: %1").arg(QString::fromStdString(saved.error()));
}

void AskController::loadModel(const QString& path, const backend::Request& backend) {
    QString modelPath = path;
    if (modelPath.isEmpty()) {
        Result<std::string> found = model::default_model_path();
        if (!found) {
            modelStatus_ = QString::fromStdString(found.error());
            updateAskState();
            emit modelFailed(modelStatus_);
            return;
        }
        modelPath = QString::fromStdString(*found);
    }
    loading_ = true;
    modelStatus_ = QStringLiteral("Loading the model…");
    updateAskState();
    request_ = worker_.load(modelPath, backend);
}

void AskController::stop() {
    if (loading_ || answering_) worker_.cancel(request_);
}

void AskController::updateAskState() {
    conversation_->setAnswering(answering_);
    conversation_->setLoading(loading_);
    if (!model_)
        conversation_->setAskEnabled(false, modelStatus_);
    else if (!store_ || session_ == 0)
        conversation_->setAskEnabled(false, QStringLiteral("Asking needs a session with documents."));
    else if (answering_)
        conversation_->setAskEnabled(false, QStringLiteral("An answer is being written."));
    else
        conversation_->setAskEnabled(true);
}

void AskController::show() {
    if (answerIndex_ >= 0) conversation_->setAnswer(answerIndex_, answer_);
}

void AskController::fail(const QString& message) {
    answer_.streaming = false;
    answer_.error = message;
    show();
    answering_ = false;
    updateAskState();
    emit answerFinished();
}

void AskController::ask(const QString& question) {
    if (!model_ || !store_ || answering_) return;
    answering_ = true;
    answer_ = {};
    answer_.question = question;
    answer_.streaming = true;
    answerIndex_ = conversation_->addAnswer(answer_);
    status_->setTokensPerSecond(-1); // the last answer's speed; this one's comes when it is written
    updateAskState();

    auto corpusId = store_->corpus(session_, QStringLiteral("A"));
    if (!corpusId) return fail(QString::fromStdString(corpusId.error()));
    corpusId_ = *corpusId;
    auto loaded = answers::loadCorpus(*store_, session_, *corpusId);
    if (!loaded) return fail(QString::fromStdString(loaded.error()));
    corpus_ = std::make_shared<const answers::Corpus>(std::move(*loaded));
    if (corpus_->passageCount() == 0)
        return fail(
            QStringLiteral("This session has no imported documents to answer from; import some first."));
    if (!model_->tokenizer) return fail(QStringLiteral("The model has no tokenizer to build a prompt with."));

    auto templates = answers::PromptTemplates::load();
    if (!templates) return fail(QString::fromStdString(templates.error()));
    const answers::ChatFormat format = answers::chatFormatFor(model_->family.toStdString());
    const answers::PromptRenderer renderer(*model_->tokenizer, format, answers::thinksByDefault(format));
    const answers::PromptBuilder builder(*corpus_, *templates, renderer.counter());
    const answers::BudgetSettings budget{model_->context_tokens, maxAnswerTokens_,
                                         renderer.templateTokens(history_.size())};
    auto assembled = builder.assemble(question, history_, budget);
    if (std::holds_alternative<answers::OverBudget>(assembled)) {
        // Too much for the context: the most relevant passages, labelled as such in the answer.
        const answers::StoreRanker ranker(*store_, session_, *corpusId);
        auto picked = builder.pickRelevant(question, history_, budget, ranker);
        if (!picked) return fail(QString::fromStdString(picked.error()));
        assembled = builder.assemble(question, history_, budget, *picked);
        if (const auto* over = std::get_if<answers::OverBudget>(&assembled)) return fail(over->message());
    }
    const answers::AssembledPrompt& prompt = std::get<answers::AssembledPrompt>(assembled);
    const answers::RenderedPrompt rendered = renderer.render(prompt);
    status_->setContext(qint64(rendered.tokens.size()), model_->context_tokens);

    worker::AskRequest request;
    request.tokens = rendered.tokens;
    request.prefix_tokens = rendered.prefix_tokens;
    request.passages = rendered.passages;
    request.thinking = rendered.thinking;
    request.generate.max_tokens = maxAnswerTokens_;
    request.corpus = corpus_;
    cacheKey_ = answers::CorpusCacheKey::make(model_->path, rendered.prefix_hash, templates->version);
    if (cache_) {
        auto cached = cache_->find(corpusId_, *cacheKey_);
        if (!cached) return fail(QString::fromStdString(cached.error()));
        request.snapshot_path = cached->value_or(cache_->pathFor(*cacheKey_));
    }
    request_ = worker_.ask(std::move(request));
}

} // namespace lectern::ui
