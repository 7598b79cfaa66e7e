#include "ui/corpus/corpus_panel.h"

#include "app/store/import_sink.h"
#include "app/store/store.h"
#include "ui/status/status_panel.h"

#include <QAction>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace lectern::ui {
namespace {

constexpr int kPathRole = Qt::UserRole;
constexpr int kCorpusRole = Qt::UserRole + 1; // on every row: the label of the corpus it belongs to

QString stateText(const store::DocumentInfo& document) {
    switch (document.state) {
    case store::ImportState::Imported:
        return document.pages > 0 ? QStringLiteral("%1 p.").arg(document.pages) : QStringLiteral("imported");
    case store::ImportState::Failed:
        return QStringLiteral("failed");
    case store::ImportState::Duplicate:
        return QStringLiteral("duplicate");
    case store::ImportState::Pending:
        return QStringLiteral("unfinished");
    }
    return {};
}

} // namespace

CorpusPanel::CorpusPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("corpusPanel"));
    setAcceptDrops(true);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    auto* sessionRow = new QHBoxLayout;
    sessions_ = new QComboBox(this);
    sessions_->setObjectName(QStringLiteral("sessionBox"));
    sessions_->setAccessibleName(QStringLiteral("Session"));
    newSession_ = new QPushButton(QStringLiteral("New…"), this);
    newSession_->setObjectName(QStringLiteral("newSessionButton"));
    newSession_->setAccessibleName(QStringLiteral("New session"));
    newSession_->setToolTip(QStringLiteral("Start a new session with its own documents"));
    sessionRow->addWidget(sessions_, 1);
    sessionRow->addWidget(newSession_);
    layout->addLayout(sessionRow);

    tree_ = new QTreeWidget(this);
    tree_->setObjectName(QStringLiteral("corpusTree"));
    tree_->setAccessibleName(QStringLiteral("Documents in this session"));
    tree_->setColumnCount(2);
    tree_->setHeaderLabels({QStringLiteral("Document"), QStringLiteral("State")});
    tree_->header()->setStretchLastSection(false);
    tree_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    tree_->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    tree_->setRootIsDecorated(true);
    tree_->setUniformRowHeights(true);
    layout->addWidget(tree_, 1);

    message_ = new QLabel(this);
    message_->setObjectName(QStringLiteral("corpusMessage"));
    message_->setWordWrap(true);
    message_->setVisible(false);
    layout->addWidget(message_);

    progressRow_ = new QWidget(this);
    auto* progressLayout = new QVBoxLayout(progressRow_);
    progressLayout->setContentsMargins(0, 0, 0, 0);
    progress_ = new QProgressBar(progressRow_);
    progress_->setObjectName(QStringLiteral("importProgress"));
    progress_->setAccessibleName(QStringLiteral("Import progress"));
    progressLabel_ = new QLabel(progressRow_);
    progressLabel_->setObjectName(QStringLiteral("importProgressLabel"));
    progressLabel_->setWordWrap(true);
    cancel_ = new QPushButton(QStringLiteral("Cancel import"), progressRow_);
    cancel_->setObjectName(QStringLiteral("cancelImportButton"));
    cancel_->setAccessibleName(QStringLiteral("Cancel import"));
    progressLayout->addWidget(progress_);
    progressLayout->addWidget(progressLabel_);
    progressLayout->addWidget(cancel_, 0, Qt::AlignRight);
    progressRow_->setVisible(false);
    layout->addWidget(progressRow_);

    auto* buttons = new QHBoxLayout;
    importCorpus_ = new QComboBox(this);
    importCorpus_->setObjectName(QStringLiteral("importCorpusBox"));
    importCorpus_->setAccessibleName(QStringLiteral("Import into corpus"));
    importCorpus_->setToolTip(
        QStringLiteral("The corpus new documents go into; corpus B is compared with corpus A "
                       "(Compare Corpora). A drop on a corpus's rows goes into that corpus."));
    importCorpus_->addItem(QStringLiteral("Into A"), QStringLiteral("A"));
    importCorpus_->addItem(QStringLiteral("Into B"), QStringLiteral("B"));
    buttons->addWidget(importCorpus_);
    importFiles_ = new QPushButton(QStringLiteral("Import files…"), this);
    importFiles_->setObjectName(QStringLiteral("importFilesButton"));
    importFiles_->setAccessibleName(QStringLiteral("Import files"));
    importFiles_->setToolTip(
        QStringLiteral("Add documents to this session (Ctrl+I); or drop files and folders here"));
    importFolder_ = new QPushButton(QStringLiteral("Import folder…"), this);
    importFolder_->setObjectName(QStringLiteral("importFolderButton"));
    importFolder_->setAccessibleName(QStringLiteral("Import folder"));
    buttons->addWidget(importFiles_);
    buttons->addWidget(importFolder_);
    layout->addLayout(buttons);

    auto* importAction = new QAction(QStringLiteral("Import files"), this);
    importAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    importAction->setShortcutContext(Qt::WindowShortcut);
    addAction(importAction);
    connect(importAction, &QAction::triggered, this, &CorpusPanel::chooseFiles);
    connect(importFiles_, &QPushButton::clicked, this, &CorpusPanel::chooseFiles);
    connect(importFolder_, &QPushButton::clicked, this, &CorpusPanel::chooseFolder);
    connect(newSession_, &QPushButton::clicked, this, &CorpusPanel::newSession);
    connect(cancel_, &QPushButton::clicked, this, &CorpusPanel::cancelImport);
    connect(sessions_, &QComboBox::activated, this,
            [this](int index) { setSession(sessions_->itemData(index).toLongLong()); });
    connect(tree_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* item) {
        const QString path = item->data(0, kPathRole).toString();
        if (!path.isEmpty() && item->data(1, kPathRole).toBool()) emit documentActivated(path);
    });
    setEnabled(false);
}

