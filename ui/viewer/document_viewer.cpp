#include "ui/viewer/document_viewer.h"

#include "ui/viewer/mail_view.h"
#include "ui/viewer/pdf_view.h"
#include "ui/viewer/text_view.h"

#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

namespace lectern::ui {
namespace {

constexpr qint64 kMaxTextFileBytes = qint64(64) << 20;

QAction* toolAction(QToolBar* bar, const QString& shortText, const QString& name,
                    const QList<QKeySequence>& keys) {
    auto* action = new QAction(name, bar);
    action->setIconText(shortText);
    action->setShortcuts(keys);
    action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    QString tip = name;
    if (!keys.isEmpty()) tip += QStringLiteral(" (%1)").arg(keys.first().toString(QKeySequence::NativeText));
    action->setToolTip(tip);
    bar->addAction(action);
    if (QWidget* button = bar->widgetForAction(action)) button->setAccessibleName(name);
    // The toolbar is inside the viewer: make the shortcut work wherever focus is in the viewer.
    bar->parentWidget()->addAction(action);
    return action;
}

bool looksLikePdf(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive);
    return file.read(1024).contains("%PDF-");
}

} // namespace

DocumentViewer::DocumentViewer(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("documentViewer"));
    setAccessibleName(QStringLiteral("Document viewer"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);

    stack_ = new QStackedWidget(this);
    emptyLabel_ = new QLabel(QStringLiteral("Select a document to read it here."), stack_);
    emptyLabel_->setObjectName(QStringLiteral("viewerMessage"));
    emptyLabel_->setAlignment(Qt::AlignCenter);
    emptyLabel_->setWordWrap(true);
    pdf_ = new PdfView(stack_);
    text_ = new TextView(stack_);
    mail_ = new MailView(stack_);
    stack_->addWidget(emptyLabel_);
    stack_->addWidget(pdf_);
    stack_->addWidget(text_);
    stack_->addWidget(mail_);

    toolBar_ = buildToolBar();
    layout->addWidget(toolBar_);
    layout->addWidget(stack_, 1);

    connect(pdf_, &PdfView::currentPageChanged, this, &DocumentViewer::updatePageControls);
    connect(pdf_, &PdfView::zoomChanged, this, &DocumentViewer::updateControls);
    for (auto* view : {text_, mail_->body()}) {
        connect(view, &TextView::findFinished, this, &DocumentViewer::updateFindStatus);
        connect(view, &TextView::currentMatchChanged, this, &DocumentViewer::updateFindStatus);
    }
    connect(pdf_, &PdfView::findFinished, this, &DocumentViewer::updateFindStatus);
    connect(pdf_, &PdfView::currentMatchChanged, this, &DocumentViewer::updateFindStatus);
    updateControls();
}

