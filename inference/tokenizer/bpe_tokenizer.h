#pragma once
// Byte-level BPE, as Hugging Face `tokenizers` runs it: added tokens are cut out first, the rest is
// normalized, split by the pre-tokenizer's regexes, and each piece is merged by rank. One class serves
// every byte-level BPE model: DeepSeek-V4 (loaded from tokenizer.json, see hf_tokenizer_json.h) and the
// built-in default model (built from GGUF metadata, see gguf_vocab.h).

#include "inference/tokenizer/pre_tokenizer.h"
#include "kernels/result.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lectern::tokenizer {

using TokenId = std::int32_t;

enum class Normalization { Nfc, Nfd, Nfkc, Nfkd };

// A token matched as a whole before pre-tokenization (HF `AddedToken`).
struct AddedToken {
    std::string content;
    TokenId id = 0;
    bool special = false;     // a control token: skipped by decode(..., SpecialTokens::Skip)
    bool normalized = false;  // matched in the normalized text rather than the raw text
    bool lstrip = false;      // swallows the whitespace before it
    bool rstrip = false;      // swallows the whitespace after it
    bool single_word = false; // matches only when not inside a word
};

// Everything a tokenizer is made of, in plain types, whatever file it came from.
struct TokenizerParts {
    // The model vocabulary spelled in the byte-level alphabet ("Ġthe"); the index is the id, and an
    // empty string marks an id the model vocabulary does not use (an added token may).
    std::vector<std::string> vocab;
    // Merges in rank order, each a pair of vocabulary spellings.
    std::vector<std::pair<std::string, std::string>> merges;
    std::vector<Normalization> normalizers;
    std::vector<SplitRule> pre_tokenizer; // applied in order, before the byte-level mapping
    bool ignore_merges = false;           // a piece that is itself a token is taken whole
    std::vector<AddedToken> added_tokens;
    bool byte_fallback = false;           // bytes missing from the vocabulary become <0xXX> tokens
    std::optional<TokenId> unknown_token; // what a missing byte becomes without byte fallback
    std::string source;                   // names the origin in error messages
};

// Whether added tokens written in the text are recognized. Text from documents must use AsText, so that
// a document containing "<｜User｜>" cannot forge a chat turn.
enum class AddedTokens { Match, AsText };

enum class SpecialTokens { Keep, Skip };

struct ByteRange {
    std::size_t begin;
    std::size_t end;
};

class BpeTokenizer {
public:
    static Result<BpeTokenizer> create(TokenizerParts parts);

    BpeTokenizer(BpeTokenizer&&) noexcept;
    BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
    ~BpeTokenizer();

    // Token ids of `text`, identical to HF `encode(text, add_special_tokens=False)`. Invalid UTF-8 is
    // first replaced by U+FFFD per maximal subpart (what Python's errors="replace" hands HF). Nothing
    // is added around the text: a chat prompt carries its own BOS. Safe to call from several threads.
    std::vector<TokenId> encode(std::string_view text, AddedTokens added = AddedTokens::Match) const;

    // Token ids of valid UTF-8 `text` in which added tokens are recognized only where they lie wholly
    // inside one of the sorted, disjoint `markup` ranges: a chat template's own markup, not the messages
    // (see ChatPrompt). Elsewhere the result is what encode() gives.
    std::vector<TokenId> encode_with_markup(std::string_view text, std::span<const ByteRange> markup) const;

    // The text of `ids`; bytes that do not form valid UTF-8 become U+FFFD (HF decode semantics).
    Result<std::string> decode(std::span<const TokenId> ids,
                               SpecialTokens special = SpecialTokens::Keep) const;

    // The raw bytes token `id` stands for (possibly part of a UTF-8 character); empty for an id
    // outside the vocabulary.
    std::string_view token_bytes(TokenId id) const;
    bool is_special(TokenId id) const;
    bool contains(TokenId id) const;

    // The id of a token by its written form: an added token's content ("<｜User｜>"), or a vocabulary
    // entry in the byte-level alphabet ("Ġthe").
    std::optional<TokenId> token_id(std::string_view written) const;

    // Number of ids, counting added tokens: the highest id + 1.
    std::size_t vocab_size() const { return token_bytes_.size(); }

    const std::vector<AddedToken>& added_tokens() const { return added_tokens_; }

private:
    struct Impl;
    explicit BpeTokenizer(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> impl_;
    std::vector<std::string> token_bytes_;
    std::vector<bool> special_;
    std::vector<AddedToken> added_tokens_;
    std::unordered_map<std::string, TokenId> added_by_content_;
};

} // namespace lectern::tokenizer
