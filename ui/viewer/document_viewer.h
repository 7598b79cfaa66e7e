#pragma once
// The viewer pane: one document at a time, PDF pages (PdfView), text and code (TextView) or e-mail
// (MailView), with page navigation, zoom, fit and find in one toolbar. showLocation() is how citations,
// search hits and "looked at" passages open a place in a document.

#include "importers/document.h"
#include "kernels/result.h"
#include "ui/viewer/location.h"

#include <QWidget>

#include <functional>
#include <optional>

class QLabel;
class QLineEdit;
class QSpinBox;
class QStackedWidget;
class QToolBar;
class QAction;

namespace lectern::ui {

class MailView;
class PdfView;
class TextView;

class DocumentViewer : public QWidget {
    Q_OBJECT
public:
    // Given a document path, the imported document (from the store); used when a location names a
    // document that is not open. When there is no source or it does not know the path (nullopt), the
    // file is read from disk (PDFs by Poppler, others as text).
    using DocumentSource = std::function<std::optional<Result<importers::Document>>(const QString& path)>;

    explicit DocumentViewer(QWidget* parent = nullptr);

    void setDocumentSource(DocumentSource source) { source_ = std::move(source); }

    Result<void> openFile(const QString& path);
    Result<void> openDocument(const importers::Document& document);
    Result<void> showLocation(const Location& location);
    void closeDocument();

    const QString& currentPath() const { return path_; }
    int currentPage() const;
    bool isPdf() const;

    PdfView* pdfView() const { return pdf_; }
    TextView* textView() const { return text_; }
    MailView* mailView() const { return mail_; }
    QLineEdit* findField() const { return findField_; }

    void startFind();               // focuses the find field (Ctrl+F)
    void find(const QString& text); // as if typed into the find field

signals:
    void documentOpened(const QString& path);
    void failed(const QString& message);

private:
    QToolBar* buildToolBar();
    Result<void> openPath(const QString& path);
    void showError(const QString& message);
    void setTitle(const QString& title, const QString& path);
    void updateControls();
    void updatePageControls(int page);
    void updateFindStatus();
    TextView* activeTextView() const;
    void runFind();
    void findNext();
    void findPrevious();

    DocumentSource source_;
    QString path_;
    qsizetype mailBodyStart_ = 0;

    QStackedWidget* stack_ = nullptr;
    QLabel* emptyLabel_ = nullptr;
    PdfView* pdf_ = nullptr;
    TextView* text_ = nullptr;
    MailView* mail_ = nullptr;

    QToolBar* toolBar_ = nullptr;
    QLabel* titleLabel_ = nullptr;
    QAction* previousPage_ = nullptr;
    QAction* nextPage_ = nullptr;
    QSpinBox* pageBox_ = nullptr;
    QLabel* pageCountLabel_ = nullptr;
    QAction* zoomOut_ = nullptr;
    QAction* zoomIn_ = nullptr;
    QAction* actualSize_ = nullptr;
    QLabel* zoomLabel_ = nullptr;
    QAction* fitWidth_ = nullptr;
    QAction* fitPage_ = nullptr;
    QLineEdit* findField_ = nullptr;
    QAction* findPrevious_ = nullptr;
    QAction* findNext_ = nullptr;
    QLabel* findStatus_ = nullptr;
};

} // namespace lectern::ui
