// lectern-make-tiny-v4 OUT_DIR [--seed N] [--tokenizer PATH]: writes the tiny DeepSeek-V4 checkpoint.
#include "inference/tools/tiny_v4.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR [--seed N] [--tokenizer tokenizer.json]\n", argv[0]);
        return 2;
    }
    lectern::tools::TinyV4Options options;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--seed")
            options.seed = std::strtoull(argv[i + 1], nullptr, 10);
        else if (flag == "--tokenizer")
            options.tokenizer_json = argv[i + 1];
        else {
            std::fprintf(stderr, "unknown option %s\n", flag.c_str());
            return 2;
        }
    }
    if (options.tokenizer_json.empty()) {
        const char* cache = std::getenv("LECTERN_CACHE");
        const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
        const std::string base = cache ? cache : home + "/.cache/lectern";
        const std::string candidate = base + "/tokenizers/deepseek-v4/tokenizer.json";
        if (std::filesystem::exists(candidate))
            options.tokenizer_json = candidate;
        else
            std::fprintf(stderr, "note: no tokenizer at %s; writing the weights without one\n",
                         candidate.c_str());
    }
    if (auto written = lectern::tools::write_tiny_v4(argv[1], options); !written) {
        std::fprintf(stderr, "error: %s\n", written.error().c_str());
        return 1;
    }
    std::printf("wrote the tiny DeepSeek-V4 checkpoint to %s\n", argv[1]);
    return 0;
}
