#pragma once
// UTF-8 checks shared by encoding (invalid input) and streaming decoding (characters split across tokens).

#include <cstddef>
#include <string>
#include <string_view>

namespace lectern::tokenizer {

// Appends `bytes` to `out`, replacing each maximal ill-formed subpart with U+FFFD (Unicode §3.9, as
// Python's errors="replace" and Rust's from_utf8_lossy do), so the result is always valid UTF-8.
void append_valid_utf8(std::string& out, std::string_view bytes);

// True when `bytes` is well-formed UTF-8.
bool is_valid_utf8(std::string_view bytes);

// The length (0..3) of a trailing sequence that is well-formed so far but incomplete: the bytes a
// streaming decoder must hold back until the next token arrives.
std::size_t incomplete_utf8_tail(std::string_view bytes);

// Appends the UTF-8 encoding of `code_point` (which must be a Unicode scalar value).
void append_utf8(std::string& out, char32_t code_point);

} // namespace lectern::tokenizer
