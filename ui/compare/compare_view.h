#pragma once
// File ▸ Compare Corpora: two corpora of the session side by side. One question box; the question is
// answered against corpus A and corpus B ("each corpus on its own"), or once with both in view about
// their differences ("both together", when they fit the model's context; otherwise each, with the
// numbers said). The two answer columns stream side by side above two viewers, one per corpus: a
// citation chip opens its document in the viewer of the corpus it cites. "Redline…" opens the
// word-level redline of the two documents the viewers show (File ▸ Compare Two Documents).
//
// It shares the main window's inference worker with the conversation pane: it uses the model loaded
// there (or being loaded), loads the chosen one itself only when none is, and follows only its own
// requests' signals.

#include "app/answers/comparison.h"
#include "app/answers/corpus_cache.h"
#include "app/compare/comparison_run.h"
#include "app/profile/cache_settings.h"
#include "app/worker/inference_worker.h"
#include "ui/conversation/answer_view_model.h"

#include <QWidget>

#include <array>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace lectern::store {
class Store;
}

namespace lectern::ui {

class AnswerWidget;
class DocumentViewer;

class CompareView : public QWidget {
    Q_OBJECT
public:
    static constexpr std::int64_t kDefaultMaxAnswerTokens = 512;
    enum Side { A = 0, B = 1 };

    explicit CompareView(worker::InferenceWorker& worker, QWidget* parent = nullptr);
    ~CompareView() override;

    void setStore(store::Store* store, qint64 session);
    // Where corpus snapshots are kept and how large the cache may grow (Edit ▸ Settings); an empty
    // directory keeps the last corpus prefix in memory only.
    void setCacheSettings(const CacheSettings& settings);
    // A checkpoint folder or .gguf file; empty: the built-in default, where `backend` says (Model ▸ Choose
    // Model's backend choice): loaded by the next question when the worker holds no model.
    void setModelPath(const QString& path, const backend::Request& backend = {});
    // The most tokens each answer may take (and the room kept for it in the context).
    void setMaxAnswerTokens(std::int64_t tokens) { maxAnswerTokens_ = tokens; }

    // Asks `question` of both corpora (after loading the model if needed); false when it cannot start.
    bool ask(const QString& question, answers::CompareMode mode);
    bool isAnswering() const;
    void stop();

    // A citation of answer `index` of the current comparison, as the worker streams them: shown as a
    // chip in its column; a click opens the cited corpus's viewer.
    void addCitation(int index, const answers::VerifiedCitation& citation);
    // The passages answer `index` looked at most (DeepSeek-V4; app/answers/looked_at.h), listed in its
    // column as in the conversation pane; in "both" mode each names its corpus and opens in its viewer.
    void showLookedAt(int index, const QList<answers::LookedAtPassage>& passages);

    QLineEdit* questionField() const { return question_; }
    QComboBox* modeBox() const { return mode_; }
    QPushButton* askButton() const { return ask_; }
    QPushButton* redlineButton() const { return redline_; }
    QLabel* messageLabel() const { return message_; }
    AnswerWidget* answerWidget(Side column) const { return columns_[column].answer; }
    QLabel* heading(Side column) const { return columns_[column].heading; }
    DocumentViewer* viewer(Side side) const { return columns_[side].viewer; }
    const AnswerViewModel& answerModel(Side column) const { return columns_[column].model; }

signals:
    void answersFinished(const QString& error);
    // The store ids of the documents the two viewers show (0 where none).
    void redlineRequested(qint64 left, qint64 right);

private:
    struct Column {
        QLabel* heading = nullptr;
        AnswerWidget* answer = nullptr;
        DocumentViewer* viewer = nullptr;
        AnswerViewModel model;
        QStringList chipSides;     // the corpus each chip of `model` cites: "A", "B" or empty
        QStringList lookedAtSides; // the same for each of `model.lookedAt`
        qint64 shownDocument = 0;
        bool asked = false; // its answer of the current comparison has started
    };

    void startPending();
    void showMessage(const QString& text);
    void updateState();
    int columnOf(int index) const;
    void display(int column); // its answer model into its answer widget
    std::optional<qint64> corpusId(Side side) const;
    std::optional<Result<importers::Document>> documentFor(Side side, const QString& path);
    void openLocation(int column, const Location& location);

    worker::InferenceWorker& worker_;
    compare::ComparisonRun run_{worker_};
    QString modelPath_;
    backend::Request backend_;
    std::int64_t maxAnswerTokens_ = kDefaultMaxAnswerTokens;
    bool loading_ = false;          // waiting for the worker's model (its own load or another's)
    worker::RequestId ownLoad_ = 0; // the load it started, if any
    struct Pending {
        QString question;
        answers::CompareMode mode;
    };
    std::optional<Pending> pending_;
    store::Store* store_ = nullptr;
    qint64 session_ = 0;
    CacheSettings cacheSettings_;
    std::unique_ptr<answers::CorpusCache> cache_;

    QLineEdit* question_ = nullptr;
    QComboBox* mode_ = nullptr;
    QPushButton* ask_ = nullptr;
    QPushButton* stop_ = nullptr;
    QPushButton* redline_ = nullptr;
    QLabel* message_ = nullptr;
    std::array<Column, 2> columns_;
};

} // namespace lectern::ui
