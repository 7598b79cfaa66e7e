#pragma once
// GPT-2's byte-level alphabet: every byte is shown as one printable code point, so that vocabularies
// and merges can be stored as text ("Ġthe" is " the"). Byte-level BPE files (HF tokenizer.json with a
// ByteLevel step, GGUF `tokenizer.ggml.model` = "gpt2") spell their tokens in it.

#include <optional>
#include <string>
#include <string_view>

namespace lectern::tokenizer {

// The code point that stands for `byte`.
char32_t byte_to_code_point(unsigned char byte);

// Raw bytes of a token spelled in the byte-level alphabet; nullopt when some character is not in it
// (for example an added token such as "<｜User｜>", which is kept as its own UTF-8 text).
std::optional<std::string> byte_level_to_bytes(std::string_view spelled);

// The byte-level spelling of raw bytes (the inverse of byte_level_to_bytes).
std::string bytes_to_byte_level(std::string_view bytes);

} // namespace lectern::tokenizer
