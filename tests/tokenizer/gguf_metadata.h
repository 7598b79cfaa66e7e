#pragma once
// Just enough of GGUF to read `tokenizer.ggml.*` for the tokenizer tests, so that they exercise the real
// SmolLM2 file without waiting on the engine's GGUF reader.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lectern::test {

struct GgufTokenizerMetadata {
    std::map<std::string, std::string> strings;
    std::map<std::string, std::vector<std::string>> string_arrays;
    std::map<std::string, std::vector<std::int32_t>> int_arrays;
    std::map<std::string, std::uint32_t> integers;
};

// nullopt when the file is missing or not GGUF v2/v3; `error` says why.
std::optional<GgufTokenizerMetadata> read_gguf_tokenizer_metadata(const std::string& path,
                                                                  std::string& error);

} // namespace lectern::test
