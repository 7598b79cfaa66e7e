#pragma once
// The per-user folder for what Lectern can always rebuild or fetch again: downloaded models
// (scripts/fetch-models) and the Vulkan pipeline cache. $LECTERN_CACHE, else $XDG_CACHE_HOME/lectern,
// else ~/.cache/lectern, as scripts/common.sh decides it.

#include <filesystem>

namespace lectern::cache {

// Empty when none of the three is set (no HOME): then nothing is kept between runs.
std::filesystem::path user_cache_dir();

} // namespace lectern::cache