QToolBar* DocumentViewer::buildToolBar() {
    auto* bar = new QToolBar(this);
    bar->setObjectName(QStringLiteral("viewerToolBar"));
    bar->setAccessibleName(QStringLiteral("Viewer tools"));
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->setIconSize(QSize(16, 16));

    titleLabel_ = new QLabel(bar);
    titleLabel_->setObjectName(QStringLiteral("viewerTitle"));
    titleLabel_->setTextFormat(Qt::PlainText);
    titleLabel_->setFixedWidth(titleLabel_->fontMetrics().averageCharWidth() * 22);
    bar->addWidget(titleLabel_);
    bar->addSeparator();

    previousPage_ = toolAction(bar, QStringLiteral("◀"), QStringLiteral("Previous page"),
                               {QKeySequence(Qt::CTRL | Qt::Key_PageUp)});
    pageBox_ = new QSpinBox(bar);
    pageBox_->setObjectName(QStringLiteral("pageBox"));
    pageBox_->setAccessibleName(QStringLiteral("Page number"));
    pageBox_->setKeyboardTracking(false);
    pageBox_->setButtonSymbols(QAbstractSpinBox::NoButtons);
    pageBox_->setAlignment(Qt::AlignRight);
    bar->addWidget(pageBox_);
    pageCountLabel_ = new QLabel(bar);
    bar->addWidget(pageCountLabel_);
    nextPage_ = toolAction(bar, QStringLiteral("▶"), QStringLiteral("Next page"),
                           {QKeySequence(Qt::CTRL | Qt::Key_PageDown)});
    bar->addSeparator();
    zoomOut_ = toolAction(bar, QStringLiteral("−"), QStringLiteral("Zoom out"), {QKeySequence::ZoomOut});
    zoomLabel_ = new QLabel(bar);
    zoomLabel_->setObjectName(QStringLiteral("zoomLabel"));
    zoomLabel_->setMinimumWidth(zoomLabel_->fontMetrics().horizontalAdvance(QStringLiteral("8888%")));
    zoomLabel_->setAlignment(Qt::AlignCenter);
    bar->addWidget(zoomLabel_);
    zoomIn_ = toolAction(bar, QStringLiteral("+"), QStringLiteral("Zoom in"),
                         {QKeySequence::ZoomIn, QKeySequence(Qt::CTRL | Qt::Key_Equal)});
    actualSize_ = toolAction(bar, QStringLiteral("1:1"), QStringLiteral("Actual size"),
                             {QKeySequence(Qt::CTRL | Qt::Key_0)});
    fitWidth_ = toolAction(bar, QStringLiteral("Fit width"), QStringLiteral("Fit width"), {});
    fitPage_ = toolAction(bar, QStringLiteral("Fit page"), QStringLiteral("Fit page"), {});
    fitWidth_->setCheckable(true);
    fitPage_->setCheckable(true);
    bar->addSeparator();

    findField_ = new QLineEdit(bar);
    findField_->setObjectName(QStringLiteral("findField"));
    findField_->setAccessibleName(QStringLiteral("Find in document"));
    findField_->setPlaceholderText(QStringLiteral("Find (Ctrl+F)"));
    findField_->setClearButtonEnabled(true);
    findField_->setMaximumWidth(200);
    bar->addWidget(findField_);
    findPrevious_ =
        toolAction(bar, QStringLiteral("▲"), QStringLiteral("Previous match"), {QKeySequence::FindPrevious});
    findNext_ = toolAction(bar, QStringLiteral("▼"), QStringLiteral("Next match"), {QKeySequence::FindNext});
    findStatus_ = new QLabel(bar);
    findStatus_->setObjectName(QStringLiteral("findStatus"));
    bar->addWidget(findStatus_);

    auto* find = new QAction(QStringLiteral("Find in document"), this);
    find->setShortcut(QKeySequence::Find);
    find->setShortcutContext(Qt::WindowShortcut); // the window has one find: this one
    addAction(find);
    connect(find, &QAction::triggered, this, &DocumentViewer::startFind);

    connect(previousPage_, &QAction::triggered, this, [this] {
        if (isPdf()) pdf_->goToPage(pdf_->currentPage() - 1);
    });
    connect(nextPage_, &QAction::triggered, this, [this] {
        if (isPdf()) pdf_->goToPage(pdf_->currentPage() + 1);
    });
    connect(pageBox_, &QSpinBox::valueChanged, this, [this](int page) {
        if (isPdf() && page != pdf_->currentPage()) pdf_->goToPage(page);
    });
    connect(zoomIn_, &QAction::triggered, this, [this] {
        if (isPdf())
            pdf_->zoomIn();
        else if (TextView* view = activeTextView())
            view->zoomBy(1);
        updateControls();
    });
    connect(zoomOut_, &QAction::triggered, this, [this] {
        if (isPdf())
            pdf_->zoomOut();
        else if (TextView* view = activeTextView())
            view->zoomBy(-1);
        updateControls();
    });
    connect(actualSize_, &QAction::triggered, this, [this] {
        if (isPdf())
            pdf_->setZoom(1.0);
        else if (TextView* view = activeTextView())
            view->resetZoom();
        updateControls();
    });
    connect(fitWidth_, &QAction::triggered, this, [this] {
        pdf_->setFit(PdfView::Fit::Width);
        updateControls();
    });
    connect(fitPage_, &QAction::triggered, this, [this] {
        pdf_->setFit(PdfView::Fit::Page);
        updateControls();
    });
    connect(findField_, &QLineEdit::textChanged, this, &DocumentViewer::runFind);
    connect(findField_, &QLineEdit::returnPressed, this, [this] {
        (QApplication::keyboardModifiers() & Qt::ShiftModifier) ? findPrevious() : findNext();
    });
    connect(findNext_, &QAction::triggered, this, &DocumentViewer::findNext);
    connect(findPrevious_, &QAction::triggered, this, &DocumentViewer::findPrevious);
    return bar;
}

