#include "inference/tokenizer/utf8.h"

#include <cstdint>

namespace lectern::tokenizer {
namespace {

// Length of the well-formed sequence a lead byte starts (0: never a lead byte), and the allowed range
// of its second byte; later bytes are always 0x80..0xBF (Unicode Table 3-7).
struct LeadByte {
    std::uint8_t length;
    std::uint8_t second_min;
    std::uint8_t second_max;
};

constexpr LeadByte lead_byte(std::uint8_t byte) {
    if (byte < 0x80) return {1, 0, 0};
    if (byte < 0xC2) return {0, 0, 0};
    if (byte < 0xE0) return {2, 0x80, 0xBF};
    if (byte == 0xE0) return {3, 0xA0, 0xBF};
    if (byte == 0xED) return {3, 0x80, 0x9F};
    if (byte < 0xF0) return {3, 0x80, 0xBF};
    if (byte == 0xF0) return {4, 0x90, 0xBF};
    if (byte < 0xF4) return {4, 0x80, 0xBF};
    if (byte == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

// How many bytes at `pos` form a well-formed prefix of one sequence (at least 1 unless the lead byte
// itself is invalid), and whether that prefix is the complete sequence.
struct Scan {
    std::size_t valid_bytes;
    bool complete;
};

Scan scan_sequence(std::string_view bytes, std::size_t pos) {
    const auto lead = lead_byte(static_cast<std::uint8_t>(bytes[pos]));
    if (lead.length == 0) return {0, false};
    if (lead.length == 1) return {1, true};
    std::size_t count = 1;
    while (count < lead.length && pos + count < bytes.size()) {
        const auto byte = static_cast<std::uint8_t>(bytes[pos + count]);
        const std::uint8_t min = count == 1 ? lead.second_min : 0x80;
        const std::uint8_t max = count == 1 ? lead.second_max : 0xBF;
        if (byte < min || byte > max) return {count, false};
        ++count;
    }
    return {count, count == lead.length};
}

} // namespace

void append_utf8(std::string& out, char32_t code_point) {
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
}

bool is_valid_utf8(std::string_view bytes) {
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        if (static_cast<std::uint8_t>(bytes[pos]) < 0x80) {
            ++pos;
            continue;
        }
        const Scan scan = scan_sequence(bytes, pos);
        if (!scan.complete) return false;
        pos += scan.valid_bytes;
    }
    return true;
}

void append_valid_utf8(std::string& out, std::string_view bytes) {
    std::size_t pos = 0;
    std::size_t run_start = 0; // start of the current run of well-formed bytes, copied in one go
    while (pos < bytes.size()) {
        if (static_cast<std::uint8_t>(bytes[pos]) < 0x80) {
            ++pos;
            continue;
        }
        const Scan scan = scan_sequence(bytes, pos);
        if (scan.complete) {
            pos += scan.valid_bytes;
            continue;
        }
        out.append(bytes.substr(run_start, pos - run_start));
        out += "\xEF\xBF\xBD";
        pos += scan.valid_bytes == 0 ? 1 : scan.valid_bytes;
        run_start = pos;
    }
    out.append(bytes.substr(run_start));
}

std::size_t incomplete_utf8_tail(std::string_view bytes) {
    // A sequence is at most 4 bytes, so only the last 3 can be an unfinished one.
    const std::size_t first = bytes.size() > 3 ? bytes.size() - 3 : 0;
    for (std::size_t pos = first; pos < bytes.size(); ++pos) {
        const auto lead = lead_byte(static_cast<std::uint8_t>(bytes[pos]));
        if (lead.length < 2) continue;
        const Scan scan = scan_sequence(bytes, pos);
        if (!scan.complete && pos + scan.valid_bytes == bytes.size()) return bytes.size() - pos;
    }
    return 0;
}

} // namespace lectern::tokenizer
