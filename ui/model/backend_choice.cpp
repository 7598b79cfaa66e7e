#include "ui/model/backend_choice.h"

#include "app/profile/profile.h"

#include <QSettings>

namespace lectern::ui {
namespace {

const QString kBackendKey = QStringLiteral("model/backend");
const QString kGpuLayersKey = QStringLiteral("model/gpu_layers");
const QString kExpertsKey = QStringLiteral("model/experts");

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
    loaded.expertsOnHost = settings.value(kExpertsKey).toString() == QStringLiteral("host");
    return loaded;
}

void BackendChoice::save(const Profile& profile) const {
    QSettings settings(profile.settingsPath(), QSettings::IniFormat);
    settings.setValue(kBackendKey, choice == backend::Choice::Auto ? QStringLiteral("auto")
                                                                   : choiceLabel(choice).toLower());
    settings.setValue(kGpuLayersKey, gpuLayers);
    settings.setValue(kExpertsKey, expertsOnHost ? QStringLiteral("host") : QStringLiteral("device"));
}

backend::Request BackendChoice::request() const {
    // Automatic, "all layers" and experts on the device leave the fields unset, so LECTERN_BACKEND,
    // LECTERN_GPU_LAYERS and LECTERN_EXPERTS still apply; an explicit choice in the app wins over them.
    backend::Request request;
    if (choice != backend::Choice::Auto) request.choice = choice;
    if (gpuLayers >= 0) request.gpu_layers = gpuLayers;
    if (expertsOnHost) request.experts = backend::ExpertPlacement::Host;
    return request;
}

} // namespace lectern::ui
