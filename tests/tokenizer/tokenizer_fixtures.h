#pragma once
// Loads the two real tokenizers the tests compare with Hugging Face: DeepSeek-V4's tokenizer.json and
// SmolLM2's GGUF metadata, both from the cache scripts/fetch-models fills.

#include "gguf_metadata.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "inference/tokenizer/gguf_vocab.h"
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

inline Result<tokenizer::BpeTokenizer> load_smollm2() {
    std::string error;
    auto metadata = read_gguf_tokenizer_metadata(smollm2_gguf_path(), error);
    if (!metadata) return Error{error};
    auto parts = tokenizer::gguf_tokenizer_parts(
        metadata->strings["tokenizer.ggml.model"], metadata->strings["tokenizer.ggml.pre"],
        metadata->string_arrays["tokenizer.ggml.tokens"], metadata->int_arrays["tokenizer.ggml.token_type"],
        metadata->string_arrays["tokenizer.ggml.merges"], smollm2_gguf_path());
    if (!parts) return Error{parts.error()};
    return tokenizer::BpeTokenizer::create(std::move(parts).value());
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
