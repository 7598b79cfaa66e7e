#pragma once
// Opens a model from what the user names: a checkpoint folder (config.json + safetensors) is
// DeepSeek-V4; anything else (a .gguf file, the word `default`) goes to the first registered loader that
// accepts it. Loaders for other formats register themselves at startup with register_loader.

#include "inference/backend/backend.h"
#include "inference/model/model.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace lectern::model {

// (fraction 0..1, what is being loaded) -> whether to go on. Loaders call it between tensors (layers) and
// stop with load_cancelled() when it returns false, so a load can be cancelled within a fraction of a second.
using LoadProgress = std::function<bool(double fraction, std::string_view what)>;

// The error a loader returns when its progress callback said stop.
Error load_cancelled(const std::string& path);

struct Loader {
    std::string name;                                // "gguf", "default model", ...
    std::function<bool(const std::string&)> accepts; // cheap test on the path (extension, a keyword)
    std::function<Result<std::unique_ptr<Model>>(const std::string& path, const LoadProgress& progress)> load;
    // Set by loaders whose graphs place weights on a backend (the request comes from backend::resolve);
    // the others run on the CPU whatever is asked.
    std::function<Result<std::unique_ptr<Model>>(const std::string& path, const LoadProgress& progress,
                                                 const backend::Request& request)>
        load_on_backend;
};

// Thread-safe. A later loader with the same name replaces the earlier one.
void register_loader(Loader loader);

Result<std::unique_ptr<Model>> load_model(const std::string& path, const LoadProgress& progress = {},
                                          const backend::Request& request = {
                                              backend::Choice::Cpu, {}, {}, {}, {}});

} // namespace lectern::model
