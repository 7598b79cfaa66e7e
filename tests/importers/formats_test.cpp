// Reflowable formats: text encodings, Markdown, code, CSV, HTML (including hostile nesting), DOCX, ODT,
// e-mail with attachments, mailboxes.

#include "fixtures.h"

#include <QElapsedTimer>
#include <QStringEncoder>
#include <QTest>

using namespace lectern::importers;

namespace {

QString textOf(const Document* document) {
    return document ? document->pages.value(0).text : QString();
}

QByteArray mimeMail() {
    const QByteArray attachedDocx = fixtures::docx({QStringLiteral("Attached draft paragraph.")},
                                                   QStringLiteral("Draft"), QStringLiteral("A"));
    return "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <jm@example.com>\r\n"
           "To: counsel@example.com\r\n"
           "Subject: =?ISO-8859-1?Q?Vertrag_f=FCr?= review\r\n"
           "Date: Tue, 05 Mar 2024 09:30:00 +0100\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
           "\r\n"
           "This is a multi-part message.\r\n"
           "--outer\r\n"
           "Content-Type: multipart/alternative; boundary=inner\r\n"
           "\r\n"
           "--inner\r\n"
           "Content-Type: text/plain; charset=iso-8859-1\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n"
           "\r\n"
           "Please review the caf=E9 lease by Friday. This line is long and soft=\r\n"
           "-wrapped.\r\n"
           "--inner\r\n"
           "Content-Type: text/html; charset=utf-8\r\n"
           "\r\n"
           "<p>HTML version should not be used</p>\r\n"
           "--inner--\r\n"
           "--outer\r\n"
           "Content-Type: image/png\r\n"
           "Content-ID: <logo>\r\n"
           "Content-Disposition: inline\r\n"
           "Content-Transfer-Encoding: base64\r\n"
           "\r\n"
           "iVBORw0KGgoAAAANSUhEUg==\r\n"
           "--outer\r\n"
           "Content-Type: text/plain; name=\"notes.txt\"\r\n"
           "Content-Disposition: attachment; filename=\"notes.txt\"\r\n"
           "Content-Transfer-Encoding: base64\r\n"
           "\r\n" +
           QByteArray("Attachment notes: clause 7 is disputed.\n").toBase64() +
           "\r\n"
           "--outer\r\n"
           "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n"
           "Content-Disposition: attachment; filename=\"draft.docx\"\r\n"
           "Content-Transfer-Encoding: base64\r\n"
           "\r\n" +
           attachedDocx.toBase64() +
           "\r\n"
           "--outer--\r\n";
}

} // namespace

class FormatsTest : public QObject {
    Q_OBJECT

private slots:
    void textEncodings() {
        const QString expected = QStringLiteral("Caf\u00e9 na\u00efve \u2014 r\u00e9sum\u00e9");
        QCOMPARE(textOf(fixtures::importBytes(QStringLiteral("u8.txt"), expected.toUtf8())->document()),
                 expected);
        QCOMPARE(textOf(fixtures::importBytes(QStringLiteral("bom.txt"), "\xEF\xBB\xBF" + expected.toUtf8())
                            ->document()),
                 expected);
        QStringEncoder utf16(QStringConverter::Utf16LE);
        const QByteArray utf16Bytes = "\xFF\xFE" + QByteArray(utf16(expected));
        QCOMPARE(textOf(fixtures::importBytes(QStringLiteral("u16.txt"), utf16Bytes)->document()), expected);
        // Invalid UTF-8 (a Latin-1 file): read as Windows-1252, never dropped or mangled into U+FFFD.
        const auto latin =
            fixtures::importBytes(QStringLiteral("latin.txt"), QByteArray("Caf\xE9 \x93quoted\x94\r\nnext"));
        QCOMPARE(textOf(latin->document()), QStringLiteral("Caf\u00e9 \u201cquoted\u201d\nnext"));
        QCOMPARE(latin->document()->format, QStringLiteral("text"));
    }

