// Where the model runs, chosen in the app: the backend saved in the profile's settings is what the
// next load asks for, and the status bar shows what the engine got. Vulkan on this machine (Mesa's
// lavapipe, or a GPU) runs the built-in default model there and the status bar names the device;
// CUDA cannot run the default model's GGUF graph (no driver here, no GGUF kernels on a GPU machine),
// so it falls back and the status bar shows the reason. The CPU choice passes nothing over.

#include "app/worker/inference_worker.h"
#include "inference/model/default_model.h"
#include "kernels/vulkan/context.h"
#include "ui/conversation/ask_controller.h"
#include "ui/main_window.h"
#include "ui/model/backend_choice.h"
#include "ui/status/status_panel.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace lectern;
using namespace lectern::ui;

class ModelBackendTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;

    // Saves `choice` as the user's, loads the default model through the main window, and returns it.
    std::unique_ptr<MainWindow> loadWith(const BackendChoice& choice) {
        auto profile = Profile::open(dir_.filePath(QStringLiteral("profile")));
        if (!profile) return nullptr;
        choice.save(*profile);
        auto window = std::make_unique<MainWindow>(*profile);
        QSignalSpy loaded(window->asker(), &AskController::modelLoaded);
        QSignalSpy failed(window->asker(), &AskController::modelFailed);
        window->loadModel();
        if (!loaded.wait(120000) && loaded.isEmpty()) {
            qWarning() << "the model did not load:" << failed.value(0).value(0).toString();
            return nullptr;
        }
        return window;
    }

private slots:
    void initTestCase() {
        if (!model::default_model_path()) QSKIP("the default model is not fetched (scripts/fetch-models)");
        // The test's choice must be the one used, not the environment's.
        qunsetenv("LECTERN_BACKEND");
        qunsetenv("LECTERN_GPU_LAYERS");
        QVERIFY(dir_.isValid());
    }

    void cpuPassesNothingOver() {
        auto window = loadWith({backend::Choice::Cpu, -1});
        QVERIFY(window);
        QCOMPARE(window->statusPanel()->backendText(), QStringLiteral("CPU"));
        QVERIFY(window->statusPanel()->fallbackText().isEmpty());
        QCOMPARE(window->asker()->model()->device_layers, qint64(0));
    }

    // A note that comes after loading (a sequence outgrew the GPU and continued on the CPU) reaches the
    // status bar and the model's summary.
    void notesAfterLoadingReachTheStatusBar() {
        auto window = loadWith({backend::Choice::Cpu, -1});
        QVERIFY(window);
        const QStringList notes = {QStringLiteral("GPU: no room for the caches of 4096 positions; that "
                                                  "sequence continued on the CPU (a test's note)")};
        emit window->inferenceWorker().fallbacksChanged(notes);
        QTRY_VERIFY2(window->statusPanel()->fallbackText().contains(notes.first()),
                     qPrintable(window->statusPanel()->fallbackText()));
        QCOMPARE(window->asker()->model()->fallbacks, notes);
        QCOMPARE(window->statusPanel()->backendText(), QStringLiteral("CPU"));
    }

    void cudaFallsBackWithTheReason() {
        auto window = loadWith({backend::Choice::Cuda, -1});
        QVERIFY(window);
        const worker::ModelSummary& model = *window->asker()->model();
        QVERIFY(model.backend != QStringLiteral("CUDA"));
        QVERIFY(!model.fallbacks.isEmpty());
        QVERIFY2(model.fallbacks.first().startsWith(QStringLiteral("CUDA: ")),
                 qPrintable(model.fallbacks.first()));
        qInfo() << "CUDA chosen, ran on" << model.backend << model.device
                << "passed over:" << model.fallbacks;
        const QString shown = window->statusPanel()->fallbackText();
        QVERIFY2(shown.contains(model.fallbacks.first()), qPrintable(shown));
        QVERIFY(window->statusPanel()->backendText().startsWith(model.backend));
    }

    void vulkanRunsOnItsDevice() {
        auto context = kernels::vulkan::Context::create();
        if (!context)
            QSKIP(qPrintable(
                QStringLiteral("no Vulkan device: %1").arg(QString::fromStdString(context.error()))));
        const QString device = QString::fromStdString((*context)->device().name);
        context->reset();
        auto window = loadWith({backend::Choice::Vulkan, -1});
        QVERIFY(window);
        const worker::ModelSummary& model = *window->asker()->model();
        qInfo() << "Vulkan chosen, ran on" << model.backend << model.device << model.device_layers << "of"
                << model.layers << "layers";
        QCOMPARE(model.backend, QStringLiteral("Vulkan"));
        QCOMPARE(model.device, device);
        QVERIFY(model.device_layers > 0);
        QCOMPARE(model.device_layers, model.layers);
        QCOMPARE(window->statusPanel()->backendText(), QStringLiteral("Vulkan · %1").arg(device));
    }
};

QTEST_MAIN(ModelBackendTest)
#include "model_backend_test.moc"
