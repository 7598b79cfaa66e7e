// "Compare two documents…" in the main window on real widgets (offscreen): the two sample leases are
// imported into a scratch profile, the action opens the dialog over the session's documents, and the
// chosen pair's redline shows its seven changes.

#include "app/store/store.h"
#include "ui/compare/compare_documents_dialog.h"
#include "ui/compare/redline_view.h"
#include "ui/corpus/corpus_panel.h"
#include "ui/main_window.h"

#include <QAction>
#include <QComboBox>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern::ui;

namespace {

QString sample(const char* name) {
    return QStringLiteral(LECTERN_SOURCE_DIR "/resources/sample-corpus/") + QLatin1String(name);
}

qint64 documentId(lectern::store::Store* store, qint64 session, const QString& path) {
    auto info = store->documentByPath(session, path);
    return info && *info ? (*info)->id : 0;
}

} // namespace

class CompareDocumentsTest : public QObject {
    Q_OBJECT
private slots:
    void showsTheRedlineOfTwoImportedLeases() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto profile = lectern::Profile::open(dir.path());
        QVERIFY(profile.ok());
        MainWindow window(*profile);
        window.show();
        QVERIFY(window.store());

        const QString original = sample("lease-agreement.md");
        const QString amended = sample("lease-agreement-amended.md");
        QSignalSpy finished(window.corpus(), &CorpusPanel::importFinished);
        QVERIFY(window.corpus()->importPaths({original, amended}));
        QVERIFY(finished.wait(60000));
        const qint64 session = window.corpus()->session();
        const qint64 left = documentId(window.store(), session, original);
        const qint64 right = documentId(window.store(), session, amended);
        QVERIFY(left != 0);
        QVERIFY(right != 0);

        auto* action = window.findChild<QAction*>(QStringLiteral("compareDocumentsAction"));
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
        action->trigger();
        CompareDocumentsDialog* dialog = window.compareDocumentsDialog();
        QVERIFY(dialog);
        QVERIFY(dialog->isVisible());
        QCOMPARE(dialog->leftPicker()->count(), 2);
        QVERIFY(!dialog->leftPicker()->accessibleName().isEmpty());
        QVERIFY(!dialog->rightPicker()->accessibleName().isEmpty());

        QVERIFY(dialog->compareDocuments(left, right));
        QCOMPARE(dialog->redline()->changeCount(), 7);
        QVERIFY(dialog->redline()->summary().contains(QStringLiteral("7 changes")));
        QVERIFY(dialog->message().isEmpty());

        // A document that is not in the session is refused in words, not compared.
        QVERIFY(!dialog->compareDocuments(left, right + 1000));
        QVERIFY(dialog->message().contains(QStringLiteral("import it first")));
    }
};

QTEST_MAIN(CompareDocumentsTest)
#include "compare_documents_test.moc"
