#pragma once
// The main window: corpus (left), viewer (centre), conversation (right), in one splitter.

#include "app/profile/profile.h"

#include <QMainWindow>

#include <memory>

class QSplitter;
class QTabWidget;

namespace lectern::store {
class Store;
}
namespace lectern::worker {
class InferenceWorker;
}

namespace lectern::ui {

class AskController;
class CompareDocumentsDialog;
class CompareView;
class ConversationView;
class CorpusPanel;
class SearchPanel;
class SettingsDialog;
class DocumentViewer;
class StatusPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(Profile profile, QWidget* parent = nullptr);
    ~MainWindow() override;

    QWidget* corpusPane() const { return corpusPane_; }
    QWidget* viewerPane() const { return viewerPane_; }
    QWidget* conversationPane() const { return conversationPane_; }
    DocumentViewer* viewer() const { return viewer_; }
    ConversationView* conversation() const { return conversation_; }
    StatusPanel* statusPanel() const { return statusPanel_; }
    CorpusPanel* corpus() const { return corpus_; }
    SearchPanel* search() const { return search_; }
    store::Store* store() const { return store_.get(); }

    AskController* asker() const { return ask_; }
    // Loads a model for asking (a checkpoint folder or .gguf file; empty: the built-in default).
    void loadModel(const QString& path = {});
    // Shows the Search tab with the hits for `text`.
    void searchAll(const QString& text);
    // "Compare two documents…": the dialog over the current session's documents, made on first use.
    CompareDocumentsDialog* showCompareDocuments();
    CompareDocumentsDialog* compareDocumentsDialog() const { return compareDialog_; }
    // File ▸ Compare Corpora: corpora A and B of the session side by side (its own window).
    CompareView* showCompareCorpora();
    CompareView* compareView() const { return compareView_; }
    worker::InferenceWorker& inferenceWorker() const { return *worker_; }
    // Edit ▸ Settings: opens the dialog (window-modal); accepting saves and applies the cache settings.
    SettingsDialog* showSettings();
    // File ▸ Export: the last answer or the whole conversation, as PDF when `path` ends in ".pdf" and as
    // Markdown otherwise, citations as footnotes.
    Result<void> exportLastAnswer(const QString& path);
    Result<void> exportConversation(const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    QWidget* buildCorpusPane();
    QWidget* buildViewerPane();
    QWidget* buildConversationPane();
    void buildMenus();
    void exportByDialog(bool wholeConversation);
    QString sessionName() const;
    void openStore();
    // Window geometry, dock state and pane sizes, in the profile's settings file.
    void restoreLayout();
    void saveLayout() const;

    Profile profile_;
    std::unique_ptr<store::Store> store_;
    QSplitter* splitter_ = nullptr;
    QWidget* corpusPane_ = nullptr;
    QWidget* viewerPane_ = nullptr;
    QWidget* conversationPane_ = nullptr;
    DocumentViewer* viewer_ = nullptr;
    ConversationView* conversation_ = nullptr;
    StatusPanel* statusPanel_ = nullptr;
    CorpusPanel* corpus_ = nullptr;
    SearchPanel* search_ = nullptr;
    QTabWidget* corpusTabs_ = nullptr;
    // One model per window: the conversation pane and the compare view share this worker. Made before
    // them and deleted after them (~MainWindow), as they hold references to it.
    std::unique_ptr<worker::InferenceWorker> worker_;
    AskController* ask_ = nullptr;
    CompareDocumentsDialog* compareDialog_ = nullptr;
    CompareView* compareView_ = nullptr;
};

} // namespace lectern::ui
