// The document viewer on real widgets (offscreen): a PDF made here with known words at known places is
// opened, paged, zoomed, searched, selected and pointed at; text, code and mail are shown and highlighted.

#include "tests/ui/test_pdf.h"
#include "ui/viewer/document_viewer.h"
#include "ui/viewer/mail_view.h"
#include "ui/viewer/pdf_view.h"
#include "ui/viewer/text_view.h"

#include <QApplication>
#include <QClipboard>
#include <QFontMetricsF>
#include <QLineEdit>
#include <QPainter>
#include <QPdfWriter>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBlock>
#include <QTextDocument>
#include <QTextLayout>
#include <QToolBar>

using lectern::ui::DocumentViewer;
using lectern::ui::Location;
using lectern::ui::PdfView;
using namespace lectern::ui::testing;

namespace {

bool waitRendered(PdfView* view, int page) {
    return QTest::qWaitFor([&] { return view->isRendered(page); }, 10000);
}

// Counts pixels of `image` inside `rect` darker than mid-grey: text drawn there.
int darkPixels(const QImage& image, const QRect& rect) {
    int dark = 0;
    for (int y = std::max(0, rect.top()); y <= std::min(image.height() - 1, rect.bottom()); ++y)
        for (int x = std::max(0, rect.left()); x <= std::min(image.width() - 1, rect.right()); ++x)
            if (qGray(image.pixel(x, y)) < 100) ++dark;
    return dark;
}

void expectNear(const QRectF& actual, const QRectF& expected, double tolerance) {
    QVERIFY2(std::abs(actual.left() - expected.left()) <= tolerance &&
                 std::abs(actual.right() - expected.right()) <= tolerance &&
                 std::abs(actual.top() - expected.top()) <= tolerance &&
                 std::abs(actual.bottom() - expected.bottom()) <= tolerance,
             qPrintable(QStringLiteral("got (%1,%2 %3x%4), expected (%5,%6 %7x%8) within %9 px")
                            .arg(actual.x())
                            .arg(actual.y())
                            .arg(actual.width())
                            .arg(actual.height())
                            .arg(expected.x())
                            .arg(expected.y())
                            .arg(expected.width())
                            .arg(expected.height())
                            .arg(tolerance)));
}

} // namespace

class ViewerTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString pdf_;

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        pdf_ = makePdf(dir_.path());
    }

    void opensPagesAndNavigates() {
        DocumentViewer viewer;
        viewer.resize(900, 700);
        viewer.show();
        QApplication::setActiveWindow(&viewer); // shortcuts go to the active window only
        QVERIFY(QTest::qWaitForWindowActive(&viewer));
        QVERIFY(viewer.openFile(pdf_).ok());
        PdfView* view = viewer.pdfView();
        QVERIFY(viewer.isPdf());
        QCOMPARE(view->pageCount(), 3);
        QCOMPARE(view->pageSize(1), kPageSize);
        QCOMPARE(viewer.currentPage(), 1);
        QVERIFY(waitRendered(view, 1));

        // The rendered page shows the first line's text where the document put it.
        const QRectF word = view->mapFromPage(1, expectedRect(kWords[0], QStringLiteral("Lectern")));
        const QImage shot = view->viewport()->grab().toImage();
        QVERIFY(darkPixels(shot, word.toAlignedRect()) > 20);
        QCOMPARE(darkPixels(shot, word.translated(0, word.height() * 3).toAlignedRect()), 0);

        view->goToPage(3);
        QCOMPARE(view->currentPage(), 3);
        QVERIFY(waitRendered(view, 3));
        view->setFocus();
        QTest::keySequence(view, QKeySequence(Qt::CTRL | Qt::Key_PageUp));
        QCOMPARE(view->currentPage(), 2);
    }

    void zoomsAndFits() {
        DocumentViewer viewer;
        viewer.resize(900, 700);
        viewer.show();
        QApplication::setActiveWindow(&viewer); // shortcuts go to the active window only
        QVERIFY(QTest::qWaitForWindowActive(&viewer));
        QVERIFY(viewer.openFile(pdf_).ok());
        PdfView* view = viewer.pdfView();
        view->setFit(PdfView::Fit::Width);
        // Fitting survives a resize, and the toolbar keeps saying so.
        viewer.resize(1000, 700);
        QTRY_VERIFY(std::abs(view->mapFromPage(1, QRectF(QPointF(), kPageSize)).width() -
                             (view->viewport()->width() - 24)) <= 1.0);
        QCOMPARE(view->fit(), PdfView::Fit::Width);
        QVERIFY(viewer.findChild<QToolBar*>()->actions().size() > 0);
        for (QAction* action : viewer.findChild<QToolBar*>()->actions())
            if (action->text() == QLatin1String("Fit width")) QVERIFY(action->isChecked());
        const double fitted = view->pixelsPerPoint();
        QVERIFY(std::abs(view->mapFromPage(1, QRectF(QPointF(), kPageSize)).width() -
                         (view->viewport()->width() - 24)) <= 1.0);

        view->setZoom(1.0);
        view->setFocus();
        QTest::keySequence(&viewer, QKeySequence(Qt::CTRL | Qt::Key_Equal));
        QVERIFY(view->zoom() > 1.0);
        QCOMPARE(view->fit(), PdfView::Fit::None);
        QTest::keySequence(&viewer, QKeySequence(Qt::CTRL | Qt::Key_0));
        QCOMPARE(view->zoom(), 1.0);
        QTest::keySequence(&viewer, QKeySequence(Qt::CTRL | Qt::Key_Minus));
        QVERIFY(view->zoom() < 1.0);

        view->setFit(PdfView::Fit::Page);
        const QRectF page = view->mapFromPage(view->currentPage(), QRectF(QPointF(), kPageSize));
        QVERIFY(page.height() <= view->viewport()->height() - 23);
        QVERIFY(page.top() >= 0);
        QVERIFY(view->pixelsPerPoint() < fitted);
        QVERIFY(waitRendered(view, view->currentPage()));
    }

    void findHighlightsTheWordWhereItIs() {
        DocumentViewer viewer;
        viewer.resize(900, 700);
        viewer.show();
        QApplication::setActiveWindow(&viewer); // shortcuts go to the active window only
        QVERIFY(QTest::qWaitForWindowActive(&viewer));
        QVERIFY(viewer.openFile(pdf_).ok());
        PdfView* view = viewer.pdfView();
        view->setZoom(1.5);

        QSignalSpy finished(view, &PdfView::findFinished);
        QTest::keySequence(&viewer, QKeySequence::Find);
        QVERIFY(viewer.findField()->hasFocus());
        QTest::keyClicks(viewer.findField(), QStringLiteral("NEEDLE"));
        QVERIFY(finished.wait(10000) || !finished.isEmpty());
        QCOMPARE(finished.last().first().toInt(), 1);
        QCOMPARE(view->currentMatch(), 0);
        const PdfView::Match match = view->matches().first();
        QCOMPARE(match.page, 2);
        QCOMPARE(view->currentPage(), 2);

        // The highlight is where the word was drawn, to within a pixel at this zoom.
        const double ppp = view->pixelsPerPoint();
        const QRectF expected = expectedRect(kWords[1], QStringLiteral("needle"));
        const QRectF shown = view->mapFromPage(2, match.rect);
        const QRectF want = view->mapFromPage(2, expected);
        QVERIFY(std::abs(shown.left() - want.left()) <= 1.0);
        QVERIFY(std::abs(shown.right() - want.right()) <= 1.0);
        QVERIFY(std::abs(match.rect.width() * ppp - expected.width() * ppp) <= 1.0);
        qInfo("find highlight vs drawn word at %.0f%%: left %+.2f px, right %+.2f px, top %+.2f px, bottom "
              "%+.2f px",
              view->zoom() * 100, shown.left() - want.left(), shown.right() - want.right(),
              shown.top() - want.top(), shown.bottom() - want.bottom());
        expectNear(shown, want, 1.0);
        QVERIFY(view->viewport()->rect().contains(shown.toAlignedRect()));

        // The highlight is painted: the match's area is tinted orange, not plain white.
        QVERIFY(waitRendered(view, 2));
        const QImage shot = view->viewport()->grab().toImage();
        const QRect area = shown.toAlignedRect().adjusted(1, 1, -1, -1);
        int tinted = 0;
        for (int x = area.left(); x <= area.right(); ++x) {
            const QColor c = shot.pixelColor(x, area.top() + 1);
            if (c.red() > 200 && c.blue() < 180) ++tinted;
        }
        QVERIFY(tinted > area.width() / 2);

        // Next wraps around a single match; a word that is not there finds nothing.
        QTest::keyClick(viewer.findField(), Qt::Key_Return);
        QCOMPARE(view->currentMatch(), 0);
        viewer.findField()->setText(QStringLiteral("absent-word"));
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.last().first().toInt(), 0);
        QVERIFY(view->matches().isEmpty());
    }

    void showLocationScrollsToTheHighlight() {
        DocumentViewer viewer;
        viewer.resize(700, 500);
        viewer.show();
        QApplication::setActiveWindow(&viewer); // shortcuts go to the active window only
        QVERIFY(QTest::qWaitForWindowActive(&viewer));
        const QRectF quote = expectedRect(kWords[2], QStringLiteral("passage"));
        QVERIFY(viewer.showLocation({pdf_, 3, {quote}, {}}).ok());
        PdfView* view = viewer.pdfView();
        QCOMPARE(viewer.currentPath(), QFileInfo(pdf_).absoluteFilePath());
        QCOMPARE(view->locationPage(), 3);
        QCOMPARE(view->locationRects(), QList<QRectF>{quote});
        QCOMPARE(view->currentPage(), 3);
        const QRectF shown = view->mapFromPage(3, quote);
        QVERIFY(view->viewport()->rect().contains(shown.toAlignedRect()));
        // Centred vertically, to the pixel.
        QVERIFY(std::abs(shown.center().y() - view->viewport()->height() / 2.0) <= 1.0);
        QVERIFY(waitRendered(view, 3));
        const QImage shot = view->viewport()->grab().toImage();
        QVERIFY(darkPixels(shot, shown.toAlignedRect()) > 20); // the quoted word is under the box
    }

    void selectsTextWithTheMouseAndCopies() {
        DocumentViewer viewer;
        viewer.resize(900, 700);
        viewer.show();
        QApplication::setActiveWindow(&viewer); // shortcuts go to the active window only
        QVERIFY(QTest::qWaitForWindowActive(&viewer));
        QVERIFY(viewer.showLocation({pdf_, 2, {}, {}}).ok());
        PdfView* view = viewer.pdfView();
        const QPoint from =
            view->mapFromPage(2, expectedRect(kWords[1], QStringLiteral("the"))).center().toPoint();
        const QPoint to =
            view->mapFromPage(2, expectedRect(kWords[1], QStringLiteral("needle"))).center().toPoint();
        QTest::mousePress(view->viewport(), Qt::LeftButton, {}, from);
        QTest::mouseMove(view->viewport(), to);
        QTest::mouseRelease(view->viewport(), Qt::LeftButton, {}, to);
        QCOMPARE(view->selectedText(), QStringLiteral("the needle"));
        QTest::keySequence(view, QKeySequence::Copy);
        QCOMPARE(QApplication::clipboard()->text(), QStringLiteral("the needle"));

        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, from);
        QVERIFY(view->selectedText().isEmpty());
    }

    void codeIsHighlightedAndRangesShown() {
        const QString path = dir_.path() + QStringLiteral("/sample.cpp");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("// sample\nint main() {\n    return answer(42);\n}\n");
        file.close();
        DocumentViewer viewer;
        viewer.resize(700, 500);
        viewer.show();
        QVERIFY(viewer.openFile(path).ok());
        QVERIFY(!viewer.isPdf());
        lectern::ui::TextView* view = viewer.textView();
        QCOMPARE(view->syntaxName(), QStringLiteral("C++"));
        // The highlighter gave the comment and the keyword their own formats.
        const QTextBlock comment = view->document()->findBlockByNumber(0);
        QVERIFY(!comment.layout()->formats().isEmpty());

        const qsizetype at = view->toPlainText().indexOf(QStringLiteral("answer"));
        QVERIFY(viewer.showLocation({QFileInfo(path).absoluteFilePath(), 1, {}, {at, at + 6}}).ok());
        QCOMPARE(view->highlightedRange().start, at);
        QCOMPARE(view->highlightedRange().end, at + 6);
        QCOMPARE(view->textCursor().position(), int(at));
        bool found = false;
        for (const QTextEdit::ExtraSelection& s : view->extraSelections())
            found |= s.cursor.selectedText() == QLatin1String("answer");
        QVERIFY(found);

        QSignalSpy finished(view, &lectern::ui::TextView::findFinished);
        viewer.findField()->setText(QStringLiteral("return"));
        QCOMPARE(finished.last().first().toInt(), 1);
        QCOMPARE(view->matchRange(0).start, view->toPlainText().indexOf(QStringLiteral("return")));
    }

    void mailShowsHeadersAboveTheBody() {
        lectern::importers::Document mail;
        mail.path = QStringLiteral("/mail/box.mbox#1");
        mail.format = QStringLiteral("email");
        mail.title = QStringLiteral("Quarterly numbers");
        lectern::importers::Page page;
        page.text =
            QStringLiteral("From: Ana <ana@example.org>\nTo: Bo <bo@example.org>\nDate: Mon, 2 Mar 2026 "
                           "10:00:00 +0100\nSubject: Quarterly numbers\n\nThe totals are attached.\n");
        mail.pages.append(page);
        DocumentViewer viewer;
        viewer.resize(700, 500);
        viewer.show();
        QVERIFY(viewer.openDocument(mail).ok());
        lectern::ui::MailView* view = viewer.mailView();
        QCOMPARE(view->headers().size(), 4);
        QCOMPARE(view->headers()[0],
                 qMakePair(QStringLiteral("From"), QStringLiteral("Ana <ana@example.org>")));
        QCOMPARE(view->headers()[3].second, QStringLiteral("Quarterly numbers"));
        QCOMPARE(view->body()->toPlainText(), QStringLiteral("The totals are attached.\n"));

        // Ranges are in the page's text; the viewer maps them into the body.
        const qsizetype at = page.text.indexOf(QStringLiteral("totals"));
        QVERIFY(viewer.showLocation({mail.path, 1, {}, {at, at + 6}}).ok());
        const auto range = view->body()->highlightedRange();
        QCOMPARE(view->body()->toPlainText().mid(range.start, range.end - range.start),
                 QStringLiteral("totals"));
    }

    void badFilesAreRefusedPlainly() {
        DocumentViewer viewer;
        QSignalSpy failed(&viewer, &DocumentViewer::failed);
        auto missing = viewer.openFile(dir_.path() + QStringLiteral("/missing.pdf"));
        QVERIFY(!missing.ok());
        QVERIFY(QString::fromStdString(missing.error()).contains(QStringLiteral("missing.pdf")));

        const QString broken = dir_.path() + QStringLiteral("/broken.pdf");
        QFile file(broken);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("%PDF-1.7\nthis is not really a PDF\n");
        file.close();
        auto opened = viewer.openFile(broken);
        QVERIFY(!opened.ok());
        QVERIFY(QString::fromStdString(opened.error()).contains(QStringLiteral("not a PDF")));

        const QString binary = dir_.path() + QStringLiteral("/blob.bin");
        QFile blob(binary);
        QVERIFY(blob.open(QIODevice::WriteOnly));
        blob.write(QByteArray("\x01\x02\0\0binary", 10));
        blob.close();
        QVERIFY(!viewer.openFile(binary).ok());
        QCOMPARE(failed.size(), 3);
        QVERIFY(!viewer.isPdf());
    }

    void everyControlHasAnAccessibleName() {
        DocumentViewer viewer;
        viewer.show();
        QVERIFY(viewer.openFile(pdf_).ok());
        for (QWidget* widget : viewer.findChildren<QWidget*>()) {
            // Qt's own parts (a spin box's editor, a scroll area's viewport) speak through their owner.
            if (!widget->isVisible() || widget->focusPolicy() == Qt::NoFocus ||
                widget->objectName().startsWith(QLatin1String("qt_")))
                continue;
            QVERIFY2(!widget->accessibleName().isEmpty(), widget->metaObject()->className());
        }
    }
};

QTEST_MAIN(ViewerTest)
#include "viewer_test.moc"
