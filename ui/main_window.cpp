#include "ui/main_window.h"

#include "app/store/open_profile.h"
#include "app/store/store.h"
#include "inference/model/default_model.h"
#include "ui/compare/compare_documents_dialog.h"
#include "ui/compare/compare_view.h"
#include "ui/conversation/answer_export.h"
#include "ui/conversation/ask_controller.h"
#include "ui/conversation/conversation_view.h"
#include "ui/corpus/corpus_panel.h"
#include "ui/model/backend_choice.h"
#include "ui/model/model_manager_dialog.h"
#include "ui/search/search_panel.h"
#include "ui/settings/settings_dialog.h"
#include "ui/status/status_panel.h"
#include "ui/viewer/document_viewer.h"

#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include <lectern/version.h>

namespace lectern::ui {
namespace {

QWidget* titled(const QString& title, QWidget* body, QWidget* parent) {
    auto* pane = new QWidget(parent);
    auto* layout = new QVBoxLayout(pane);
    layout->setContentsMargins(6, 6, 6, 6);
    auto* heading = new QLabel(QStringLiteral("<b>%1</b>").arg(title), pane);
    layout->addWidget(heading);
    layout->addWidget(body, 1);
    return pane;
}

} // namespace

MainWindow::MainWindow(Profile profile, QWidget* parent) : QMainWindow(parent), profile_(std::move(profile)) {
    setWindowTitle(QStringLiteral("Lectern"));
    setObjectName(QStringLiteral("mainWindow"));
    splitter_ = new QSplitter(Qt::Horizontal, this);
    splitter_->setObjectName(QStringLiteral("mainSplitter"));
    splitter_->setChildrenCollapsible(false);
    corpusPane_ = buildCorpusPane();
    viewerPane_ = buildViewerPane();
    conversationPane_ = buildConversationPane();
    splitter_->addWidget(corpusPane_);
    splitter_->addWidget(viewerPane_);
    splitter_->addWidget(conversationPane_);
    splitter_->setStretchFactor(0, 1);
    splitter_->setStretchFactor(1, 3);
    splitter_->setStretchFactor(2, 2);
    splitter_->setSizes({280, 700, 420});
    setCentralWidget(splitter_);

    buildMenus();
    statusPanel_ = new StatusPanel(this);
    statusBar()->addPermanentWidget(statusPanel_);
    worker_ = std::make_unique<worker::InferenceWorker>();
    ask_ = new AskController(*worker_, conversation_, statusPanel_, this);
    compareView_ = new CompareView(*worker_, this);
    compareView_->setWindowFlag(Qt::Window);
    compareView_->resize(1300, 900);
    compareView_->setCacheSettings(CacheSettings::load(profile_));
    connect(compareView_, &CompareView::redlineRequested, this, [this](qint64 left, qint64 right) {
        CompareDocumentsDialog* dialog = showCompareDocuments();
        if (left != 0 && right != 0) dialog->compareDocuments(left, right);
    });
    ask_->setCacheSettings(CacheSettings::load(profile_));
    connect(ask_, &AskController::modelFailed, this,
            [this](const QString& message) { statusBar()->showMessage(message); });
    statusBar()->showMessage(QStringLiteral("Profile: %1").arg(profile_.directory()));
    openStore();
    restoreLayout();
}

MainWindow::~MainWindow() {
    // The import thread writes to the store: it must end before the store closes.
    corpus_->cancelImport();
    corpus_->waitForImport();
    delete compareView_; // before the worker they hold
    delete ask_;
}

QWidget* MainWindow::buildCorpusPane() {
    auto* tabs = new QTabWidget(this);
    tabs->setObjectName(QStringLiteral("corpusTabs"));
    tabs->setDocumentMode(true);
    corpus_ = new CorpusPanel(tabs);
    search_ = new SearchPanel(tabs);
    tabs->addTab(corpus_, QStringLiteral("&Documents"));
    tabs->addTab(search_, QStringLiteral("&Search"));
    connect(corpus_, &CorpusPanel::documentActivated, this, [this](const QString& path) {
        viewer_->showLocation({path, 1, {}, {}}).ok(); // a failure is shown in the viewer itself
    });
    connect(corpus_, &CorpusPanel::sessionChanged, this, [this](qint64 session) {
        search_->setStore(store_.get(), session);
        ask_->setStore(store_.get(), session);
        viewer_->closeDocument();
        if (compareDialog_) compareDialog_->setSession(session);
        compareView_->setStore(store_.get(), session);
    });
    connect(search_, &SearchPanel::locationActivated, this,
            [this](const Location& location) { viewer_->showLocation(location).ok(); });
    auto* findAll = new QAction(QStringLiteral("Search all documents"), this);
    findAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
    addAction(findAll);
    connect(findAll, &QAction::triggered, this, [this, tabs] {
        tabs->setCurrentWidget(search_);
        search_->queryField()->setFocus(Qt::ShortcutFocusReason);
        search_->queryField()->selectAll();
    });
    corpusTabs_ = tabs;
    auto* pane = titled(QStringLiteral("Corpus"), tabs, this);
    pane->setObjectName(QStringLiteral("corpusPane"));
    pane->setAccessibleName(QStringLiteral("Corpus"));
    return pane;
}

void MainWindow::loadModel(const QString& path) {
    const backend::Request backend = BackendChoice::load(profile_).request();
    ask_->loadModel(path, backend);
    compareView_->setModelPath(path, backend);
}

void MainWindow::searchAll(const QString& text) {
    corpusTabs_->setCurrentWidget(search_);
    search_->queryField()->setText(text);
    search_->search(text);
}

CompareDocumentsDialog* MainWindow::showCompareDocuments() {
    if (!compareDialog_)
        compareDialog_ = new CompareDocumentsDialog(store_.get(), corpus_->session(), this);
    else
        compareDialog_->setSession(corpus_->session()); // documents may have been imported since
    compareDialog_->show();
    compareDialog_->raise();
    compareDialog_->activateWindow();
    return compareDialog_;
}

SettingsDialog* MainWindow::showSettings() {
    auto* dialog = new SettingsDialog(ask_->cacheSettings(), store_.get(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const CacheSettings chosen = dialog->settings();
        chosen.save(profile_);
        ask_->setCacheSettings(chosen);
        compareView_->setCacheSettings(chosen);
    });
    dialog->open();
    return dialog;
}

CompareView* MainWindow::showCompareCorpora() {
    compareView_->show();
    compareView_->raise();
    compareView_->activateWindow();
    return compareView_;
}

QString MainWindow::sessionName() const {
    if (store_) {
        auto sessions = store_->sessions();
        if (sessions)
            for (const store::SessionInfo& session : *sessions)
                if (session.id == corpus_->session()) return session.name;
    }
    return QStringLiteral("Lectern conversation");
}

Result<void> MainWindow::exportLastAnswer(const QString& path) {
    const QList<AnswerViewModel> answers = conversation_->answerModels();
    if (answers.isEmpty()) return Error{"There is no answer to export yet: ask a question first."};
    return exportAnswers(path, sessionName(), {answers.back()});
}

Result<void> MainWindow::exportConversation(const QString& path) {
    const QList<AnswerViewModel> answers = conversation_->answerModels();
    if (answers.isEmpty()) return Error{"There is no answer to export yet: ask a question first."};
    return exportAnswers(path, sessionName(), answers);
}

void MainWindow::exportByDialog(bool wholeConversation) {
    const QString markdown = QStringLiteral("Markdown (*.md)");
    const QString pdf = QStringLiteral("PDF (*.pdf)");
    QString filter = markdown;
    QString path = QFileDialog::getSaveFileName(this,
                                                wholeConversation ? QStringLiteral("Export the conversation")
                                                                  : QStringLiteral("Export the answer"),
                                                {}, markdown + QStringLiteral(";;") + pdf, &filter);
    if (path.isEmpty()) return;
    const QString suffix = filter == pdf ? QStringLiteral(".pdf") : QStringLiteral(".md");
    if (QFileInfo(path).suffix().isEmpty()) path += suffix;
    const auto written = wholeConversation ? exportConversation(path) : exportLastAnswer(path);
    if (!written) {
        QMessageBox::warning(this, QStringLiteral("Export failed"), QString::fromStdString(written.error()));
        return;
    }
    statusBar()->showMessage(QStringLiteral("Exported to %1").arg(path));
}

void MainWindow::openStore() {
    auto opened = store::openProfileStore(profile_.directory());
    if (!opened) {
        statusBar()->showMessage(QString::fromStdString(opened.error()));
        corpus_->setEnabled(false);
        return;
    }
    store_ = std::move(*opened);
    // Citations and hits name documents by path: the store has what the importer made of them.
    viewer_->setDocumentSource([this](const QString& path) -> std::optional<Result<importers::Document>> {
        auto info = store_->documentByPath(corpus_->session(), path);
        if (!info) return Result<importers::Document>(Error{info.error()});
        if (!*info) return std::nullopt;
        return store_->loadDocument((*info)->id);
    });
    QSettings settings(profile_.settingsPath(), QSettings::IniFormat);
    corpus_->setStore(store_.get(), settings.value(QStringLiteral("session/last")).toLongLong());
}

QWidget* MainWindow::buildViewerPane() {
    viewer_ = new DocumentViewer(this);
    auto* pane = titled(QStringLiteral("Viewer"), viewer_, this);
    pane->setObjectName(QStringLiteral("viewerPane"));
    pane->setAccessibleName(QStringLiteral("Document viewer"));
    return pane;
}

QWidget* MainWindow::buildConversationPane() {
    conversation_ = new ConversationView(this);
    connect(conversation_, &ConversationView::locationActivated, this, [this](const Location& location) {
        viewer_->showLocation(location).ok(); // a failure is shown in the viewer itself
    });
    auto* pane = titled(QStringLiteral("Conversation"), conversation_, this);
    pane->setObjectName(QStringLiteral("conversationPane"));
    pane->setAccessibleName(QStringLiteral("Conversation"));
    return pane;
}

void MainWindow::restoreLayout() {
    QSettings settings(profile_.settingsPath(), QSettings::IniFormat);
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray())) resize(1400, 900);
    QMainWindow::restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    splitter_->restoreState(settings.value(QStringLiteral("window/splitter")).toByteArray());
}