    void markdownCodeAndCsv() {
        const auto markdown =
            fixtures::importBytes(QStringLiteral("notes.md"), "# Case notes\n\nSome *text*.\n");
        QCOMPARE(markdown->document()->format, QStringLiteral("markdown"));
        QCOMPARE(markdown->document()->title, QStringLiteral("Case notes"));

        const auto code = fixtures::importBytes(QStringLiteral("main.cpp"), "int main() { return 0; }\n");
        QCOMPARE(code->document()->format, QStringLiteral("code"));
        QCOMPARE(code->document()->language, QStringLiteral("C++"));
        const auto config = fixtures::importBytes(QStringLiteral("settings.yaml"), "key: value\n");
        QCOMPARE(config->document()->language, QStringLiteral("YAML"));

        const auto csv = fixtures::importBytes(QStringLiteral("ledger.csv"), "date,amount\n2024-01-01,100\n");
        QCOMPARE(csv->document()->format, QStringLiteral("csv"));
        QCOMPARE(textOf(csv->document()), QStringLiteral("date,amount\n2024-01-01,100\n"));
    }

    void html() {
        const auto page = fixtures::importBytes(
            QStringLiteral("page.html"),
            "<html><head><title>The &amp; Title</title><style>p{color:red}</style>"
            "<script>var x = '<p>no</p>';</script></head><body><h1>Heading</h1><p>First   para&nbsp;with "
            "&lt;tags&gt; &#x263A; &#169;</p><!-- a comment --><div>Second<br>line</div></body></html>");
        QVERIFY(page->document());
        QCOMPARE(page->document()->title, QStringLiteral("The & Title"));
        QCOMPARE(textOf(page->document()),
                 QStringLiteral("Heading\n\nFirst para\u00a0with <tags> \u263a \u00a9\n\nSecond\nline"));
    }

    void deeplyNestedHtmlDoesNotRecurse() {
        QByteArray html;
        const int depth = 100000;
        html.reserve(depth * 11 + 16);
        for (int i = 0; i < depth; ++i) html += "<div><span>";
        html += "deep text";
        for (int i = 0; i < depth; ++i) html += "</span></div>";
        QElapsedTimer timer;
        timer.start();
        const auto deep = fixtures::importBytes(QStringLiteral("deep.html"), html);
        QVERIFY(deep->document());
        QCOMPARE(textOf(deep->document()), QStringLiteral("deep text"));
        QVERIFY(timer.elapsed() < 20000);
    }

    void docxAndOdt() {
        const auto word =
            fixtures::importBytes(QStringLiteral("memo.docx"),
                                  fixtures::docx({QStringLiteral("First paragraph of the memo."),
                                                  QStringLiteral("Second & last one.")},
                                                 QStringLiteral("Memo"), QStringLiteral("Ann Author")));
        const Document* document = word->document();
        QVERIFY(document);
        QCOMPARE(document->format, QStringLiteral("docx"));
        QCOMPARE(document->title, QStringLiteral("Memo"));
        QCOMPARE(document->author, QStringLiteral("Ann Author"));
        QCOMPARE(document->created, QDateTime(QDate(2024, 3, 1), QTime(10, 0), Qt::UTC));
        QCOMPARE(textOf(document), QStringLiteral("First paragraph of the memo.\n\nSecond & last one."));
        QCOMPARE(document->passages.size(), 1);
        QCOMPARE(document->passages[0].text, textOf(document));
        QVERIFY(document->passages[0].boxes.isEmpty());

        const auto open = fixtures::importBytes(
            QStringLiteral("minutes.odt"),
            fixtures::odt({QStringLiteral("Minutes  of the meeting."), QStringLiteral("Adjourned.")},
                          QStringLiteral("Minutes")));
        QVERIFY(open->document());
        QCOMPARE(open->document()->title, QStringLiteral("Minutes"));
        QCOMPARE(textOf(open->document()), QStringLiteral("Minutes  of the meeting.\n\nAdjourned."));
    }

