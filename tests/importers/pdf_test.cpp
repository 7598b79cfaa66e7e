// PDF import: text in reading order with word boxes at the places the fixtures drew them, hyphenation,
// running headers/footers, metadata and outline, /Rotate, OCR of a scanned page, passwords.

#include "fixtures.h"

#include <QBuffer>
#include <QFile>
#include <QFont>
#include <QPainter>
#include <QPdfWriter>
#include <QTest>

using namespace lectern::importers;
using fixtures::PlacedText;

namespace {

const WordBox* findWord(const Page& page, const QString& word) {
    for (const WordBox& box : page.words) {
        if (page.text.mid(box.range.start, box.range.end - box.range.start) == word) return &box;
    }
    return nullptr;
}

void checkPassageInvariants(const Document& document) {
    QVERIFY(!document.passages.isEmpty());
    for (qsizetype i = 0; i < document.passages.size(); ++i) {
        const Passage& passage = document.passages[i];
        QCOMPARE(passage.ordinal, int(i));
        QCOMPARE(passage.id, document.contentHash.left(16) + QLatin1Char(':') + QString::number(i));
        const Page& page = document.pages[passage.page - 1];
        QCOMPARE(page.number, passage.page);
        QVERIFY(passage.range.start >= 0 && passage.range.end <= page.text.size());
        QCOMPARE(passage.text, page.text.mid(passage.range.start, passage.range.end - passage.range.start));
    }
}

QByteArray encryptedFixture() {
    QFile file(QStringLiteral(LECTERN_TEST_DATA "/importers/encrypted.pdf"));
    if (!file.open(QIODevice::ReadOnly)) qFatal("missing fixture tests/data/importers/encrypted.pdf");
    return file.readAll();
}

} // namespace

class PdfTest : public QObject {
    Q_OBJECT

private slots:
    void wordsAtKnownPositions() {
        const auto imported =
            fixtures::importBytes(QStringLiteral("known.pdf"),
                                  fixtures::drawPdf({{{{72, 100}, 12, QStringLiteral("Alpha Beta Gamma")},
                                                      {{300, 400}, 20, QStringLiteral("Delta")}}}));
        const Document* document = imported->document();
        QVERIFY(document);
        QCOMPARE(document->format, QStringLiteral("pdf"));
        QCOMPARE(document->pages.size(), 1);
        const Page& page = document->pages[0];
        QCOMPARE(page.number, 1);
        QCOMPARE(page.size, QSizeF(612, 792));
        QVERIFY2(page.text.contains(QStringLiteral("Alpha Beta Gamma")), qPrintable(page.text));
        QVERIFY(page.text.indexOf(QStringLiteral("Alpha")) < page.text.indexOf(QStringLiteral("Delta")));
        QCOMPARE(page.words.size(), 4);
        const WordBox* alpha = findWord(page, QStringLiteral("Alpha"));
        QVERIFY(alpha);
        QVERIFY2(qAbs(alpha->rect.left() - 72) < 2, qPrintable(QString::number(alpha->rect.left())));
        QVERIFY(alpha->rect.top() < 100 && alpha->rect.top() > 85);
        QVERIFY(alpha->rect.bottom() > 98 && alpha->rect.bottom() < 105);
        const WordBox* delta = findWord(page, QStringLiteral("Delta"));
        QVERIFY(delta);
        QVERIFY(qAbs(delta->rect.left() - 300) < 2);
        QVERIFY(delta->rect.height() > alpha->rect.height() * 1.4);
        QVERIFY(!page.ocr);

        checkPassageInvariants(*document);
        const Passage& first = document->passages[0];
        QCOMPARE(first.page, 1);
        QVERIFY(first.text.startsWith(QStringLiteral("Alpha")));
        QVERIFY(!first.boxes.isEmpty());
        // One line-merged box spans the three words of the first line.
        QVERIFY(first.boxes[0].contains(alpha->rect.center()));
        QVERIFY(first.boxes[0].right() > findWord(page, QStringLiteral("Gamma"))->rect.center().x());
    }

