#pragma once
// Where the user wants models to run: Automatic, CUDA, Vulkan or the CPU, how many layers go to the GPU,
// and whether a mixture-of-experts model keeps its routed experts in host memory. Kept in the profile's
// settings (model/backend, model/gpu_layers, model/experts) and turned into the engine's backend::Request
// when a model is loaded; the engine falls back towards the CPU and says why.

#include "inference/backend/backend.h"

#include <QString>

namespace lectern {
class Profile;
}

namespace lectern::ui {

struct BackendChoice {
    backend::Choice choice = backend::Choice::Auto;
    int gpuLayers = -1; // negative: all of them; 0: none
    bool expertsOnHost = false;

    static BackendChoice load(const Profile& profile); // the saved choice, or Automatic with all layers
    void save(const Profile& profile) const;
    // Automatic, all layers and experts on the device leave the request's fields to LECTERN_BACKEND /
    // LECTERN_GPU_LAYERS / LECTERN_EXPERTS.
    backend::Request request() const;
    bool operator==(const BackendChoice&) const = default;
};

QString choiceLabel(backend::Choice choice); // "Automatic", "CUDA", "Vulkan", "CPU"

} // namespace lectern::ui
