// `--model default`: default_model_path() looks in LECTERN_MODELS_DIR, next to the executable, then in
// LECTERN_CACHE/models, and says where it looked when the file is nowhere; the model factory opens the
// word `default` and *.gguf files with the dense graph.

#include "inference/model/default_model.h"
#include "inference/model/factory.h"
#include "tests/kernels/check.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace lectern;
namespace fs = std::filesystem;

int main() {
    const char* cache = std::getenv("LECTERN_CACHE");
    const std::string cache_dir = cache ? cache : "";
    const fs::path scratch =
        fs::temp_directory_path() / ("lectern-default-model-" + std::to_string(::getpid()));
    fs::create_directories(scratch / "models");

    // Nowhere: the error lists each place and how to fetch the file.
    ::setenv("LECTERN_MODELS_DIR", (scratch / "empty").c_str(), 1);
    ::setenv("LECTERN_CACHE", scratch.c_str(), 1);
    auto missing = model::default_model_path();
    CHECK(!missing.ok());
    if (!missing.ok()) {
        CHECK(missing.error().find((scratch / "empty").string()) != std::string::npos);
        CHECK(missing.error().find("scripts/fetch-models") != std::string::npos);
    }
    auto not_loaded = model::load_model("default");
    CHECK(!not_loaded.ok() && not_loaded.error().find("fetch-models") != std::string::npos);

    // LECTERN_MODELS_DIR comes first, before the cache.
    const fs::path placed = scratch / "models" / std::string(model::kDefaultModelFile);
    std::ofstream(placed) << "not a model";
    ::setenv("LECTERN_MODELS_DIR", (scratch / "models").c_str(), 1);
    auto found = model::default_model_path();
    CHECK(found.ok() && *found == placed.string());
    auto broken = model::load_model("default"); // a file that is not GGUF: an error naming it
    CHECK(!broken.ok() && broken.error().find(placed.string()) != std::string::npos);
    fs::remove_all(scratch);

    // The real default model, from the cache, through the factory.
    const fs::path real = fs::path(cache_dir) / "models" / std::string(model::kDefaultModelFile);
    if (cache_dir.empty() || !fs::exists(real)) {
        std::printf("the real default model is not fetched; its part is skipped\n");
        return test::finish("gguf_default_model");
    }
    ::unsetenv("LECTERN_MODELS_DIR");
    ::setenv("LECTERN_CACHE", cache_dir.c_str(), 1);
    auto loaded = model::load_model("default");
    if (!CHECK(loaded.ok()))
        std::fprintf(stderr, "%s\n", loaded.error().c_str());
    else
        CHECK((*loaded)->info().family == "llama" && (*loaded)->tokenizer() != nullptr);
    auto by_path = model::load_model(real.string());
    CHECK(by_path.ok());
    return test::finish("gguf_default_model");
}
