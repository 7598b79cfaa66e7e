// File ▸ Export on real widgets (offscreen): the conversation pane's answers, one with citation chips
// (one verified, one flagged), are exported through the main window's export slots and the Markdown and
// PDF are read back (the PDF with Poppler).

#include "ui/conversation/conversation_view.h"
#include "ui/main_window.h"

#include <QAction>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <poppler-qt6.h>

using namespace lectern::ui;

namespace {

AnswerViewModel leaseAnswer() {
    AnswerViewModel model;
    model.question = QStringLiteral("When does the lease end?");
    model.markdown = QStringLiteral("The lease ends on **31 March 2027**. It may be renewed once.");
    CitationChip verified;
    verified.number = 1;
    verified.quote = QStringLiteral("ending on 31 March 2027");
    verified.documentTitle = QStringLiteral("Commercial Lease Agreement");
    verified.location = {QStringLiteral("/corpus/lease-agreement.md"), 2, {}, {}};
    verified.verification = QStringLiteral("exact");
    verified.answerOffset = model.markdown.indexOf(QLatin1Char('.')) + 1;
    CitationChip flagged;
    flagged.number = 2;
    flagged.quote = QStringLiteral("renewed twice");
    flagged.documentTitle = QStringLiteral("Commercial Lease Agreement");
    flagged.location = {QStringLiteral("/corpus/lease-agreement.md"), 3, {}, {}};
    flagged.flagged = true;
    flagged.flagReason = QStringLiteral("the quoted words are not in passage P4");
    flagged.verification = QStringLiteral("not-found");
    flagged.answerOffset = model.markdown.size();
    model.citations = {verified, flagged};
    return model;
}

QString readAll(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

QString pdfText(const QString& path) {
    std::unique_ptr<Poppler::Document> document = Poppler::Document::load(path);
    if (!document || document->isLocked()) return {};
    QString text;
    for (int i = 0; i < document->numPages(); ++i) text += document->page(i)->text(QRectF()) + u'\n';
    return text.simplified();
}

} // namespace

class ExportTest : public QObject {
    Q_OBJECT
private slots:
    void exportsAnswersWithFootnotes() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto profile = lectern::Profile::open(dir.path() + QStringLiteral("/profile"));
        QVERIFY(profile.ok());
        MainWindow window(*profile);
        window.show();
        for (const char* name : {"exportAnswerAction", "exportConversationAction"}) {
            auto* action = window.findChild<QAction*>(QLatin1String(name));
            QVERIFY(action);
            QVERIFY(!action->shortcut().isEmpty());
        }

        const QString markdownPath = dir.path() + QStringLiteral("/answer.md");
        auto nothing = window.exportConversation(markdownPath);
        QVERIFY(!nothing.ok());
        QVERIFY(QString::fromStdString(nothing.error()).contains(QStringLiteral("no answer")));
        QVERIFY(!QFile::exists(markdownPath));

        AnswerViewModel first;
        first.question = QStringLiteral("Who is the tenant?");
        first.markdown = QStringLiteral("Harbour Books Ltd.");
        window.conversation()->addAnswer(first);
        window.conversation()->addAnswer(leaseAnswer());

        QVERIFY(window.exportLastAnswer(markdownPath).ok());
        const QString answer = readAll(markdownPath);
        QVERIFY2(answer.contains(QStringLiteral("> When does the lease end?")), qPrintable(answer));
        QVERIFY(!answer.contains(QStringLiteral("Who is the tenant?")));
        QVERIFY(answer.contains(QStringLiteral("**31 March 2027**.[^1] It may be renewed once.[^2]")));
        QVERIFY(answer.contains(
            QStringLiteral("[^1]: **Commercial Lease Agreement** (/corpus/lease-agreement.md), "
                           "page 2: “ending on 31 March 2027” — verified (exact)")));
        QVERIFY(answer.contains(
            QStringLiteral("[^2]: **Commercial Lease Agreement** (/corpus/lease-agreement.md), "
                           "page 3: “renewed twice” — **not verified** (the quote was not "
                           "found in the cited passage)")));

        const QString conversationPath = dir.path() + QStringLiteral("/conversation.md");
        QVERIFY(window.exportConversation(conversationPath).ok());
        const QString conversation = readAll(conversationPath);
        QVERIFY(conversation.contains(QStringLiteral("> Who is the tenant?")));
        QVERIFY(conversation.indexOf(QStringLiteral("Who is the tenant?")) <
                conversation.indexOf(QStringLiteral("When does the lease end?")));

        const QString pdfPath = dir.path() + QStringLiteral("/conversation.PDF");
        QVERIFY(window.exportConversation(pdfPath).ok());
        const QString pdf = pdfText(pdfPath);
        QVERIFY2(pdf.contains(QStringLiteral("Who is the tenant?")), qPrintable(pdf));
        QVERIFY2(pdf.contains(QStringLiteral("renewed twice")), qPrintable(pdf));
        QVERIFY2(pdf.contains(QStringLiteral("page 2")), qPrintable(pdf));

        auto refused = window.exportConversation(QStringLiteral("/proc/lectern-cannot-write/answer.md"));
        QVERIFY(!refused.ok());
        QVERIFY(
            QString::fromStdString(refused.error()).contains(QStringLiteral("/proc/lectern-cannot-write")));
    }
};

QTEST_MAIN(ExportTest)
#include "export_test.moc"