    void hyphenationAtLineEndIsJoined() {
        const auto imported = fixtures::importBytes(
            QStringLiteral("hyphen.pdf"),
            fixtures::drawPdf({{{{72, 100}, 12, QStringLiteral("The quick exam-")},
                                {{72, 114}, 12, QStringLiteral("ple continues here.")}}}));
        const Document* document = imported->document();
        QVERIFY(document);
        const Page& page = document->pages[0];
        QVERIFY2(page.text.contains(QStringLiteral("quick example continues")), qPrintable(page.text));
        const WordBox* first = findWord(page, QStringLiteral("exam"));
        const WordBox* second = findWord(page, QStringLiteral("ple"));
        QVERIFY(first && second);
        QCOMPARE(first->range.end, second->range.start);
        QVERIFY(second->rect.top() > first->rect.bottom() - 2); // on the next line
        checkPassageInvariants(*document);
    }

    void multiColumnReadingOrder() {
        QList<PlacedText> texts;
        for (int line = 0; line < 12; ++line) {
            const double y = 100 + line * 16;
            texts.append({{50, y}, 11, QStringLiteral("Left column line %1 text.").arg(line)});
            texts.append({{330, y}, 11, QStringLiteral("Right column line %1 text.").arg(line)});
        }
        const auto imported =
            fixtures::importBytes(QStringLiteral("columns.pdf"), fixtures::drawPdf({texts}));
        const Document* document = imported->document();
        QVERIFY(document);
        const QString& text = document->pages[0].text;
        qsizetype previous = -1;
        for (int line = 0; line < 12; ++line) {
            const qsizetype at = text.indexOf(QStringLiteral("Left column line %1 text.").arg(line));
            QVERIFY2(at > previous, qPrintable(text));
            previous = at;
        }
        for (int line = 0; line < 12; ++line) {
            const qsizetype at = text.indexOf(QStringLiteral("Right column line %1 text.").arg(line));
            QVERIFY2(at > previous, qPrintable(text));
            previous = at;
        }
    }

    void runningHeadersAndFootersAreMarked() {
        QList<QList<PlacedText>> pages;
        for (int p = 1; p <= 4; ++p) {
            pages.append({{{72, 40}, 9, QStringLiteral("ACME Corp Confidential")},
                          {{72, 300}, 12, QStringLiteral("Body text of page %1 is here.").arg(p)},
                          {{280, 770}, 9, QStringLiteral("Page %1 of 4").arg(p)}});
        }
        const auto imported = fixtures::importBytes(QStringLiteral("headers.pdf"), fixtures::drawPdf(pages));
        const Document* document = imported->document();
        QVERIFY(document);
        QCOMPARE(document->pages.size(), 4);
        for (const Page& page : document->pages) {
            QVERIFY2(page.text.contains(QStringLiteral("Confidential")), qPrintable(page.text)); // kept
            QCOMPARE(page.repeated.size(), 2);
            const TextRange header = page.repeated[0];
            QCOMPARE(page.text.mid(header.start, header.end - header.start),
                     QStringLiteral("ACME Corp Confidential"));
            const TextRange footer = page.repeated[1];
            QCOMPARE(page.text.mid(footer.start, footer.end - footer.start),
                     QStringLiteral("Page %1 of 4").arg(page.number));
        }
        checkPassageInvariants(*document);
        QCOMPARE(document->passages.size(), 4);
        for (const Passage& passage : document->passages) {
            QVERIFY(!passage.text.contains(QStringLiteral("Confidential")));
            QCOMPARE(passage.text, QStringLiteral("Body text of page %1 is here.").arg(passage.page));
        }
    }

