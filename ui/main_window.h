#pragma once
// The main window: corpus (left), viewer (centre), conversation (right), in one splitter.

#include "app/profile/profile.h"

#include <QMainWindow>

class QSplitter;
class QTreeView;
class QStackedWidget;

namespace lectern::ui {

class ConversationView;
class DocumentViewer;
class StatusPanel;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(Profile profile, QWidget* parent = nullptr);

    QWidget* corpusPane() const { return corpusPane_; }
    QWidget* viewerPane() const { return viewerPane_; }
    QWidget* conversationPane() const { return conversationPane_; }
    DocumentViewer* viewer() const { return viewer_; }
    ConversationView* conversation() const { return conversation_; }
    StatusPanel* statusPanel() const { return statusPanel_; }

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    QWidget* buildCorpusPane();
    QWidget* buildViewerPane();
    QWidget* buildConversationPane();
    void buildMenus();
    // Window geometry, dock state and pane sizes, in the profile's settings file.
    void restoreLayout();
    void saveLayout() const;

    Profile profile_;
    QSplitter* splitter_ = nullptr;
    QWidget* corpusPane_ = nullptr;
    QWidget* viewerPane_ = nullptr;
    QWidget* conversationPane_ = nullptr;
    DocumentViewer* viewer_ = nullptr;
    ConversationView* conversation_ = nullptr;
    StatusPanel* statusPanel_ = nullptr;
};

} // namespace lectern::ui
