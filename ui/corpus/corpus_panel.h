#pragma once
// The corpus pane: the sessions in the store, the documents of the current one by corpus with their
// import state and errors, and importing (dialog, drag-and-drop) into corpus A or B with progress, ETA and
// cancel. Corpus B is what a comparison sets beside A (File ▸ Compare Corpora). The
// import pipeline runs on its own thread; the store serialises its calls.

#include "importers/pipeline.h"

#include <QWidget>

#include <memory>
#include <stop_token>
#include <thread>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QTreeWidget;
class QTreeWidgetItem;

namespace lectern::store {
class Store;
}

namespace lectern::ui {

class CorpusPanel : public QWidget {
    Q_OBJECT
public:
    explicit CorpusPanel(QWidget* parent = nullptr);
    ~CorpusPanel() override;

    // The store to show; `session` 0 picks the first (one named "My documents" is made when none).
    void setStore(store::Store* store, qint64 session = 0);
    qint64 session() const { return session_; }
    void setSession(qint64 session);
    void refresh();

    // Imports files and folders into corpus "A" or "B" of the session (empty: the one chosen under the
    // list, A unless changed); false when an import is running already.
    bool importPaths(const QStringList& paths, const QString& corpus = {});
    // The corpus that the buttons, Ctrl+I and a drop outside a corpus's rows import into.
    QString importCorpus() const;
    void setImportCorpus(const QString& corpus);
    bool isImporting() const { return worker_.joinable(); }
    void cancelImport();
    void waitForImport(); // returns when no import thread runs

    QTreeWidget* tree() const { return tree_; }
    QComboBox* importCorpusBox() const { return importCorpus_; }
    QProgressBar* progressBar() const { return progress_; }
    QLabel* progressLabel() const { return progressLabel_; }

signals:
    void documentActivated(const QString& path);
    void sessionChanged(qint64 session);
    void importFinished(const lectern::importers::ImportReport& report);
    void failed(const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void chooseFiles();
    void chooseFolder();
    void newSession();
    void onProgress(const importers::ImportProgress& progress);
    void onFinished(const importers::ImportReport& report, const QString& storeError);
    void showMessage(const QString& message);

    store::Store* store_ = nullptr;
    qint64 session_ = 0;
    QComboBox* sessions_ = nullptr;
    QPushButton* newSession_ = nullptr;
    QPushButton* importFiles_ = nullptr;
    QPushButton* importFolder_ = nullptr;
    QComboBox* importCorpus_ = nullptr;
    QTreeWidget* tree_ = nullptr;
    QLabel* message_ = nullptr;
    QWidget* progressRow_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* progressLabel_ = nullptr;
    QPushButton* cancel_ = nullptr;
    std::jthread worker_;
};

} // namespace lectern::ui
