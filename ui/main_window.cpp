#include "ui/main_window.h"

#include "ui/viewer/document_viewer.h"

#include <QApplication>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTextBrowser>
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
    resize(1400, 900);

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
    statusBar()->showMessage(QStringLiteral("Profile: %1").arg(profile_.directory()));
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
    auto* body = new QWidget(this);
    auto* layout = new QVBoxLayout(body);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* transcript = new QTextBrowser(body);
    transcript->setObjectName(QStringLiteral("transcript"));
    transcript->setAccessibleName(QStringLiteral("Conversation"));
    transcript->setPlaceholderText(QStringLiteral("Questions and answers about this session appear here."));
    auto* question = new QPlainTextEdit(body);
    question->setObjectName(QStringLiteral("questionEdit"));
    question->setAccessibleName(QStringLiteral("Question"));
    question->setPlaceholderText(QStringLiteral("Ask a question about the documents"));
    question->setMaximumHeight(90);
    question->setEnabled(false);
    auto* ask = new QPushButton(QStringLiteral("Ask"), body);
    ask->setObjectName(QStringLiteral("askButton"));
    ask->setAccessibleName(QStringLiteral("Ask"));
    ask->setEnabled(false);
    ask->setToolTip(
        QStringLiteral("Asking needs documents and a model; neither is available in this build yet."));
    layout->addWidget(transcript, 1);
    layout->addWidget(question);
    layout->addWidget(ask, 0, Qt::AlignRight);
    auto* pane = titled(QStringLiteral("Conversation"), body, this);
    pane->setObjectName(QStringLiteral("conversationPane"));
    pane->setAccessibleName(QStringLiteral("Conversation"));
    return pane;
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
