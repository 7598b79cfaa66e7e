#pragma once
// Asking, end to end: loads a model on the inference worker, builds the grounded prompt for the current
// session (app/answers), streams thinking, text and verified citations into the conversation pane, and
// keeps the status bar's context, speed and prefill figures current.

#include "app/answers/corpus.h"
#include "app/answers/prompt.h"
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

    AskController(ConversationView* conversation, StatusPanel* status, QObject* parent = nullptr);

    void setStore(store::Store* store, qint64 session);
    // A checkpoint folder or .gguf file; empty: the built-in default model.
    void loadModel(const QString& path = {});
    bool isModelLoaded() const { return model_.has_value(); }
    bool isAnswering() const { return answering_; }
    void ask(const QString& question);

signals:
    void modelLoaded(const QString& name);
    void modelFailed(const QString& message);
    void answerFinished();

private:
    void updateAskState();
    void fail(const QString& message);
    void show();

    ConversationView* conversation_;
    StatusPanel* status_;
    worker::InferenceWorker worker_;
    std::optional<worker::ModelSummary> model_;
    QString modelStatus_ = QStringLiteral("No model is loaded yet.");
    store::Store* store_ = nullptr;
    qint64 session_ = 0;
    std::shared_ptr<const answers::Corpus> corpus_;
    std::vector<answers::Turn> history_;
    bool answering_ = false;
    int answerIndex_ = -1;
    AnswerViewModel answer_;
};

} // namespace lectern::ui
