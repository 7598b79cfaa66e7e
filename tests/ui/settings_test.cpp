// The corpus cache settings: CacheSettings in the profile's settings file (defaults, round trip), the
// Settings dialog on real widgets (location, size, limit, Clear Cache, accessible names), and the main
// window applying what the dialog saves: Edit ▸ Settings (Ctrl+,), a lower limit evicting at once, a new
// location used by the asking side and read again after a restart.

#include "app/answers/corpus_cache.h"
#include "app/profile/cache_settings.h"
#include "app/store/store.h"
#include "ui/conversation/ask_controller.h"
#include "ui/main_window.h"
#include "ui/settings/settings_dialog.h"

#include <QAction>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern;
using namespace lectern::ui;

namespace {

constexpr qint64 kGiB = qint64(1) << 30;

// A snapshot file of `bytes` that takes no disk space (sparse).
bool makeSnapshot(const QString& path, qint64 bytes) {
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.resize(bytes);
}

} // namespace

class SettingsTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;

    Profile profile(const QString& name) const { return *Profile::open(dir_.filePath(name)); }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
    }

    void cacheSettingsLiveInTheProfile() {
        const Profile one = profile(QStringLiteral("one"));
        const CacheSettings defaults = CacheSettings::load(one);
        QCOMPARE(defaults.directory, one.cacheDirectory());
        QCOMPARE(defaults.limitBytes, answers::CorpusCache::kDefaultLimitBytes);
        QCOMPARE(defaults.limitBytes, 32 * kGiB);

        CacheSettings changed{dir_.filePath(QStringLiteral("big-disk")), 5 * kGiB};
        changed.save(one);
        const CacheSettings reread = CacheSettings::load(one);
        QCOMPARE(reread.directory, changed.directory);
        QCOMPARE(reread.limitBytes, 5 * kGiB);

        // The default location is not written down (it moves with the profile); nonsense reads as default.
        CacheSettings{one.cacheDirectory(), 7 * kGiB}.save(one);
        QSettings file(one.settingsPath(), QSettings::IniFormat);
        QVERIFY(!file.contains(QStringLiteral("cache/directory")));
        file.setValue(QStringLiteral("cache/limitBytes"), QStringLiteral("lots"));
        file.sync();
        QCOMPARE(CacheSettings::load(one).limitBytes, answers::CorpusCache::kDefaultLimitBytes);
    }

    void dialogShowsSizeAndClears() {
        const QString cache = dir_.filePath(QStringLiteral("dialog-cache"));
        QVERIFY(QDir().mkpath(cache));
        QVERIFY(makeSnapshot(cache + QStringLiteral("/a.snapshot"), 1024));
        QVERIFY(makeSnapshot(cache + QStringLiteral("/b.snapshot"), 1024));
        auto store = store::Store::open(dir_.filePath(QStringLiteral("dialog.sqlite3")));
        QVERIFY(store.ok());
        SettingsDialog dialog({cache, 3 * kGiB}, store->get());
        dialog.show();
        QVERIFY(dialog.sizeLabel()->text().startsWith(QStringLiteral("2.0 KiB")));
        QCOMPARE(dialog.locationField()->text(), cache);
        QCOMPARE(dialog.limitField()->value(), 3);
        QCOMPARE(dialog.limitField()->suffix(), QStringLiteral(" GiB"));
        for (QWidget* widget : dialog.findChildren<QWidget*>())
            if (widget->focusPolicy() != Qt::NoFocus &&
                (qobject_cast<QLineEdit*>(widget) || qobject_cast<QPushButton*>(widget) ||
                 qobject_cast<QSpinBox*>(widget)))
                QVERIFY2(!widget->accessibleName().isEmpty() ||
                             !widget->property("text").toString().isEmpty(),
                         qPrintable(widget->objectName()));
        QVERIFY(!dialog.clearButton()->accessibleName().isEmpty());

        QTest::mouseClick(dialog.clearButton(), Qt::LeftButton);
        QVERIFY(QDir(cache).entryList({QStringLiteral("*.snapshot")}, QDir::Files).isEmpty());
        QVERIFY(dialog.sizeLabel()->text().startsWith(QStringLiteral("0 bytes")));

        // Unchanged, the settings come back as they were; edited, as edited.
        QCOMPARE(dialog.settings().limitBytes, 3 * kGiB);
        dialog.limitField()->setValue(9);
        dialog.locationField()->setText(dir_.filePath(QStringLiteral("other")));
        QCOMPARE(dialog.settings().limitBytes, 9 * kGiB);
        QCOMPARE(dialog.settings().directory, dir_.filePath(QStringLiteral("other")));

        // Without a store there is nothing to clear from here.
        SettingsDialog storeless({cache, kGiB}, nullptr);
        QVERIFY(!storeless.clearButton()->isEnabled());
    }

    void mainWindowAppliesAndKeepsTheSettings() {
        const Profile two = profile(QStringLiteral("two"));
        QVERIFY(QDir().mkpath(two.cacheDirectory()));
        const QString big = two.cacheDirectory() + QStringLiteral("/big.snapshot");
        const QString small = two.cacheDirectory() + QStringLiteral("/small.snapshot");
        QVERIFY(makeSnapshot(big, 3 * kGiB));
        QVERIFY(makeSnapshot(small, 1024));
        {
            QFile older(big);
            QVERIFY(older.open(QIODevice::ReadWrite));
            QVERIFY(older.setFileTime(QDateTime::currentDateTimeUtc().addSecs(-60),
                                      QFileDevice::FileModificationTime));
        }
        const QString moved = dir_.filePath(QStringLiteral("moved-cache"));
        {
            MainWindow main(two);
            main.show();
            QCOMPARE(main.asker()->cacheSettings().directory, two.cacheDirectory());
            QCOMPARE(main.asker()->cacheSettings().limitBytes, 32 * kGiB);
            QVERIFY(QFile::exists(big)); // under the default limit
            auto* action = main.findChild<QAction*>(QStringLiteral("settingsAction"));
            QVERIFY(action);
            QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_Comma));

            SettingsDialog* dialog = main.showSettings();
            QVERIFY(dialog && dialog->isVisible());
            QVERIFY(dialog->sizeLabel()->text().startsWith(QStringLiteral("3.0 GiB")));
            dialog->limitField()->setValue(2);
            dialog->accept();
            // A lower limit evicts at once, least recently used first.
            QVERIFY(!QFile::exists(big));
            QVERIFY(QFile::exists(small));
            QCOMPARE(main.asker()->cacheSettings().limitBytes, 2 * kGiB);

            dialog = main.showSettings();
            dialog->locationField()->setText(moved);
            dialog->accept();
            QCOMPARE(main.asker()->cacheSettings().directory, moved);
            QVERIFY(QDir(moved).exists()); // made ready for the next snapshot
        }
        MainWindow again(two);
        QCOMPARE(again.asker()->cacheSettings().directory, moved);
        QCOMPARE(again.asker()->cacheSettings().limitBytes, 2 * kGiB);
    }
};

QTEST_MAIN(SettingsTest)
#include "settings_test.moc"
