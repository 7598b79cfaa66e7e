#pragma once
// Where the built-in default model lives (`--model default`): the first of
//   $LECTERN_MODELS_DIR/<file>,
//   <directory of the running executable>/../share/lectern/models/<file>   (an installed package),
//   <cache::user_cache_dir()>/models/<file>   (scripts/fetch-models)
// that exists. The error lists every place looked at and how to fetch the file.

#include "kernels/result.h"

#include <string>
#include <string_view>

namespace lectern::model {

inline constexpr std::string_view kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

Result<std::string> default_model_path();

} // namespace lectern::model
