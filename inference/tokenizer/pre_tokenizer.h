#pragma once
// The pre-tokenizer: the regex splits a tokenizer declares (HF `Split`, `Digits`, and the GPT-2 split of
// `ByteLevel` with use_regex), run in order through PCRE2 (UTF + UCP, JIT), so that \p{L}, \p{N} and
// lookahead mean what they mean in the Hugging Face reference.

#include "kernels/result.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lectern::tokenizer {

// How a split treats the text its pattern matches (HF `SplitDelimiterBehavior`).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct SplitRule {
    // Oniguruma syntax, as HF tokenizer.json writes it (run by PCRE2, which reads it the same once \s is
    // narrowed to Unicode White_Space); a literal has its ASCII punctuation escaped.
    std::string pattern;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false; // split on what the pattern does NOT match
};

// The regex GPT-2's ByteLevel pre-tokenizer splits with (HF `ByteLevel` with use_regex = true).
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct PieceRange {
    std::size_t begin;
    std::size_t end;
};

class PreTokenizer {
public:
    static Result<PreTokenizer> create(std::vector<SplitRule> rules);

    PreTokenizer(PreTokenizer&&) noexcept;
    PreTokenizer& operator=(PreTokenizer&&) noexcept;
    ~PreTokenizer();

    // Appends the pieces of `text` (valid UTF-8), in order, as byte ranges relative to `text` plus
    // `base`. Empty pieces are never produced. Safe to call from several threads at once.
    void split(std::string_view text, std::size_t base, std::vector<PieceRange>& pieces) const;

    const std::vector<SplitRule>& rules() const { return rules_; }

private:
    struct Compiled;
    PreTokenizer(std::vector<SplitRule> rules, std::unique_ptr<Compiled> compiled);

    std::vector<SplitRule> rules_;
    std::unique_ptr<Compiled> compiled_;
};

} // namespace lectern::tokenizer
