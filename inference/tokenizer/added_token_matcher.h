#pragma once
// Finds added tokens in text the way HF's AddedVocabulary does: leftmost-longest, honouring the
// single_word, lstrip and rstrip flags.

#include "inference/tokenizer/bpe_tokenizer.h"

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

namespace lectern::tokenizer {

struct AddedTokenMatch {
    std::size_t begin; // including whitespace an lstrip token swallows
    std::size_t end;   // including whitespace an rstrip token swallows
    TokenId id;
};

class AddedTokenMatcher {
public:
    AddedTokenMatcher() = default;
    explicit AddedTokenMatcher(const std::vector<const AddedToken*>& tokens);

    bool empty() const { return nodes_.size() <= 1; }

    // All matches in `text`, in order, not overlapping.
    std::vector<AddedTokenMatch> find_all(std::string_view text) const;

private:
    struct Node {
        std::vector<std::pair<unsigned char, int>> children; // sorted by byte
        const AddedToken* token = nullptr;
    };
    int child(int node, unsigned char byte) const;

    std::vector<Node> nodes_{Node{}};
    std::array<bool, 256> starts_token_{};
};

} // namespace lectern::tokenizer
