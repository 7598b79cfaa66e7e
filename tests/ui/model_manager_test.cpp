// The model manager on real widgets (offscreen): the built-in default model's size, its KV cache at the
// corpus's size from the model's metadata, and that both fit in this machine's memory (or, for a corpus
// far too long, do not); a checkpoint folder's safetensors summed; a (sparse) model bigger than the
// available memory refused in plain words; a missing path explained.

#include "inference/model/default_model.h"
#include "inference/model/memory_estimate.h"
#include "ui/main_window.h"
#include "ui/model/model_manager_dialog.h"

#include <QAction>
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern::ui;

namespace {

bool makeFile(const QString& path, qint64 size) {
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.resize(size); // sparse: no disk used
}

} // namespace

class ModelManagerTest : public QObject {
    Q_OBJECT
private slots:
    void defaultModelFits() {
        auto found = lectern::model::default_model_path();
        if (!found) QSKIP("the default model is not fetched (scripts/fetch-models)");
        const QString path = QString::fromStdString(*found);
        ModelManagerDialog dialog;
        dialog.show();
        dialog.setModelPath(path);
        QCOMPARE(*modelWeightsBytes(path), QFileInfo(path).size());
        QVERIFY(QFileInfo(path).size() > 50'000'000); // SmolLM2-135M Q4_1: ~100 MB
        QVERIFY2(dialog.weightsText().contains(QStringLiteral("MB")), qPrintable(dialog.weightsText()));
        QVERIFY(availableHostMemory().value_or(0) > 0);
        QVERIFY(dialog.fits());
        QVERIFY2(dialog.verdictText().contains(QStringLiteral("fit")), qPrintable(dialog.verdictText()));
        QVERIFY(!dialog.verdictText().contains(QStringLiteral("Does not fit")));
        QVERIFY(dialog.loadButton()->isEnabled());
        // The KV cache from the model's metadata (SmolLM2-135M: 30 layers x 3 KV heads x 64 x K and V x
        // fp16 = 23,040 bytes a token), in the fit check with the weights.
        QCOMPARE(dialog.kvCacheText(),
                 QStringLiteral("KV cache at this corpus (0 tokens): %1")
                     .arg(QLocale::system().formattedDataSize(0, 1, QLocale::DataSizeSIFormat)));
        QVERIFY2(dialog.verdictText().contains(QStringLiteral("the weights and KV cache")),
                 qPrintable(dialog.verdictText()));
        dialog.setCorpusTokens(2000);
        const auto estimate = lectern::model::estimate_memory(path.toStdString(), 2000);
        QVERIFY(estimate.ok());
        QCOMPARE(estimate->kv_cache_bytes, std::uint64_t(2000) * 23040);
        QCOMPARE(dialog.kvCacheText(),
                 QStringLiteral("KV cache at this corpus (%1 tokens): %2")
                     .arg(QLocale::system().toString(2000),
                          QLocale::system().formattedDataSize(2000 * 23040, 1, QLocale::DataSizeSIFormat)));
        QVERIFY2(dialog.verdictText().contains(QLocale::system().formattedDataSize(
                     QFileInfo(path).size() + 2000 * 23040, 1, QLocale::DataSizeSIFormat)),
                 qPrintable(dialog.verdictText()));
        // A corpus past the model's 8,192-token context is said to be read in parts.
        dialog.setCorpusTokens(612340);
        QVERIFY2(dialog.kvCacheText().contains(QLocale::system().toString(612340)) &&
                     dialog.kvCacheText().contains(QStringLiteral("longer than the model's context")),
                 qPrintable(dialog.kvCacheText()));
        // A corpus whose cache alone exceeds the host memory does not fit.
        const qint64 tooMany = availableHostMemory().value_or(0) / 23040 + 1000;
        dialog.setCorpusTokens(tooMany);
        QVERIFY(!dialog.fits());
        QVERIFY2(
            dialog.verdictText().startsWith(QStringLiteral("Does not fit: the weights and KV cache need")),
            qPrintable(dialog.verdictText()));
        QVERIFY(!dialog.loadButton()->isEnabled());
        dialog.setCorpusTokens(612340);
        QVERIFY(dialog.backendText().startsWith(QStringLiteral("Automatic.")));
        QVERIFY2(dialog.gpuMemoryText().startsWith(QStringLiteral("Vulkan: ")),
                 qPrintable(dialog.gpuMemoryText()));
        dialog.setBackendChoice({lectern::backend::Choice::Cpu, 0});
        QVERIFY(dialog.backendText().startsWith(QStringLiteral("CPU.")));
        QCOMPARE(dialog.gpuMemoryText(), QStringLiteral("not used"));
        dialog.setBackendChoice({lectern::backend::Choice::Vulkan, 12});
        QCOMPARE(dialog.backendChoice(), (BackendChoice{lectern::backend::Choice::Vulkan, 12}));
        auto* experts = dialog.findChild<QCheckBox*>();
        QVERIFY(experts && experts->isEnabled() && !experts->isChecked());
        QTest::mouseClick(experts, Qt::LeftButton, {}, QPoint(4, experts->height() / 2));
        QCOMPARE(dialog.backendChoice(), (BackendChoice{lectern::backend::Choice::Vulkan, 12, true}));
        dialog.setBackendChoice({lectern::backend::Choice::Cpu, 0});
        QVERIFY(!experts->isEnabled()); // the CPU runs every expert anyway
    }

