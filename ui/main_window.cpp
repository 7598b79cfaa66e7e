#include "ui/main_window.h"

#include "ui/conversation/conversation_view.h"
#include "ui/status/status_panel.h"
#include "ui/viewer/document_viewer.h"

#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTreeView>
#include <QVBoxLayout>

#include <lectern/version.h>

namespace lectern::ui {
namespace {

QLabel* emptyState(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setAlignment(Qt::AlignCenter);
    label->setWordWrap(true);
    label->setEnabled(false); // drawn greyed: it describes, it does not act
    return label;
}

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
    statusBar()->showMessage(QStringLiteral("Profile: %1").arg(profile_.directory()));
    restoreLayout();
}

QWidget* MainWindow::buildCorpusPane() {
    auto* stack = new QStackedWidget(this);
    auto* tree = new QTreeView(stack);
    tree->setObjectName(QStringLiteral("corpusTree"));
    tree->setAccessibleName(QStringLiteral("Documents in this session"));
    tree->setHeaderHidden(true);
    tree->setModel(new QStandardItemModel(tree));
    stack->addWidget(emptyState(QStringLiteral("No documents in this session yet."), stack));
    stack->addWidget(tree);
    auto* pane = titled(QStringLiteral("Corpus"), stack, this);
    pane->setObjectName(QStringLiteral("corpusPane"));
    pane->setAccessibleName(QStringLiteral("Corpus"));
    return pane;
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
    QAction* quit = file->addAction(QStringLiteral("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* help = menuBar()->addMenu(QStringLiteral("&Help"));
    help->addAction(QStringLiteral("&About Lectern"), this, [this] {
        QMessageBox::about(
            this, QStringLiteral("About Lectern"),
            QStringLiteral("<b>Lectern %1</b><p>%2.</p><p>Everything stays on this computer.</p>")
                .arg(QString::fromUtf8(kVersion), QString::fromUtf8(kDescription)));
    });
}

} // namespace lectern::ui
