#include "inference/tokenizer/added_token_matcher.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>

namespace lectern::tokenizer {
namespace {

// Rust's char::is_whitespace and char::is_alphanumeric (plus '_'), which HF uses for these flags.
bool is_whitespace(UChar32 c) {
    return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE);
}
bool is_word_char(UChar32 c) {
    if (c == '_' || u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
    const auto category = u_charType(c);
    return category == U_DECIMAL_DIGIT_NUMBER || category == U_LETTER_NUMBER || category == U_OTHER_NUMBER;
}

UChar32 char_before(std::string_view text, std::size_t pos, std::size_t* start) {
    auto offset = static_cast<int32_t>(pos);
    UChar32 c = 0;
    U8_PREV(reinterpret_cast<const uint8_t*>(text.data()), 0, offset, c);
    *start = static_cast<std::size_t>(offset);
    return c;
}

UChar32 char_at(std::string_view text, std::size_t pos, std::size_t* next) {
    auto offset = static_cast<int32_t>(pos);
    UChar32 c = 0;
    U8_NEXT(reinterpret_cast<const uint8_t*>(text.data()), offset, static_cast<int32_t>(text.size()), c);
    *next = static_cast<std::size_t>(offset);
    return c;
}

} // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<const AddedToken*>& tokens) {
    for (const AddedToken* token : tokens) {
        if (token->content.empty()) continue;
        int node = 0;
        for (const char ch : token->content) {
            const auto byte = static_cast<unsigned char>(ch);
            int next = child(node, byte);
            if (next < 0) {
                next = static_cast<int>(nodes_.size());
                nodes_.emplace_back();
                auto& children = nodes_[node].children;
                children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0)),
                                {byte, next});
            }
            node = next;
        }
        // The first added token with a given content wins, as in HF's map from content to id.
        if (!nodes_[node].token) nodes_[node].token = token;
        starts_token_[static_cast<unsigned char>(token->content[0])] = true;
    }
}

int AddedTokenMatcher::child(int node, unsigned char byte) const {
    const auto& children = nodes_[node].children;
    const auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0));
    return it != children.end() && it->first == byte ? it->second : -1;
}

std::vector<AddedTokenMatch> AddedTokenMatcher::find_all(std::string_view text) const {
    std::vector<AddedTokenMatch> matches;
    if (empty()) return matches;
    std::size_t previous_end = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (!starts_token_[static_cast<unsigned char>(text[pos])]) {
            ++pos;
            continue;
        }
        const AddedToken* longest = nullptr;
        std::size_t longest_end = 0;
        int node = 0;
        for (std::size_t i = pos; i < text.size(); ++i) {
            node = child(node, static_cast<unsigned char>(text[i]));
            if (node < 0) break;
            if (nodes_[node].token) {
                longest = nodes_[node].token;
                longest_end = i + 1;
            }
        }
        if (!longest) {
            ++pos;
            continue;
        }
        std::size_t begin = pos;
        std::size_t end = longest_end;
        pos = longest_end;
        if (longest->single_word) {
            std::size_t unused = 0;
            const bool word_before = begin > 0 && is_word_char(char_before(text, begin, &unused));
            const bool word_after = end < text.size() && is_word_char(char_at(text, end, &unused));
            if (word_before || word_after) continue;
        }
        if (longest->lstrip) {
            while (begin > previous_end) {
                std::size_t start = 0;
                if (!is_whitespace(char_before(text, begin, &start))) break;
                begin = std::max(start, previous_end);
            }
        }
        if (longest->rstrip) {
            while (end < text.size()) {
                std::size_t next = 0;
                if (!is_whitespace(char_at(text, end, &next))) break;
                end = next;
            }
            pos = end;
        }
        matches.push_back({begin, end, longest->id});
        previous_end = end;
    }
    return matches;
}

} // namespace lectern::tokenizer
