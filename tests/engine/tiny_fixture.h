#pragma once
// The tiny DeepSeek-V4 checkpoint, generated once per build tree and shared by the engine tests.

#include "inference/tools/tiny_v4.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace lectern::test {

// In the build tree's test-data/, or in $LECTERN_TEST_DATA where the tests run away from their build
// tree (tests/bench/gpu_bundle.sh).
inline std::string tiny_v4_folder() {
    const char* data = std::getenv("LECTERN_TEST_DATA");
    const std::string folder =
        (data ? std::string(data) : std::string(LECTERN_BINARY_DIR) + "/test-data") + "/tiny-v4";
    if (!std::filesystem::exists(folder + "/model.safetensors.index.json")) {
        lectern::tools::TinyV4Options options;
        const char* cache = std::getenv("LECTERN_CACHE");
        const std::string tokenizer =
            std::string(cache ? cache : "") + "/tokenizers/deepseek-v4/tokenizer.json";
        if (cache && std::filesystem::exists(tokenizer)) options.tokenizer_json = tokenizer;
        // Per-process staging folder: ctest -j may run several tests that all make the checkpoint.
        const std::string staging = folder + ".partial-" + std::to_string(::getpid());
        std::filesystem::remove_all(staging);
        if (auto written = lectern::tools::write_tiny_v4(staging, options); !written) {
            std::fprintf(stderr, "cannot write the tiny checkpoint: %s\n", written.error().c_str());
            std::exit(1);
        }
        std::error_code error;
        std::filesystem::rename(staging, folder, error); // another test may have won the race; fine
        std::filesystem::remove_all(staging);
    }
    return folder;
}

} // namespace lectern::test
