#pragma once
// Opens a model from what the user names: a checkpoint folder (config.json + safetensors) is
// DeepSeek-V4; anything else (a .gguf file, the word `default`) goes to the first registered loader that
// accepts it. Loaders for other formats register themselves at startup with register_loader.

#include "inference/model/model.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace lectern::model {

// (fraction 0..1, what is being loaded)
using LoadProgress = std::function<void(double fraction, std::string_view what)>;

struct Loader {
    std::string name;                                // "gguf", "default model", ...
    std::function<bool(const std::string&)> accepts; // cheap test on the path (extension, a keyword)
    std::function<Result<std::unique_ptr<Model>>(const std::string& path, const LoadProgress& progress)> load;
};

// Thread-safe. A later loader with the same name replaces the earlier one.
void register_loader(Loader loader);

Result<std::unique_ptr<Model>> load_model(const std::string& path, const LoadProgress& progress = {});

} // namespace lectern::model