CorpusPanel::~CorpusPanel() {
    cancelImport();
}

void CorpusPanel::showMessage(const QString& message) {
    message_->setText(message);
    message_->setVisible(!message.isEmpty());
    if (!message.isEmpty()) emit failed(message);
}

void CorpusPanel::setStore(store::Store* store, qint64 session) {
    store_ = store;
    setEnabled(store_ != nullptr);
    if (!store_) return;
    auto sessions = store_->sessions();
    if (!sessions) return showMessage(QString::fromStdString(sessions.error()));
    const bool known = std::any_of(sessions->begin(), sessions->end(),
                                   [session](const store::SessionInfo& info) { return info.id == session; });
    if (!known) session = sessions->isEmpty() ? 0 : sessions->first().id;
    if (session == 0) {
        auto created = store_->createSession(QStringLiteral("My documents"));
        if (!created) return showMessage(QString::fromStdString(created.error()));
        session = *created;
    }
    setSession(session);
}

void CorpusPanel::setSession(qint64 session) {
    if (!store_ || isImporting()) return;
    session_ = session;
    refresh();
    emit sessionChanged(session_);
}

void CorpusPanel::refresh() {
    if (!store_) return;
    auto sessions = store_->sessions();
    if (!sessions) return showMessage(QString::fromStdString(sessions.error()));
    {
        const QSignalBlocker block(sessions_);
        sessions_->clear();
        for (const store::SessionInfo& info : *sessions) {
            sessions_->addItem(info.name, info.id);
            if (info.id == session_) sessions_->setCurrentIndex(sessions_->count() - 1);
        }
    }
    tree_->clear();
    auto corpora = store_->corpora(session_);
    if (!corpora) return showMessage(QString::fromStdString(corpora.error()));
    auto documents = store_->documents({session_, std::nullopt});
    if (!documents) return showMessage(QString::fromStdString(documents.error()));
    for (const store::CorpusInfo& corpus : *corpora) {
        auto* corpusItem = new QTreeWidgetItem(tree_);
        corpusItem->setText(0, QStringLiteral("Corpus %1").arg(corpus.label));
        corpusItem->setData(0, kCorpusRole, corpus.label);
        corpusItem->setText(1, QStringLiteral("%1 tokens").arg(StatusPanel::formatCount(corpus.tokens)));
        corpusItem->setToolTip(0, QStringLiteral("%1 documents, about %2 tokens")
                                      .arg(corpus.documents)
                                      .arg(StatusPanel::formatCount(corpus.tokens)));
        for (const store::DocumentInfo& document : *documents) {
            if (document.corpus != corpus.id) continue;
            auto* item = new QTreeWidgetItem(corpusItem);
            // The file name: titles inside files are often left-overs ("Microsoft Word - draft3.doc").
            item->setText(0, QFileInfo(document.path).fileName());
            item->setText(1, stateText(document));
            item->setData(0, kPathRole, document.path);
            item->setData(1, kPathRole, document.state == store::ImportState::Imported);
            item->setData(0, kCorpusRole, corpus.label);
            QString tip = document.title.isEmpty()
                              ? document.path
                              : QStringLiteral("%1\n%2").arg(document.title, document.path);
            if (document.state == store::ImportState::Failed) {
                tip += QStringLiteral("\n") + document.error;
                item->setForeground(0, QColor(0xb0, 0x00, 0x20));
                item->setForeground(1, QColor(0xb0, 0x00, 0x20));
            } else if (document.state == store::ImportState::Duplicate) {
                tip += QStringLiteral("\nSame content as %1").arg(document.duplicateOf);
                item->setForeground(0, palette().color(QPalette::PlaceholderText));
            } else if (document.state == store::ImportState::Imported) {
                tip += QStringLiteral("\n%1 pages, %2 passages, about %3 tokens")
                           .arg(document.pages)
                           .arg(document.passages)
                           .arg(StatusPanel::formatCount(document.tokens));
            }
            item->setToolTip(0, tip);
            item->setToolTip(1, tip);
        }
        corpusItem->setExpanded(true);
    }
}

