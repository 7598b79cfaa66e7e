#include "inference/cache/user_cache.h"

#include <cstdlib>

namespace lectern::cache {

std::filesystem::path user_cache_dir() {
    const auto set = [](const char* name) -> const char* {
        const char* value = std::getenv(name);
        return value && *value ? value : nullptr;
    };
    if (const char* dir = set("LECTERN_CACHE")) return dir;
    if (const char* dir = set("XDG_CACHE_HOME")) return std::filesystem::path(dir) / "lectern";
    if (const char* home = set("HOME")) return std::filesystem::path(home) / ".cache" / "lectern";
    return {};
}

} // namespace lectern::cache