bool DocumentViewer::isPdf() const {
    return stack_->currentWidget() == pdf_;
}

TextView* DocumentViewer::activeTextView() const {
    if (stack_->currentWidget() == text_) return text_;
    if (stack_->currentWidget() == mail_) return mail_->body();
    return nullptr;
}

int DocumentViewer::currentPage() const {
    if (isPdf()) return pdf_->currentPage();
    return path_.isEmpty() ? 0 : 1;
}

void DocumentViewer::showError(const QString& message) {
    emptyLabel_->setText(message);
    stack_->setCurrentWidget(emptyLabel_);
    emit failed(message);
}

Result<void> DocumentViewer::openFile(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    if (looksLikePdf(absolute)) {
        Result<void> opened = pdf_->open(absolute);
        if (!opened) {
            showError(QString::fromStdString(opened.error()));
            return opened;
        }
        path_ = absolute;
        stack_->setCurrentWidget(pdf_);
    } else {
        QFile file(absolute);
        if (!file.open(QIODevice::ReadOnly)) {
            const QString message = QStringLiteral("Cannot open %1: %2.").arg(absolute, file.errorString());
            showError(message);
            return Error{message.toStdString()};
        }
        if (file.size() > kMaxTextFileBytes) {
            const QString message =
                QStringLiteral("%1 is too large to show as text (%2 MiB); import it to read its passages.")
                    .arg(absolute)
                    .arg(file.size() >> 20);
            showError(message);
            return Error{message.toStdString()};
        }
        const QByteArray bytes = file.readAll();
        if (bytes.left(8192).contains('\0')) {
            const QString message =
                QStringLiteral("%1 is not a text file; import it to read the text Lectern extracts.")
                    .arg(absolute);
            showError(message);
            return Error{message.toStdString()};
        }
        text_->setPages({QString::fromUtf8(bytes)}, QFileInfo(absolute).fileName());
        path_ = absolute;
        stack_->setCurrentWidget(text_);
    }
    setTitle(QFileInfo(absolute).fileName(), absolute);
    mailBodyStart_ = 0;
    updateControls();
    if (!findField_->text().isEmpty()) runFind();
    emit documentOpened(path_);
    return {};
}

Result<void> DocumentViewer::openDocument(const importers::Document& document) {
    if (document.format == QLatin1String("pdf")) {
        Result<void> opened = openFile(document.path);
        if (opened && !document.title.isEmpty()) setTitle(document.title, document.path);
        return opened;
    }
    QStringList pages;
    for (const importers::Page& page : document.pages) pages.append(page.text);
    if (document.format == QLatin1String("email")) {
        qsizetype bodyStart = 0;
        MailView::Headers headers =
            pages.isEmpty() ? MailView::Headers{} : MailView::splitHeaders(pages.first(), bodyStart);
        if (headers.isEmpty()) {
            if (!document.author.isEmpty()) headers.append({QStringLiteral("From"), document.author});
            if (document.created.isValid())
                headers.append(
                    {QStringLiteral("Date"), QLocale().toString(document.created, QLocale::LongFormat)});
            if (!document.title.isEmpty()) headers.append({QStringLiteral("Subject"), document.title});
        }
        if (!pages.isEmpty()) pages.first().remove(0, bodyStart);
        mail_->setMessage(headers, pages);
        mailBodyStart_ = bodyStart;
        stack_->setCurrentWidget(mail_);
    } else {
        text_->setPages(pages, document.language.isEmpty() ? QFileInfo(document.path).fileName()
                                                           : document.language);
        mailBodyStart_ = 0;
        stack_->setCurrentWidget(text_);
    }
    path_ = document.path;
    setTitle(document.title.isEmpty() ? QFileInfo(document.path).fileName() : document.title, document.path);
    updateControls();
    if (!findField_->text().isEmpty()) runFind();
    emit documentOpened(path_);
    return {};
}

Result<void> DocumentViewer::openPath(const QString& path) {
    std::optional<Result<importers::Document>> document;
    if (source_) document = source_(path);
    if (!document) return openFile(path);
    if (!*document) {
        showError(QString::fromStdString(document->error()));
        return std::move(*document).take_error();
    }
    return openDocument(**document);
}