void CorpusPanel::newSession() {
    if (!store_) return;
    bool ok = false;
    const QString name = QInputDialog::getText(this, QStringLiteral("New session"), QStringLiteral("Name:"),
                                               QLineEdit::Normal, QString(), &ok);
    if (!ok || name.trimmed().isEmpty()) return;
    auto created = store_->createSession(name.trimmed());
    if (!created) return showMessage(QString::fromStdString(created.error()));
    setSession(*created);
}

void CorpusPanel::chooseFiles() {
    const QStringList files = QFileDialog::getOpenFileNames(this, QStringLiteral("Import documents"));
    if (!files.isEmpty()) importPaths(files);
}

void CorpusPanel::chooseFolder() {
    const QString folder = QFileDialog::getExistingDirectory(this, QStringLiteral("Import a folder"));
    if (!folder.isEmpty()) importPaths({folder});
}

void CorpusPanel::dragEnterEvent(QDragEnterEvent* event) {
    if (store_ && !isImporting() && event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void CorpusPanel::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) paths << url.toLocalFile();
    // Dropped on a corpus or one of its documents: into that corpus.
    QString corpus;
    const QPoint at = tree_->viewport()->mapFrom(this, event->position().toPoint());
    if (tree_->viewport()->rect().contains(at))
        if (const QTreeWidgetItem* item = tree_->itemAt(at)) corpus = item->data(0, kCorpusRole).toString();
    if (!paths.isEmpty() && importPaths(paths, corpus)) event->acceptProposedAction();
}

QString CorpusPanel::importCorpus() const {
    return importCorpus_->currentData().toString();
}

void CorpusPanel::setImportCorpus(const QString& corpus) {
    const int index = importCorpus_->findData(corpus.trimmed().toUpper());
    if (index >= 0) importCorpus_->setCurrentIndex(index);
}