    // Closed while its path field has the focus: the field's editingFinished comes during the
    // destruction and must not reach the dialog's check() (a use after free before it was disconnected).
    void closesWithTheFocusInThePathField() {
        auto* dialog = new ModelManagerDialog;
        dialog->show();
        QVERIFY(QTest::qWaitForWindowExposed(dialog));
        dialog->activateWindow();
        auto* path = dialog->findChild<QLineEdit*>();
        QVERIFY(path);
        path->setFocus();
        QTRY_VERIFY(path->hasFocus());
        QTest::keyClicks(path, QStringLiteral("/no/such/model.gguf"));
        delete dialog;
    }

    void foldersAndRefusals() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString checkpoint = dir.path() + QStringLiteral("/checkpoint");
        QVERIFY(QDir().mkpath(checkpoint));
        QVERIFY(makeFile(checkpoint + QStringLiteral("/model-00001-of-00002.safetensors"), 3000));
        QVERIFY(makeFile(checkpoint + QStringLiteral("/model-00002-of-00002.safetensors"), 1500));
        QVERIFY(makeFile(checkpoint + QStringLiteral("/config.json"), 100));
        QCOMPARE(*modelWeightsBytes(checkpoint), qint64(4500));

        const qint64 available = availableHostMemory().value_or(0);
        QVERIFY(available > 0);
        const QString huge = dir.path() + QStringLiteral("/huge.gguf");
        QVERIFY(makeFile(huge, available + (qint64(1) << 30)));
        ModelManagerDialog dialog;
        dialog.setModelPath(huge);
        QVERIFY(!dialog.fits());
        QVERIFY2(dialog.verdictText().startsWith(QStringLiteral("Does not fit")),
                 qPrintable(dialog.verdictText()));
        QVERIFY(!dialog.loadButton()->isEnabled());

        // A checkpoint whose config.json cannot be read: the weights alone are checked, the cache is unknown.
        dialog.setModelPath(checkpoint);
        QVERIFY2(dialog.kvCacheText().startsWith(QStringLiteral("unknown: ")) &&
                     dialog.kvCacheText().contains(QStringLiteral("config.json")),
                 qPrintable(dialog.kvCacheText()));
        QVERIFY(dialog.fits());
        QVERIFY2(dialog.verdictText().endsWith(QStringLiteral("The KV cache's size is unknown.")),
                 qPrintable(dialog.verdictText()));

        dialog.setModelPath(dir.path() + QStringLiteral("/missing.gguf"));
        QVERIFY(!dialog.fits());
        QVERIFY(dialog.verdictText().contains(QStringLiteral("There is no file or folder")));
        QVERIFY(!modelWeightsBytes(dir.path()).ok()); // a folder without safetensors

        auto profile = lectern::Profile::open(dir.path() + QStringLiteral("/profile"));
        QVERIFY(profile.ok());
        MainWindow window(*profile);
        auto* action = window.findChild<QAction*>(QStringLiteral("chooseModelAction"));
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_M));

        // The choice is kept in the profile's settings; Automatic with all layers by default.
        QCOMPARE(BackendChoice::load(*profile), BackendChoice{});
        BackendChoice{lectern::backend::Choice::Cuda, 7}.save(*profile);
        QCOMPARE(BackendChoice::load(*profile), (BackendChoice{lectern::backend::Choice::Cuda, 7}));
        const lectern::backend::Request request = BackendChoice::load(*profile).request();
        QCOMPARE(request.choice, std::optional(lectern::backend::Choice::Cuda));
        QCOMPARE(request.gpu_layers, std::optional<std::int64_t>(7));
        QVERIFY(!BackendChoice{}.request().choice); // Automatic leaves LECTERN_BACKEND its say
        QVERIFY(!request.experts);                  // experts on the device leave LECTERN_EXPERTS its say
        BackendChoice{lectern::backend::Choice::Vulkan, -1, true}.save(*profile);
        QCOMPARE(BackendChoice::load(*profile), (BackendChoice{lectern::backend::Choice::Vulkan, -1, true}));
        QCOMPARE(BackendChoice::load(*profile).request().experts,
                 std::optional(lectern::backend::ExpertPlacement::Host));
    }
};

QTEST_MAIN(ModelManagerTest)
#include "model_manager_test.moc"