void MainWindow::saveLayout() const {
    QSettings settings(profile_.settingsPath(), QSettings::IniFormat);
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), QMainWindow::saveState());
    settings.setValue(QStringLiteral("window/splitter"), splitter_->saveState());
    if (corpus_->session() != 0) settings.setValue(QStringLiteral("session/last"), corpus_->session());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    QMainWindow::closeEvent(event);
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(QStringLiteral("&File"));
    QAction* open = file->addAction(QStringLiteral("&Open Document…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Open a document to read"));
        if (!path.isEmpty()) viewer_->openFile(path).ok(); // a failure is shown in the viewer itself
    });
    open->setShortcut(QKeySequence::Open);
    file->addSeparator();
    QAction* exportAnswer =
        file->addAction(QStringLiteral("Export &Answer…"), this, [this] { exportByDialog(false); });
    exportAnswer->setObjectName(QStringLiteral("exportAnswerAction"));
    exportAnswer->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    exportAnswer->setToolTip(
        QStringLiteral("Save the last answer as Markdown or PDF, citations as footnotes"));
    QAction* exportAll =
        file->addAction(QStringLiteral("&Export Conversation…"), this, [this] { exportByDialog(true); });
    exportAll->setObjectName(QStringLiteral("exportConversationAction"));
    exportAll->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    exportAll->setToolTip(QStringLiteral("Save every answer as Markdown or PDF, citations as footnotes"));
    file->addSeparator();
    QAction* compare =
        file->addAction(QStringLiteral("&Compare Two Documents…"), this, [this] { showCompareDocuments(); });
    compare->setObjectName(QStringLiteral("compareDocumentsAction"));
    compare->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    compare->setToolTip(QStringLiteral("Show the word-level redline of two documents of this session"));
    QAction* compareCorpora =
        file->addAction(QStringLiteral("Compare Co&rpora…"), this, [this] { showCompareCorpora(); });
    compareCorpora->setObjectName(QStringLiteral("compareCorporaAction"));
    compareCorpora->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K));
    compareCorpora->setToolTip(
        QStringLiteral("Ask corpus A and corpus B the same question, answers and viewers side by side"));
    file->addSeparator();
    QAction* quit = file->addAction(QStringLiteral("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* edit = menuBar()->addMenu(QStringLiteral("&Edit"));
    QAction* settings = edit->addAction(QStringLiteral("&Settings…"), this, [this] { showSettings(); });
    settings->setObjectName(QStringLiteral("settingsAction"));
    settings->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    settings->setToolTip(QStringLiteral("Corpus cache location, size and limit"));

    QMenu* modelMenu = menuBar()->addMenu(QStringLiteral("&Model"));
    QAction* chooseModel = modelMenu->addAction(QStringLiteral("Choose &Model…"), this, [this] {
        ModelManagerDialog dialog(this);
        dialog.setBackendChoice(BackendChoice::load(profile_));
        if (store_ && corpus_->session() != 0)
            if (auto corpora = store_->corpora(corpus_->session()))
                for (const store::CorpusInfo& corpus : *corpora)
                    if (corpus.label == QLatin1String("A")) dialog.setCorpusTokens(corpus.tokens);
        auto defaultPath = lectern::model::default_model_path();
        if (defaultPath) dialog.setModelPath(QString::fromStdString(*defaultPath));
        if (dialog.exec() != QDialog::Accepted) return;
        dialog.backendChoice().save(profile_);
        loadModel(dialog.modelPath());
    });
    chooseModel->setObjectName(QStringLiteral("chooseModelAction"));
    chooseModel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    chooseModel->setToolTip(QStringLiteral("Choose a model and check that it fits before loading it"));

    QMenu* help = menuBar()->addMenu(QStringLiteral("&Help"));
    help->addAction(QStringLiteral("&About Lectern"), this, [this] {
        QMessageBox::about(
            this, QStringLiteral("About Lectern"),
            QStringLiteral("<b>Lectern %1</b><p>%2.</p><p>Everything stays on this computer.</p>")
                .arg(QString::fromUtf8(kVersion), QString::fromUtf8(kDescription)));
    });
}

} // namespace lectern::ui
