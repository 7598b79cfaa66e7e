#include "ui/conversation/ask_controller.h"

#include "app/answers/prompt_renderer.h"
#include "app/answers/store_corpus.h"
#include "app/store/store.h"
#include "inference/model/default_model.h"
#include "ui/conversation/citation_chips.h"
#include "ui/conversation/conversation_view.h"
#include "ui/status/status_panel.h"

namespace lectern::ui {

AskController::AskController(ConversationView* conversation, StatusPanel* status, QObject* parent)
    : QObject(parent), conversation_(conversation), status_(status) {
    connect(conversation_, &ConversationView::askRequested, this, &AskController::ask);
    connect(conversation_, &ConversationView::stopRequested, &worker_, &worker::InferenceWorker::cancel);
    connect(&worker_, &worker::InferenceWorker::loadProgress, this,
            [this](double fraction, const QString& what) {
                modelStatus_ =
                    QStringLiteral("Loading the model: %1 (%2%)").arg(what).arg(qRound(fraction * 100));
                updateAskState();
            });
    connect(&worker_, &worker::InferenceWorker::loaded, this, [this](const worker::ModelSummary& model) {
        model_ = model;
        status_->setBackend(model.name, model.family);
        status_->setContext(0, model.context_tokens);
        updateAskState();
        emit modelLoaded(model.name);
    });
    connect(&worker_, &worker::InferenceWorker::loadFailed, this, [this](const QString& message) {
        model_.reset();
        modelStatus_ = message;
        updateAskState();
        emit modelFailed(message);
    });
    connect(&worker_, &worker::InferenceWorker::prefillProgress, this,
            [this](qint64 done, qint64 total, double tokensPerSecond, double eta) {
                status_->setPrefill(total > 0 ? double(done) / double(total) : 0, eta, tokensPerSecond);
            });
    connect(&worker_, &worker::InferenceWorker::thinkingText, this, [this](const QString& text) {
        answer_.thinking += text;
        show();
    });
    connect(&worker_, &worker::InferenceWorker::answerText, this, [this](const QString& text) {
        status_->clearPrefill();
        answer_.markdown += text;
        show();
    });
    connect(&worker_, &worker::InferenceWorker::citation, this,
            [this](const answers::VerifiedCitation& citation) {
                if (corpus_) answer_.citations.append(chipFor(citation, *corpus_));
                show();
            });
    connect(&worker_, &worker::InferenceWorker::lookedAt, this,
            [this](const QList<answers::LookedAtPassage>& passages) {
                answer_.lookedAt.clear();
                for (const answers::LookedAtPassage& passage : passages)
                    if (corpus_)
                        if (auto item = lookedAtFor(passage, *corpus_)) answer_.lookedAt.append(*item);
                show();
            });
    connect(&worker_, &worker::InferenceWorker::answered, this, [this](const worker::AnswerOutcome& outcome) {
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
        else
            history_.push_back({answer_.question, outcome.answer});
        status_->setTokensPerSecond(
            outcome.decode_seconds > 0 ? double(outcome.answer_tokens) / outcome.decode_seconds : -1);
        if (model_)
            status_->setContext(outcome.prompt_tokens + outcome.answer_tokens, model_->context_tokens);
        show();
        updateAskState();
        emit answerFinished();
    });
    updateAskState();
}

void AskController::setStore(store::Store* store, qint64 session) {
    store_ = store;
    if (session != session_) history_.clear();
    session_ = session;
    updateAskState();
}

void AskController::loadModel(const QString& path) {
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
    modelStatus_ = QStringLiteral("Loading the model…");
    updateAskState();
    worker_.load(modelPath);
}

void AskController::updateAskState() {
    conversation_->setAnswering(answering_);
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
    const answers::BudgetSettings budget{model_->context_tokens, kMaxAnswerTokens,
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
    request.generate.max_tokens = kMaxAnswerTokens;
    request.corpus = corpus_;
    worker_.ask(std::move(request));
}

} // namespace lectern::ui
