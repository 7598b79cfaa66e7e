#include "ui/compare/compare_view.h"

#include "app/answers/prompt_renderer.h"
#include "app/answers/store_corpus.h"
#include "app/store/store.h"
#include "inference/model/default_model.h"
#include "ui/conversation/answer_widget.h"
#include "ui/conversation/citation_chips.h"
#include "ui/viewer/document_viewer.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>

namespace lectern::ui {
namespace {

const QString kLabels[2] = {QStringLiteral("A"), QStringLiteral("B")};

bool sameLocation(const Location& a, const Location& b) {
    return a.documentPath == b.documentPath && a.page == b.page && a.rects == b.rects &&
           a.range.start == b.range.start && a.range.end == b.range.end;
}

} // namespace

CompareView::CompareView(worker::InferenceWorker& worker, QWidget* parent)
    : QWidget(parent), worker_(worker) {
    setObjectName(QStringLiteral("compareView"));
    setAccessibleName(QStringLiteral("Compare corpora"));
    setWindowTitle(QStringLiteral("Compare Corpora — Lectern"));
    auto* layout = new QVBoxLayout(this);

    auto* askRow = new QHBoxLayout;
    question_ = new QLineEdit(this);
    question_->setObjectName(QStringLiteral("compareQuestion"));
    question_->setAccessibleName(QStringLiteral("Question for both corpora"));
    question_->setPlaceholderText(QStringLiteral("Ask both corpora, e.g. “How did the rent change?”"));
    mode_ = new QComboBox(this);
    mode_->setObjectName(QStringLiteral("compareMode"));
    mode_->setAccessibleName(QStringLiteral("Comparison mode"));
    mode_->addItem(QStringLiteral("Each corpus on its own"), int(answers::CompareMode::Each));
    mode_->addItem(QStringLiteral("Both together: differences"), int(answers::CompareMode::Both));
    mode_->setToolTip(QStringLiteral(
        "Each: the question is answered from corpus A and from corpus B, one answer each.\n"
        "Both: one answer about their differences with both corpora in view, when they fit the "
        "model's context together (otherwise each, and the numbers are shown)."));
    ask_ = new QPushButton(QStringLiteral("Ask both"), this);
    ask_->setObjectName(QStringLiteral("compareAskButton"));
    ask_->setAccessibleName(QStringLiteral("Ask both corpora"));
    ask_->setToolTip(QStringLiteral("Ask the question of both corpora (Enter)"));
    stop_ = new QPushButton(QStringLiteral("Stop"), this);
    stop_->setObjectName(QStringLiteral("compareStopButton"));
    stop_->setAccessibleName(QStringLiteral("Stop the answers"));
    stop_->setToolTip(QStringLiteral("Stop the answer being written (Esc)"));
    redline_ = new QPushButton(QStringLiteral("Redline…"), this);
    redline_->setObjectName(QStringLiteral("compareRedlineButton"));
    redline_->setAccessibleName(QStringLiteral("Redline of the two documents shown"));
    redline_->setToolTip(QStringLiteral(
        "The word-level redline of the documents the two viewers show, or of two documents you pick"));
    askRow->addWidget(question_, 1);
    askRow->addWidget(mode_);
    askRow->addWidget(ask_);
    askRow->addWidget(stop_);
    askRow->addWidget(redline_);
    layout->addLayout(askRow);

    message_ = new QLabel(this);
    message_->setObjectName(QStringLiteral("compareMessage"));
    message_->setWordWrap(true);
    message_->setVisible(false);
    layout->addWidget(message_);

    // Answers side by side on top, the two corpora's viewers side by side below.
    auto* rows = new QSplitter(Qt::Vertical, this);
    auto* answers = new QSplitter(Qt::Horizontal, rows);
    auto* viewers = new QSplitter(Qt::Horizontal, rows);
    for (const Side side : {A, B}) {
        Column& column = columns_[side];
        auto* box = new QWidget(answers);
        auto* boxLayout = new QVBoxLayout(box);
        boxLayout->setContentsMargins(0, 0, 0, 0);
        column.heading = new QLabel(QStringLiteral("<b>Corpus %1</b>").arg(kLabels[side]), box);
        column.heading->setObjectName(QStringLiteral("compareHeading%1").arg(kLabels[side]));
        auto* scroll = new QScrollArea(box);
        scroll->setWidgetResizable(true);
        // The answer at the top of its column, however short: the two columns line up.
        auto* page = new QWidget(scroll);
        auto* pageLayout = new QVBoxLayout(page);
        column.answer = new AnswerWidget(page);
        column.answer->setObjectName(QStringLiteral("compareAnswer%1").arg(kLabels[side]));
        column.answer->setAccessibleName(QStringLiteral("Answer from corpus %1").arg(kLabels[side]));
        pageLayout->addWidget(column.answer);
        pageLayout->addStretch(1);
        scroll->setWidget(page);
        boxLayout->addWidget(column.heading);
        boxLayout->addWidget(scroll, 1);
        column.viewer = new DocumentViewer(viewers);
        column.viewer->setObjectName(QStringLiteral("compareViewer%1").arg(kLabels[side]));
        column.viewer->setAccessibleName(QStringLiteral("Viewer of corpus %1").arg(kLabels[side]));
        column.viewer->setDocumentSource(
            [this, side](const QString& path) { return documentFor(side, path); });
        connect(column.answer, &AnswerWidget::locationActivated, this,
                [this, side](const Location& location) { openLocation(side, location); });
    }
    for (QSplitter* pair : {answers, viewers}) {
        pair->setStretchFactor(0, 1);
        pair->setStretchFactor(1, 1);
    }
    rows->setStretchFactor(0, 2);
    rows->setStretchFactor(1, 3);
    layout->addWidget(rows, 1);

    connect(question_, &QLineEdit::returnPressed, ask_, &QPushButton::click);
    connect(ask_, &QPushButton::clicked, this,
            [this] { ask(question_->text(), answers::CompareMode(mode_->currentData().toInt())); });
    connect(stop_, &QPushButton::clicked, this, &CompareView::stop);
    auto* stopAction = new QAction(QStringLiteral("Stop"), this);
    stopAction->setShortcut(QKeySequence(Qt::Key_Escape));
    addAction(stopAction);
    connect(stopAction, &QAction::triggered, this, &CompareView::stop);
    connect(redline_, &QPushButton::clicked, this,
            [this] { emit redlineRequested(columns_[A].shownDocument, columns_[B].shownDocument); });

    connect(&worker_, &worker::InferenceWorker::loaded, this, [this] {
        if (!loading_) return;
        loading_ = false;
        ownLoad_ = 0;
        showMessage({});
        startPending();
        updateState(); // also when Stop came during the load
    });
    const auto noModel = [this](const QString& error) {
        if (!loading_) return;
        loading_ = false;
        ownLoad_ = 0;
        pending_.reset();
        showMessage(error);
        updateState();
    };
    connect(&worker_, &worker::InferenceWorker::loadFailed, this, noModel);
    connect(&worker_, &worker::InferenceWorker::loadCancelled, this,
            [noModel] { noModel(QStringLiteral("Loading the model was cancelled.")); });
    connect(&run_, &compare::ComparisonRun::answerStarted, this, [this](int index) {
        Column& column = columns_[std::size_t(columnOf(index))];
        column.model.markdown.clear();
        column.model.streaming = true;
        column.asked = true;
        display(columnOf(index));
    });
    connect(&run_, &compare::ComparisonRun::thinkingText, this, [this](int index, const QString& text) {
        columns_[std::size_t(columnOf(index))].model.thinking += text;
        display(columnOf(index));
    });
    connect(&run_, &compare::ComparisonRun::answerText, this, [this](int index, const QString& text) {
        columns_[std::size_t(columnOf(index))].model.markdown += text;
        display(columnOf(index));
    });
    connect(&run_, &compare::ComparisonRun::citation, this, &CompareView::addCitation);
    connect(&run_, &compare::ComparisonRun::answerFinished, this,
            [this](int index, const worker::AnswerOutcome& outcome) {
                Column& column = columns_[std::size_t(columnOf(index))];
                column.model.streaming = false;
                column.model.markdown = outcome.answer; // the final text, citations taken out
                if (!outcome.thinking.isEmpty()) column.model.thinking = outcome.thinking;
                column.model.citations.clear();
                column.chipSides.clear();
                for (const answers::VerifiedCitation& citation : outcome.citations)
                    addCitation(index, citation);
                showLookedAt(index, outcome.looked_at);
                if (outcome.cancelled)
                    column.model.error = QStringLiteral("Stopped before the answer was finished.");
                else if (!outcome.error.isEmpty())
                    column.model.error = outcome.error;
                display(columnOf(index));
            });
    connect(&run_, &compare::ComparisonRun::finished, this, [this](const QString& error) {
        const bool both = run_.plan().mode == answers::CompareMode::Both;
        for (const Side side : {A, B}) {
            Column& column = columns_[side];
            if (column.asked || (both && side == B)) continue;
            // The run stopped before this corpus's turn.
            column.model.markdown.clear();
            column.model.streaming = false;
            column.model.error = QStringLiteral("Not asked: %1").arg(error);
        }
        for (const int column : {0, 1}) display(column);
        if (!error.isEmpty()) showMessage(error);
        updateState();
        emit answersFinished(error);
    });
    updateState();
}

CompareView::~CompareView() {
    stop();
}

void CompareView::setStore(store::Store* store, qint64 session) {
    if (run_.isRunning()) stop();
    store_ = store;
    session_ = session;
    cache_.reset();
    if (store_ && !cacheSettings_.directory.isEmpty() && QDir().mkpath(cacheSettings_.directory))
        cache_ = std::make_unique<answers::CorpusCache>(*store_, cacheSettings_.directory,
                                                        cacheSettings_.limitBytes);
    for (Column& column : columns_) {
        column.viewer->closeDocument();
        column.shownDocument = 0;
        column.model = {};
        column.chipSides.clear();
        column.lookedAtSides.clear();
    }
    for (const int column : {0, 1}) display(column);
    updateState();
}

void CompareView::setCacheSettings(const CacheSettings& settings) {
    cacheSettings_ = settings;
    setStore(store_, session_);
}

void CompareView::setModelPath(const QString& path, const backend::Request& backend) {
    if (path == modelPath_ && backend == backend_) return;
    modelPath_ = path;
    backend_ = backend;
}

bool CompareView::isAnswering() const {
    return run_.isRunning() || loading_ || pending_.has_value();
}

void CompareView::stop() {
    pending_.reset();
    if (ownLoad_ != 0) {
        worker_.cancel(ownLoad_); // loadCancelled() then ends the wait
    } else if (loading_) {        // another's load: it goes on, this view stops waiting for it
        loading_ = false;
        showMessage({});
        updateState();
    }
    run_.cancel();
}

void CompareView::showMessage(const QString& text) {
    message_->setText(text);
    message_->setVisible(!text.isEmpty());
}

void CompareView::updateState() {
    const bool busy = isAnswering();
    ask_->setEnabled(!busy && store_ && session_ != 0);
    stop_->setEnabled(busy);
    question_->setReadOnly(busy);
}

bool CompareView::ask(const QString& question, answers::CompareMode mode) {
    if (question.trimmed().isEmpty() || isAnswering() || !store_ || session_ == 0) return false;
    question_->setText(question);
    pending_ = Pending{question.trimmed(), mode};
    if (worker_.isLoading()) { // the conversation pane's load (or Model ▸ Choose Model): wait for it
        loading_ = true;
        showMessage(QStringLiteral("Waiting for the model to load…"));
        updateState();
        return true;
    }
    if (!worker_.model()) {
        QString path = modelPath_;
        if (path.isEmpty()) {
            Result<std::string> found = model::default_model_path();
            if (!found) {
                pending_.reset();
                showMessage(QString::fromStdString(found.error()));
                return false;
            }
            path = QString::fromStdString(*found);
        }
        loading_ = true;
        showMessage(QStringLiteral("Loading the model…"));
        updateState();
        ownLoad_ = worker_.load(path, backend_);
        return true;
    }
    startPending();
    return true;
}

std::optional<qint64> CompareView::corpusId(Side side) const {
    auto corpora = store_->corpora(session_);
    if (!corpora) return std::nullopt;
    for (const store::CorpusInfo& corpus : *corpora)
        if (corpus.label == kLabels[side]) return corpus.id;
    return std::nullopt;
}

void CompareView::startPending() {
    if (!pending_) return;
    const Pending pending = *pending_;
    pending_.reset();
    const auto fail = [this](const QString& message) {
        showMessage(message);
        updateState();
        emit answersFinished(message);
    };
    if (!store_ || session_ == 0) return fail(QStringLiteral("Comparing needs a session with two corpora."));
    const std::optional<worker::ModelSummary>& model = worker_.model();
    if (!model) return fail(QStringLiteral("No model is loaded: choose one (Model ▸ Choose Model)."));
    if (!model->tokenizer) return fail(QStringLiteral("The model has no tokenizer to build a prompt with."));
    compare::ComparisonTarget target;
    target.store = store_;
    target.session = session_;
    target.model_path = model->path;
    target.cache = cache_.get();
    answers::ComparisonCorpora corpora;
    for (const Side side : {A, B}) {
        const std::optional<qint64> id = corpusId(side);
        if (!id)
            return fail(QStringLiteral("This session has no corpus %1 yet: import documents into it in the "
                                       "Documents pane (choose “Into %1”), then compare.")
                            .arg(kLabels[side]));
        (side == A ? target.corpus_a : target.corpus_b) = *id;
        auto loaded = answers::loadCorpus(*store_, session_, *id);
        if (!loaded) return fail(QString::fromStdString(loaded.error()));
        (side == A ? corpora.a : corpora.b) = std::make_shared<const answers::Corpus>(std::move(*loaded));
    }
    const answers::ChatFormat format = answers::chatFormatFor(model->family.toStdString());
    const answers::PromptRenderer renderer(*model->tokenizer, format, answers::thinksByDefault(format));
    auto plan = answers::planComparison(corpora, pending.question, pending.mode, renderer,
                                        model->context_tokens, maxAnswerTokens_);
    if (!plan) return fail(QString::fromStdString(plan.error()));

    showMessage(plan->fallback);
    const bool both = plan->mode == answers::CompareMode::Both;
    for (const Side side : {A, B}) {
        Column& column = columns_[side];
        column.model = {};
        column.chipSides.clear();
        column.lookedAtSides.clear();
        column.model.question = pending.question;
        column.model.streaming = side == A;
        column.asked = false;
        if (side == B)
            column.model.markdown =
                both ? QStringLiteral(
                           "*One answer compares both corpora: see the left column. Its citations of "
                           "corpus B open in the viewer below.*")
                     : QStringLiteral("*Asked once corpus A's answer is written.*");
    }
    columns_[A].heading->setText(both ? QStringLiteral("<b>Corpora A and B: differences</b>")
                                      : QStringLiteral("<b>Corpus A</b>"));
    columns_[B].heading->setText(QStringLiteral("<b>Corpus B</b>"));
    for (const int column : {0, 1}) display(column);
    run_.start(pending.question, std::move(*plan), target, maxAnswerTokens_);
    updateState();
}

int CompareView::columnOf(int index) const {
    return run_.plan().mode == answers::CompareMode::Both ? 0 : std::clamp(index, 0, 1);
}

void CompareView::display(int column) {
    columns_[std::size_t(column)].answer->setModel(columns_[std::size_t(column)].model);
}

void CompareView::addCitation(int index, const answers::VerifiedCitation& citation) {
    if (index < 0 || index >= int(run_.plan().answers.size())) return;
    const answers::ComparisonAnswer& answer = run_.plan().answers[std::size_t(index)];
    Column& column = columns_[std::size_t(columnOf(index))];
    CitationChip chip = chipFor(citation, *answer.corpus);
    const QString side = answers::sideOf(answer, citation);
    if (run_.plan().mode == answers::CompareMode::Both && !side.isEmpty())
        chip.documentTitle = QStringLiteral("Corpus %1 · %2").arg(side, chip.documentTitle);
    column.model.citations.append(chip);
    column.chipSides.append(side);
    display(columnOf(index));
}

void CompareView::showLookedAt(int index, const QList<answers::LookedAtPassage>& passages) {
    if (index < 0 || index >= int(run_.plan().answers.size())) return;
    const answers::ComparisonAnswer& answer = run_.plan().answers[std::size_t(index)];
    Column& column = columns_[std::size_t(columnOf(index))];
    column.model.lookedAt.clear();
    column.lookedAtSides.clear();
    const bool both = run_.plan().mode == answers::CompareMode::Both;
    for (const answers::LookedAtPassage& passage : passages) {
        std::optional<LookedAtPassage> item = lookedAtFor(passage, *answer.corpus);
        if (!item) continue;
        const QString label = answers::sideOf(answer, passage.marker);
        if (both) item->documentTitle = QStringLiteral("Corpus %1 · %2").arg(label, item->documentTitle);
        column.model.lookedAt.append(*item);
        column.lookedAtSides.append(label);
    }
    display(columnOf(index));
}

void CompareView::openLocation(int column, const Location& location) {
    // A chip or a looked-at passage opens in the viewer of its corpus; anything else in its own column's.
    Side side = Side(column);
    const Column& from = columns_[std::size_t(column)];
    const auto sideOf = [&](const auto& items, const QStringList& sides) {
        for (qsizetype i = 0; i < items.size(); ++i)
            if (sameLocation(items[i].location, location)) {
                if (sides.value(i) == kLabels[B]) side = B;
                if (sides.value(i) == kLabels[A]) side = A;
                return true;
            }
        return false;
    };
    if (!sideOf(from.model.citations, from.chipSides)) sideOf(from.model.lookedAt, from.lookedAtSides);
    columns_[side].viewer->showLocation(location).ok(); // a failure is shown in the viewer itself
}

std::optional<Result<importers::Document>> CompareView::documentFor(Side side, const QString& path) {
    if (!store_) return std::nullopt;
    const std::optional<qint64> corpus = corpusId(side);
    if (!corpus) return std::nullopt;
    auto documents = store_->documents({session_, corpus});
    if (!documents) return Result<importers::Document>(Error{documents.error()});
    for (const store::DocumentInfo& document : *documents)
        if (document.path == path && document.state == store::ImportState::Imported) {
            columns_[side].shownDocument = document.id;
            return store_->loadDocument(document.id);
        }
    return std::nullopt;
}

} // namespace lectern::ui
