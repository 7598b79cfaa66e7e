#include "inference/tokenizer/byte_level.h"

#include "inference/tokenizer/utf8.h"

#include <array>
#include <cstdint>

namespace lectern::tokenizer {
namespace {

// Printable Latin-1 bytes stand for themselves; the other 68 bytes take the code points from U+0100
// upwards in byte order (GPT-2's bytes_to_unicode).
constexpr bool stands_for_itself(unsigned byte) {
    return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

constexpr std::array<char32_t, 256> make_byte_table() {
    std::array<char32_t, 256> table{};
    char32_t next = 0x100;
    for (unsigned byte = 0; byte < 256; ++byte) table[byte] = stands_for_itself(byte) ? byte : next++;
    return table;
}

constexpr std::array<char32_t, 256> kByteToCodePoint = make_byte_table();

// Code points used by the alphabet are all below U+0144.
constexpr std::array<std::int16_t, 0x144> make_inverse_table() {
    std::array<std::int16_t, 0x144> table{};
    for (auto& entry : table) entry = -1;
    for (unsigned byte = 0; byte < 256; ++byte)
        table[kByteToCodePoint[byte]] = static_cast<std::int16_t>(byte);
    return table;
}

constexpr std::array<std::int16_t, 0x144> kCodePointToByte = make_inverse_table();

} // namespace

char32_t byte_to_code_point(unsigned char byte) {
    return kByteToCodePoint[byte];
}

std::optional<std::string> byte_level_to_bytes(std::string_view spelled) {
    std::string bytes;
    bytes.reserve(spelled.size());
    std::size_t pos = 0;
    while (pos < spelled.size()) {
        const auto first = static_cast<unsigned char>(spelled[pos]);
        char32_t code_point = 0;
        if (first < 0x80) {
            code_point = first;
            pos += 1;
        } else if ((first & 0xE0) == 0xC0 && pos + 1 < spelled.size() &&
                   (static_cast<unsigned char>(spelled[pos + 1]) & 0xC0) == 0x80) {
            code_point =
                (char32_t(first & 0x1F) << 6) | (static_cast<unsigned char>(spelled[pos + 1]) & 0x3F);
            pos += 2;
        } else {
            return std::nullopt; // three- and four-byte characters are never in the alphabet
        }
        if (code_point >= kCodePointToByte.size() || kCodePointToByte[code_point] < 0) return std::nullopt;
        bytes += static_cast<char>(kCodePointToByte[code_point]);
    }
    return bytes;
}

std::string bytes_to_byte_level(std::string_view bytes) {
    std::string spelled;
    spelled.reserve(bytes.size() * 2);
    for (const char byte : bytes) append_utf8(spelled, kByteToCodePoint[static_cast<unsigned char>(byte)]);
    return spelled;
}

} // namespace lectern::tokenizer
