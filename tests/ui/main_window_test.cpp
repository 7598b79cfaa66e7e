// The main window on real widgets (offscreen): three panes, named for assistive technology, and a
// control that cannot work yet is disabled rather than pretending.

#include "ui/main_window.h"

#include <QPushButton>
#include <QSplitter>
#include <QTemporaryDir>
#include <QTest>

class MainWindowTest : public QObject {
    Q_OBJECT
private slots:
    void showsThreePanesInOrder() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto profile = lectern::Profile::open(dir.path());
        QVERIFY(profile.ok());
        lectern::ui::MainWindow window(*profile);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QCOMPARE(window.windowTitle(), QStringLiteral("Lectern"));

        auto* splitter = window.findChild<QSplitter*>(QStringLiteral("mainSplitter"));
        QVERIFY(splitter);
        QCOMPARE(splitter->count(), 3);
        QCOMPARE(splitter->widget(0), window.corpusPane());
        QCOMPARE(splitter->widget(1), window.viewerPane());
        QCOMPARE(splitter->widget(2), window.conversationPane());
        for (QWidget* pane : {window.corpusPane(), window.viewerPane(), window.conversationPane()}) {
            QVERIFY(pane->isVisible());
            QVERIFY(!pane->accessibleName().isEmpty());
            QVERIFY(pane->width() > 100);
        }
    }

    void askIsDisabledWithoutAModel() {
        QTemporaryDir dir;
        auto profile = lectern::Profile::open(dir.path());
        QVERIFY(profile.ok());
        lectern::ui::MainWindow window(*profile);
        auto* ask = window.findChild<QPushButton*>(QStringLiteral("askButton"));
        QVERIFY(ask);
        QVERIFY(!ask->isEnabled());
        QVERIFY(!ask->toolTip().isEmpty());
    }

    void unusableProfileIsRefused() {
        auto profile = lectern::Profile::open(QStringLiteral("/proc/lectern-cannot-exist"));
        QVERIFY(!profile.ok());
        QVERIFY(QString::fromStdString(profile.error()).contains(QStringLiteral("profile directory")));
    }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