Result<void> DocumentViewer::showLocation(const Location& location) {
    if (location.documentPath != path_) {
        Result<void> opened = openPath(location.documentPath);
        if (!opened) return opened;
    }
    if (isPdf()) {
        pdf_->showLocation(location.page, location.rects);
        pdf_->setFocus();
    } else if (TextView* view = activeTextView()) {
        importers::TextRange range = location.range;
        if (view == mail_->body() && location.page == 1) {
            range.start = std::max<qsizetype>(0, range.start - mailBodyStart_);
            range.end = std::max<qsizetype>(range.start, range.end - mailBodyStart_);
        }
        view->showRange(location.page, range);
        view->setFocus();
    }
    return {};
}

void DocumentViewer::setTitle(const QString& title, const QString& path) {
    titleLabel_->setText(titleLabel_->fontMetrics().elidedText(title, Qt::ElideMiddle, titleLabel_->width()));
    titleLabel_->setToolTip(title == QFileInfo(path).fileName() ? path
                                                                : QStringLiteral("%1\n%2").arg(title, path));
}

void DocumentViewer::closeDocument() {
    pdf_->close();
    text_->setPages({}, QString());
    path_.clear();
    setTitle(QString(), QString());
    emptyLabel_->setText(QStringLiteral("Select a document to read it here."));
    stack_->setCurrentWidget(emptyLabel_);
    updateControls();
}

void DocumentViewer::updateControls() {
    const bool pdf = isPdf();
    const bool open = !path_.isEmpty();
    for (QAction* action : {previousPage_, nextPage_, fitWidth_, fitPage_}) action->setEnabled(pdf);
    for (QAction* action : {zoomIn_, zoomOut_, actualSize_}) action->setEnabled(open);
    pageBox_->setEnabled(pdf);
    findField_->setEnabled(open);
    fitWidth_->setChecked(pdf && pdf_->fit() == PdfView::Fit::Width);
    fitPage_->setChecked(pdf && pdf_->fit() == PdfView::Fit::Page);
    zoomLabel_->setText(pdf ? QStringLiteral("%1%").arg(qRound(pdf_->zoom() * 100)) : QString());
    const int pages = pdf ? pdf_->pageCount() : (open ? 1 : 0);
    {
        const QSignalBlocker block(pageBox_);
        pageBox_->setRange(pages > 0 ? 1 : 0, std::max(pages, 0));
    }
    pageCountLabel_->setText(pdf ? QStringLiteral(" / %1 ").arg(pages) : QString());
    updatePageControls(currentPage());
    updateFindStatus();
}

void DocumentViewer::updatePageControls(int page) {
    const QSignalBlocker block(pageBox_);
    pageBox_->setValue(page);
    previousPage_->setEnabled(isPdf() && page > 1);
    nextPage_->setEnabled(isPdf() && page < pdf_->pageCount());
}

void DocumentViewer::startFind() {
    findField_->setFocus(Qt::ShortcutFocusReason);
    findField_->selectAll();
}

void DocumentViewer::find(const QString& text) {
    findField_->setText(text); // runs the search
}

void DocumentViewer::runFind() {
    if (isPdf())
        pdf_->find(findField_->text());
    else if (TextView* view = activeTextView())
        view->find(findField_->text());
    updateFindStatus();
}

void DocumentViewer::findNext() {
    if (isPdf())
        pdf_->findNext();
    else if (TextView* view = activeTextView())
        view->findNext();
}

void DocumentViewer::findPrevious() {
    if (isPdf())
        pdf_->findPrevious();
    else if (TextView* view = activeTextView())
        view->findPrevious();
}

void DocumentViewer::updateFindStatus() {
    int count = 0;
    int current = -1;
    if (isPdf()) {
        count = int(pdf_->matches().size());
        current = pdf_->currentMatch();
    } else if (TextView* view = activeTextView()) {
        count = view->matchCount();
        current = view->currentMatch();
    }
    findNext_->setEnabled(count > 0);
    findPrevious_->setEnabled(count > 0);
    if (findField_->text().isEmpty())
        findStatus_->clear();
    else if (isPdf() && pdf_->isSearching())
        findStatus_->setText(QStringLiteral("Searching…"));
    else if (count == 0)
        findStatus_->setText(QStringLiteral("No matches"));
    else
        findStatus_->setText(QStringLiteral("%1 of %2").arg(current + 1).arg(count));
}

} // namespace lectern::ui
