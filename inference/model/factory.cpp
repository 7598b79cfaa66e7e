#include "inference/model/factory.h"

#include "inference/formats/gguf.h"
#include "inference/model/dense/dense_model.h"
#include "inference/model/v4/gguf_layout.h"
#include "inference/model/v4/v4_model.h"

#include <filesystem>
#include <mutex>
#include <vector>

namespace lectern::model {
namespace {

std::mutex& registry_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::vector<Loader>& registry() {
    static std::vector<Loader> loaders = dense::dense_loaders(); // built in: *.gguf and `default`
    return loaders;
}

} // namespace

Error load_cancelled(const std::string& path) {
    return Error{"loading " + path + " was cancelled"};
}

void register_loader(Loader loader) {
    const std::lock_guard lock(registry_mutex());
    for (Loader& existing : registry()) {
        if (existing.name == loader.name) {
            existing = std::move(loader);
            return;
        }
    }
    registry().push_back(std::move(loader));
}

Result<std::unique_ptr<Model>> load_model(const std::string& path, const LoadProgress& progress,
                                          const backend::Request& request) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
        if (!std::filesystem::exists(std::filesystem::path(path) / "config.json", error))
            return Error{
                "model folder " + path +
                " has no config.json: point --model at a DeepSeek-V4 checkpoint folder (config.json + "
                "*.safetensors) or at a .gguf file"};
        auto model = v4::load_v4_model(path, progress, 0, request);
        if (!model) return std::move(model).take_error();
        return std::unique_ptr<Model>(std::move(*model));
    }
    if (path.ends_with(".gguf") && std::filesystem::is_regular_file(path, error)) {
        // A GGUF file says what it holds in general.architecture: DeepSeek-V4 goes to the V4 graph.
        auto file = formats::GgufFile::open(path);
        if (!file) return std::move(file).take_error();
        const formats::GgufValue* architecture = file->find("general.architecture");
        if (architecture && architecture->as_string() &&
            *architecture->as_string() == v4::gguf::kArchitecture)
            return v4::load_v4_gguf_model(path, progress, 0, request);
    }
    Loader chosen;
    {
        const std::lock_guard lock(registry_mutex());
        for (const Loader& loader : registry()) {
            if (loader.accepts(path)) {
                chosen = loader;
                break;
            }
        }
    }
    if (!chosen.load) {
        if (path == "default")
            return Error{"the built-in default model is not available in this build (no loader for `default` "
                         "is registered); pass --model with a checkpoint folder instead"};
        if (path.ends_with(".gguf"))
            return Error{"cannot open " + path + ": this build has no GGUF loader registered"};
        if (!std::filesystem::exists(path, error)) return Error{"model path " + path + " does not exist"};
        return Error{
            "cannot open " + path +
            ": not a checkpoint folder (config.json + *.safetensors) and no loader accepts this file"};
    }
    if (chosen.load_on_backend) return chosen.load_on_backend(path, progress, request);
    return chosen.load(path, progress);
}

} // namespace lectern::model
