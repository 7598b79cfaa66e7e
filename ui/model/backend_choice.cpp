#include "ui/model/backend_choice.h"

#include "app/profile/profile.h"

#include <QSettings>

namespace lectern::ui {
namespace {

const QString kBackendKey = QStringLiteral("model/backend");
const QString kGpuLayersKey = QStringLiteral("model/gpu_layers");

} // namespace

QString choiceLabel(backend::Choice choice) {
    switch (choice) {
    case backend::Choice::Auto:
        return QStringLiteral("Automatic");
    case backend::Choice::Cpu:
        return QStringLiteral("CPU");
    case backend::Choice::Vulkan:
        return QStringLiteral("Vulkan");
    case backend::Choice::Cuda:
        return QStringLiteral("CUDA");
    }
    return {};
}

BackendChoice BackendChoice::load(const Profile& profile) {
    const QSettings settings(profile.settingsPath(), QSettings::IniFormat);
    BackendChoice loaded;
    // A value this version does not know (edited by hand) leaves the default rather than failing.
    if (auto parsed = backend::parse_choice(settings.value(kBackendKey).toString().toStdString()))
        loaded.choice = *parsed;
    bool ok = false;
    const int layers = settings.value(kGpuLayersKey).toInt(&ok);
    if (ok) loaded.gpuLayers = layers;
    return loaded;
}

void BackendChoice::save(const Profile& profile) const {
    QSettings settings(profile.settingsPath(), QSettings::IniFormat);
    settings.setValue(kBackendKey, choice == backend::Choice::Auto ? QStringLiteral("auto")
                                                                   : choiceLabel(choice).toLower());
    settings.setValue(kGpuLayersKey, gpuLayers);
}

backend::Request BackendChoice::request() const {
    // Automatic and "all layers" leave the fields unset, so LECTERN_BACKEND and LECTERN_GPU_LAYERS
    // still apply; an explicit choice in the app wins over them.
    backend::Request request;
    if (choice != backend::Choice::Auto) request.choice = choice;
    if (gpuLayers >= 0) request.gpu_layers = gpuLayers;
    return request;
}

} // namespace lectern::ui
