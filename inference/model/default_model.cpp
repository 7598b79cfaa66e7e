#include "inference/model/default_model.h"

#include "inference/cache/user_cache.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace lectern::model {

Result<std::string> default_model_path() {
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates;
    if (const char* dir = std::getenv("LECTERN_MODELS_DIR"); dir && *dir) candidates.emplace_back(dir);
    std::error_code error;
    const fs::path exe = fs::read_symlink("/proc/self/exe", error);
    if (!error) candidates.push_back(exe.parent_path().parent_path() / "share" / "lectern" / "models");
    if (const fs::path cache = cache::user_cache_dir(); !cache.empty())
        candidates.push_back(cache / "models");

    std::string looked;
    for (const fs::path& dir : candidates) {
        const fs::path file = dir / kDefaultModelFile;
        if (fs::is_regular_file(file, error)) return file.string();
        looked += "\n  " + file.string();
    }
    return Error{"the built-in default model (" + std::string(kDefaultModelFile) +
                 ") is not installed; looked at:" + looked +
                 "\nRun scripts/fetch-models to download it, or set LECTERN_MODELS_DIR to its folder"};
}

} // namespace lectern::model
