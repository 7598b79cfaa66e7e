#pragma once
// Builds TokenizerParts from a GGUF file's tokenizer metadata (`tokenizer.ggml.*`), for models whose
// `tokenizer.ggml.model` is "gpt2" (byte-level BPE). The GGUF reader supplies the plain arrays.
//
// `tokenizer.ggml.pre` names the pre-tokenizer; the splits below are the ones Hugging Face's
// tokenizer.json declares for those models (llama.cpp's llama-vocab.cpp maps the same names to the same
// expressions):
//   "default", "gpt2"                 → GPT-2's split: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
//                                        ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   "smollm", "starcoder", "refact",  → every digit alone (\p{N}, HF Digits individual_digits), then
//   "command-r", "codeshell"             GPT-2's split. SmolLM2-135M-Instruct, the built-in model, is
//   "smollm".
//   "deepseek-v3"                     → DeepSeek-V3/V4's three splits: \p{N}{1,3}, runs of CJK, then words,
//                                        punctuation and whitespace (the V4 tokenizer.json's expressions).
// Other values are refused with a message rather than guessed.

#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/result.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lectern::tokenizer {

// GGUF token types (llama.cpp's llama_token_type).
enum class GgufTokenType : std::int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

Result<std::vector<SplitRule>> gguf_pre_tokenizer(std::string_view pre);

// `tokens`, `token_types` and `merges` are `tokenizer.ggml.tokens`, `.token_type` and `.merges` ("a b").
// Control tokens become special added tokens and user-defined ones plain added tokens, as HF's
// conversion to GGUF marked them. `source` names the file in error messages.
Result<TokenizerParts> gguf_tokenizer_parts(std::string_view model, std::string_view pre,
                                            std::vector<std::string> tokens,
                                            std::span<const std::int32_t> token_types,
                                            std::span<const std::string> merges, std::string source);

} // namespace lectern::tokenizer