bool CorpusPanel::importPaths(const QStringList& paths, const QString& corpusLabel) {
    if (!store_ || session_ == 0 || isImporting() || paths.isEmpty()) return false;
    const QString label = corpusLabel.isEmpty() ? importCorpus() : corpusLabel.trimmed().toUpper();
    if (label != QStringLiteral("A") && label != QStringLiteral("B")) {
        showMessage(QStringLiteral("Documents go into corpus A or B, not '%1'.").arg(corpusLabel));
        return false;
    }
    auto corpus = store_->corpus(session_, label);
    if (!corpus) {
        showMessage(QString::fromStdString(corpus.error()));
        return false;
    }
    showMessage(QString());
    progress_->setRange(0, 0);
    progressLabel_->setText(QStringLiteral("Looking for documents…"));
    progressRow_->setVisible(true);
    cancel_->setEnabled(true);
    for (QWidget* widget : {static_cast<QWidget*>(importFiles_), static_cast<QWidget*>(importFolder_),
                            static_cast<QWidget*>(sessions_), static_cast<QWidget*>(newSession_),
                            static_cast<QWidget*>(importCorpus_)})
        widget->setEnabled(false);

    QStringList absolute;
    for (const QString& path : paths) absolute << QFileInfo(path).absoluteFilePath();
    QPointer<CorpusPanel> self(this);
    worker_ = std::jthread([self, store = store_, corpusId = *corpus, absolute](std::stop_token stop) {
        store::StoreImportSink sink(*store, corpusId);
        const importers::ImportReport report = importers::importPaths(
            absolute, importers::ImportOptions{}, sink,
            [self](const importers::ImportProgress& progress) {
                QMetaObject::invokeMethod(
                    self,
                    [self, progress] {
                        if (self) self->onProgress(progress);
                    },
                    Qt::QueuedConnection);
            },
            stop);
        const QString storeError = sink.firstError();
        QMetaObject::invokeMethod(
            self,
            [self, report, storeError] {
                if (self) self->onFinished(report, storeError);
            },
            Qt::QueuedConnection);
    });
    return true;
}

void CorpusPanel::cancelImport() {
    if (!worker_.joinable()) return;
    worker_.request_stop();
    cancel_->setEnabled(false);
    progressLabel_->setText(QStringLiteral("Cancelling…"));
}

void CorpusPanel::waitForImport() {
    if (worker_.joinable()) worker_.join();
}

void CorpusPanel::onProgress(const importers::ImportProgress& progress) {
    if (progress.filesTotal <= 0) return;
    // Bytes track the work better than files when sizes differ; per-mille keeps large totals in an int.
    if (progress.bytesTotal > 0) {
        progress_->setRange(0, 1000);
        progress_->setValue(int(progress.bytesDone * 1000 / progress.bytesTotal));
    } else {
        progress_->setRange(0, progress.filesTotal);
        progress_->setValue(progress.filesDone);
    }
    QString text = QStringLiteral("%1 of %2 files").arg(progress.filesDone).arg(progress.filesTotal);
    if (progress.etaSeconds >= 0)
        text += QStringLiteral(" · about %1 left").arg(StatusPanel::formatDuration(progress.etaSeconds));
    if (!progress.currentPath.isEmpty())
        text += QStringLiteral("\n") + QFileInfo(progress.currentPath).fileName();
    progressLabel_->setText(text);
}

void CorpusPanel::onFinished(const importers::ImportReport& report, const QString& storeError) {
    if (worker_.joinable()) worker_.join();
    progressRow_->setVisible(false);
    for (QWidget* widget : {static_cast<QWidget*>(importFiles_), static_cast<QWidget*>(importFolder_),
                            static_cast<QWidget*>(sessions_), static_cast<QWidget*>(newSession_),
                            static_cast<QWidget*>(importCorpus_)})
        widget->setEnabled(true);
    int failedFiles = 0;
    for (const importers::FileOutcome& file : report.files)
        if (file.status == importers::FileStatus::Failed) ++failedFiles;
    refresh();
    if (!storeError.isEmpty())
        showMessage(QStringLiteral("Saving the import failed: %1").arg(storeError));
    else if (report.cancelled)
        showMessage(QStringLiteral("Import cancelled; importing the same files again finishes the rest."));
    else if (failedFiles > 0)
        showMessage(QStringLiteral("%1 of %2 files could not be imported; hover over them to see why.")
                        .arg(failedFiles)
                        .arg(report.files.size()));
    emit importFinished(report);
}

} // namespace lectern::ui