    void metadataOutlineAndRotatedPage() {
        fixtures::HandPdf pdf;
        pdf.title = QStringLiteral("Master Services Agreement");
        pdf.author = QStringLiteral("Jane Counsel");
        pdf.creationDate = QStringLiteral("D:20240131120000Z");
        pdf.pages.append({612, 792, 0, {{{72, 100}, 12, QStringLiteral("First page text.")}}});
        pdf.pages.append({612, 792, 90, {{{72, 100}, 12, QStringLiteral("Rotated text sample")}}});
        pdf.outline = {{QStringLiteral("Introduction"), 1}, {QStringLiteral("Schedule"), 2}};
        const auto imported = fixtures::importBytes(QStringLiteral("hand.pdf"), fixtures::writeHandPdf(pdf));
        const Document* document = imported->document();
        QVERIFY(document);
        QCOMPARE(document->title, pdf.title);
        QCOMPARE(document->author, pdf.author);
        QCOMPARE(document->created, QDateTime(QDate(2024, 1, 31), QTime(12, 0), Qt::UTC));
        QCOMPARE(document->outline.size(), 2);
        QCOMPARE(document->outline[0].title, QStringLiteral("Introduction"));
        QCOMPARE(document->outline[0].page, 1);
        QCOMPARE(document->outline[1].title, QStringLiteral("Schedule"));
        QCOMPARE(document->outline[1].page, 2);

        const Page& rotated = document->pages[1];
        QCOMPARE(rotated.size, QSizeF(792, 612)); // as displayed: landscape
        QVERIFY2(rotated.text.contains(QStringLiteral("Rotated text sample")), qPrintable(rotated.text));
        // Drawn left to right on the unrotated page, the line runs top to bottom when displayed turned a
        // quarter clockwise: the words stack vertically, inside the displayed page.
        const WordBox* first = findWord(rotated, QStringLiteral("Rotated"));
        const WordBox* last = findWord(rotated, QStringLiteral("sample"));
        QVERIFY(first && last);
        QVERIFY(first->rect.height() > first->rect.width());
        QVERIFY(last->rect.top() > first->rect.top());
        QVERIFY(QRectF(QPointF(0, 0), rotated.size).contains(last->rect));
        QVERIFY2(qAbs(first->rect.top() - 72) < 3, qPrintable(QString::number(first->rect.top())));
    }

    void scannedPageIsReadWithOcr() {
        QImage scan(1275, 1650, QImage::Format_RGB32); // Letter at 150 dpi
        scan.fill(Qt::white);
        {
            QPainter painter(&scan);
            QFont font(QStringLiteral("DejaVu Sans"));
            font.setPixelSize(40);
            painter.setFont(font);
            painter.setPen(Qt::black);
            painter.drawText(QPointF(150, 300), QStringLiteral("INVOICE NUMBER 12345"));
            painter.drawText(QPointF(150, 400), QStringLiteral("Total due within thirty days"));
        }
        const QByteArray pdf = fixtures::imagePdf(scan);

        ImportOptions off;
        off.ocr = OcrMode::Off;
        const auto withoutOcr = fixtures::importBytes(QStringLiteral("scan.pdf"), pdf, off);
        QVERIFY(withoutOcr->failure());
        QCOMPARE(withoutOcr->failure()->kind, FailureKind::Empty);
        QVERIFY(withoutOcr->failure()->message.contains(QStringLiteral("OCR is off")));

        const auto imported = fixtures::importBytes(QStringLiteral("scan.pdf"), pdf);
        const Document* document = imported->document();
        QVERIFY2(document, imported->failure() ? qPrintable(imported->failure()->message) : "no document");
        const Page& page = document->pages[0];
        QVERIFY(page.ocr);
        QVERIFY2(page.text.contains(QStringLiteral("INVOICE NUMBER 12345")), qPrintable(page.text));
        QVERIFY2(page.text.contains(QStringLiteral("thirty days")), qPrintable(page.text));
        const WordBox* invoice = findWord(page, QStringLiteral("INVOICE"));
        QVERIFY(invoice);
        // Drawn at x = 150 px, baseline 300 px at 150 dpi: 72 pt and 144 pt on the page.
        QVERIFY2(qAbs(invoice->rect.left() - 72) < 6, qPrintable(QString::number(invoice->rect.left())));
        QVERIFY2(qAbs(invoice->rect.bottom() - 144) < 6, qPrintable(QString::number(invoice->rect.bottom())));
        checkPassageInvariants(*document);
        QVERIFY(document->passages[0].ocr);
        QVERIFY(!document->passages[0].boxes.isEmpty());

        // A scan with a stamped Bates number in its text layer is still read with OCR.
        const auto stamped = fixtures::importBytes(QStringLiteral("stamped.pdf"),
                                                   fixtures::imagePdf(scan, QStringLiteral("ABC000123")));
        QVERIFY(stamped->document());
        QVERIFY(stamped->document()->pages[0].ocr);
        QVERIFY2(stamped->document()->pages[0].text.contains(QStringLiteral("INVOICE NUMBER 12345")),
                 qPrintable(stamped->document()->pages[0].text));

        ImportOptions missingLanguage;
        missingLanguage.ocrLanguage = QStringLiteral("xyz");
        const auto noLanguage = fixtures::importBytes(QStringLiteral("scan.pdf"), pdf, missingLanguage);
        QVERIFY(noLanguage->failure());
        QVERIFY2(noLanguage->failure()->message.contains(QStringLiteral("tesseract-ocr-xyz")),
                 qPrintable(noLanguage->failure()->message));

        // A text page and a scan, without the OCR language: imported, and the report says what was left out.
        QByteArray mixed;
        {
            QBuffer buffer(&mixed);
            buffer.open(QIODevice::WriteOnly);
            QPdfWriter writer(&buffer);
            writer.setResolution(72);
            writer.setPageSize(QPageSize(QPageSize::Letter));
            writer.setPageMargins(QMarginsF(0, 0, 0, 0));
            QPainter painter(&writer);
            painter.drawText(QPointF(72, 100), QStringLiteral("A page with a real text layer."));
            writer.newPage();
            painter.drawImage(QRectF(0, 0, 612, 792), scan);
        }
        const auto partial = fixtures::importBytes(QStringLiteral("mixed.pdf"), mixed, missingLanguage);
        QVERIFY(partial->document());
        QCOMPARE(partial->report.files[0].status, FileStatus::Imported);
        QVERIFY2(partial->report.files[0].error.contains(QStringLiteral("1 page(s)")),
                 qPrintable(partial->report.files[0].error));
    }