    void brokenOfficeFiles() {
        ImportOptions options;
        options.maxExpandedBytes = 1 << 20;
        const QByteArray bomb =
            fixtures::zipArchive({{QStringLiteral("word/document.xml"), QByteArray(16 << 20, ' ')}});
        QVERIFY(bomb.size() < 100000); // tiny on disk, 16 MB expanded
        const auto bombed = fixtures::importBytes(QStringLiteral("bomb.docx"), bomb, options);
        QVERIFY(bombed->failure());
        QCOMPARE(bombed->failure()->kind, FailureKind::TooLarge);
        QVERIFY(bombed->failure()->message.contains(QStringLiteral("zip bomb")));

        const auto notZip = fixtures::importBytes(QStringLiteral("fake.docx"), "just some text, not a zip");
        QCOMPARE(notZip->failure()->kind, FailureKind::Corrupt);
        QVERIFY(notZip->failure()->message.contains(QStringLiteral("not a ZIP archive")));

        const auto badXml = fixtures::importBytes(
            QStringLiteral("bad.docx"),
            fixtures::zipArchive({{QStringLiteral("word/document.xml"), "<w:document><w:p>"}}));
        QCOMPARE(badXml->failure()->kind, FailureKind::Corrupt);
        QVERIFY(badXml->failure()->message.contains(QStringLiteral("XML")));
    }

    void emailWithAttachments() {
        const auto mail = fixtures::importBytes(QStringLiteral("message.eml"), mimeMail());
        const Document* message = mail->document();
        QVERIFY(message);
        QCOMPARE(message->format, QStringLiteral("email"));
        QCOMPARE(message->title, QStringLiteral("Vertrag f\u00fcr review"));
        QCOMPARE(message->author, QStringLiteral("J\u00fcrgen M\u00fcller <jm@example.com>"));
        QCOMPARE(message->created, QDateTime(QDate(2024, 3, 5), QTime(8, 30), Qt::UTC));
        const QString text = textOf(message);
        QVERIFY2(text.startsWith(QStringLiteral("From: J\u00fcrgen M\u00fcller <jm@example.com>\n")),
                 qPrintable(text));
        QVERIFY2(
            text.contains(QStringLiteral("Please review the caf\u00e9 lease by Friday. This line is long and "
                                         "soft-wrapped.")),
            qPrintable(text));
        QVERIFY(!text.contains(QStringLiteral("HTML version")));
        QCOMPARE(mail->report.files[0].status, FileStatus::Imported);
        QCOMPARE(mail->sink.documents.size(), 3); // the inline logo is neither a document nor a failure
        QVERIFY(mail->sink.failures.isEmpty());

        const Document notes = mail->sink.documents.value(mail->path + QStringLiteral("#1"));
        QCOMPARE(notes.parentPath, mail->path);
        QCOMPARE(notes.title, QStringLiteral("notes"));
        QCOMPARE(notes.pages.value(0).text, QStringLiteral("Attachment notes: clause 7 is disputed.\n"));
        QCOMPARE(notes.passages.value(0).id.left(17), notes.contentHash.left(16) + QLatin1Char(':'));

        const Document draft = mail->sink.documents.value(mail->path + QStringLiteral("#2"));
        QCOMPARE(draft.format, QStringLiteral("docx"));
        QCOMPARE(draft.parentPath, mail->path);
        QCOMPARE(draft.pages.value(0).text, QStringLiteral("Attached draft paragraph."));
    }

    void mailbox() {
        const QByteArray mbox = "From alice@example.com Mon Jan  1 00:00:00 2024\n"
                                "From: alice@example.com\nSubject: One\n\nFirst body.\n>From the archive.\n\n"
                                "From bob@example.com Mon Jan  1 00:00:01 2024\n"
                                "From: bob@example.com\nSubject: Two\n\nSecond body.\n";
        const auto box = fixtures::importBytes(QStringLiteral("archive.mbox"), mbox);
        QCOMPARE(box->report.files[0].status, FileStatus::Imported);
        QCOMPARE(box->sink.documents.size(), 2);
        const Document first = box->sink.documents.value(box->path + QStringLiteral("#1"));
        QCOMPARE(first.title, QStringLiteral("One"));
        QCOMPARE(first.parentPath, box->path);
        QVERIFY(first.pages.value(0).text.contains(QStringLiteral("First body.\nFrom the archive.")));
        QCOMPARE(box->sink.documents.value(box->path + QStringLiteral("#2")).title, QStringLiteral("Two"));
    }
};

QTEST_MAIN(FormatsTest)
#include "formats_test.moc"
