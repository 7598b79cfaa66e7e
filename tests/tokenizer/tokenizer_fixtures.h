#pragma once
// Loads the two real tokenizers the tests compare with Hugging Face: DeepSeek-V4's tokenizer.json and
// SmolLM2's GGUF metadata, both from the cache scripts/fetch-models fills.

#include "inference/formats/gguf.h"
#include "inference/model/dense/gguf_tokenizer.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "inference/tokenizer/hf_tokenizer_json.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lectern::test {

inline std::string cache_path(const std::string& relative) {
    const char* cache = std::getenv("LECTERN_CACHE");
    const std::string root = cache ? cache : std::string(std::getenv("HOME")) + "/.cache/lectern";
    return root + "/" + relative;
}

inline std::string deepseek_v4_tokenizer_path() {
    return cache_path("tokenizers/deepseek-v4/tokenizer.json");
}
inline std::string smollm2_gguf_path() {
    return cache_path("models/SmolLM2-135M-Instruct.Q4_1.gguf");
}

inline bool fixtures_present() {
    return std::filesystem::exists(deepseek_v4_tokenizer_path()) &&
           std::filesystem::exists(smollm2_gguf_path());
}

inline Result<tokenizer::BpeTokenizer> load_deepseek_v4() {
    return tokenizer::load_hf_tokenizer(deepseek_v4_tokenizer_path());
}

// Through the engine's own GGUF reader and GGUF tokenizer loader, as the default model loads it.
inline Result<tokenizer::BpeTokenizer> load_smollm2() {
    auto file = formats::GgufFile::open(smollm2_gguf_path());
    if (!file) return std::move(file).take_error();
    return model::dense::load_gguf_tokenizer(*file);
}

inline std::string read_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream contents;
    contents << file.rdbuf();
    return contents.str();
}

inline std::string from_hex(const std::string& hex) {
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return bytes;
}

} // namespace lectern::test