    void longDocumentsReadInParallelMatchSerial() {
        QList<QList<PlacedText>> pages;
        for (int p = 1; p <= 120; ++p)
            pages.append({{{72, 100}, 12, QStringLiteral("Page %1 says something specific.").arg(p)}});
        const QByteArray pdf = fixtures::drawPdf(pages);
        ImportOptions serial;
        serial.threads = 1;
        ImportOptions parallel;
        parallel.threads = 4;
        const auto one = fixtures::importBytes(QStringLiteral("long.pdf"), pdf, serial);
        const auto many = fixtures::importBytes(QStringLiteral("long.pdf"), pdf, parallel);
        QVERIFY(one->document() && many->document());
        QCOMPARE(many->document()->pages.size(), 120);
        for (int p = 0; p < 120; ++p) {
            QCOMPARE(many->document()->pages[p].number, p + 1);
            QCOMPARE(many->document()->pages[p].text,
                     QStringLiteral("Page %1 says something specific.").arg(p + 1));
            QCOMPARE(many->document()->pages[p].text, one->document()->pages[p].text);
        }
        QCOMPARE(many->document()->passages.size(), one->document()->passages.size());
    }

    void passwordProtected() {
        const QByteArray pdf = encryptedFixture();
        const auto locked = fixtures::importBytes(QStringLiteral("locked.pdf"), pdf);
        QVERIFY(locked->failure());
        QCOMPARE(locked->failure()->kind, FailureKind::NeedsPassword);
        QVERIFY(locked->failure()->message.contains(QStringLiteral("password")));
        QCOMPARE(locked->report.files[0].status, FileStatus::Failed);

        ImportOptions wrong;
        wrong.passwords = {QStringLiteral("wrong")};
        QCOMPARE(fixtures::importBytes(QStringLiteral("locked.pdf"), pdf, wrong)->failure()->kind,
                 FailureKind::NeedsPassword);

        ImportOptions right;
        right.passwords = {QStringLiteral("wrong"), QStringLiteral("lectern-secret")};
        const auto opened = fixtures::importBytes(QStringLiteral("locked.pdf"), pdf, right);
        QVERIFY(opened->document());
        QVERIFY2(opened->document()->pages[0].text.contains(QStringLiteral("Privileged and confidential")),
                 qPrintable(opened->document()->pages[0].text));
    }
};

QTEST_MAIN(PdfTest)
#include "pdf_test.moc"
