#pragma once
// The main window: corpus (left), viewer (centre), conversation (right), in one splitter.

#include "app/profile/profile.h"

#include <QMainWindow>

class QSplitter;
class QTreeView;
class QStackedWidget;
class QTextBrowser;
class QPlainTextEdit;
class QPushButton;

namespace lectern::ui {
class DocumentViewer;
}

namespace lectern::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(Profile profile, QWidget* parent = nullptr);

    QWidget* corpusPane() const { return corpusPane_; }
    QWidget* viewerPane() const { return viewerPane_; }
    QWidget* conversationPane() const { return conversationPane_; }
    DocumentViewer* viewer() const { return viewer_; }

private:
    QWidget* buildCorpusPane();
    QWidget* buildViewerPane();
    QWidget* buildConversationPane();
    void buildMenus();

    Profile profile_;
    QSplitter* splitter_ = nullptr;
    QWidget* corpusPane_ = nullptr;
    QWidget* viewerPane_ = nullptr;
    QWidget* conversationPane_ = nullptr;
    DocumentViewer* viewer_ = nullptr;
};

} // namespace lectern::ui
