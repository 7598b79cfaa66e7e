#include "inference/tokenizer/gguf_vocab.h"

#include <array>

namespace lectern::tokenizer {

Result<std::vector<SplitRule>> gguf_pre_tokenizer(std::string_view pre) {
    const SplitRule gpt2{std::string(kGpt2SplitPattern), SplitBehavior::Isolated, false};
    const SplitRule each_digit{R"(\p{N})", SplitBehavior::Isolated, false};
    if (pre == "default" || pre == "gpt2") return std::vector<SplitRule>{gpt2};
    constexpr std::array kDigitsThenGpt2{"smollm", "starcoder", "refact", "command-r", "codeshell"};
    for (const char* name : kDigitsThenGpt2) {
        if (pre == name) return std::vector<SplitRule>{each_digit, gpt2};
    }
    if (pre == "deepseek-v3") { // DeepSeek-V3 and V4: numbers in threes, CJK runs, then words and symbols
        return std::vector<SplitRule>{
            {R"(\p{N}{1,3})", SplitBehavior::Isolated, false},
            {"[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+", SplitBehavior::Isolated, false},
            {"[!\"#$%&'()*+,\\-./"
             ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
             "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
             SplitBehavior::Isolated, false}};
    }
    return Error{
        "the GGUF pre-tokenizer '" + std::string(pre) +
        "' is not supported yet (known: default, gpt2, smollm, starcoder, refact, command-r, codeshell, "
        "deepseek-v3)"};
}

Result<TokenizerParts> gguf_tokenizer_parts(std::string_view model, std::string_view pre,
                                            std::vector<std::string> tokens,
                                            std::span<const std::int32_t> token_types,
                                            std::span<const std::string> merges, std::string source) {
    if (model != "gpt2") {
        return Error{source + ": the tokenizer model '" + std::string(model) +
                     "' is not supported (only byte-level BPE, \"gpt2\")"};
    }
    if (!token_types.empty() && token_types.size() != tokens.size()) {
        return Error{source + ": tokenizer.ggml.token_type has " + std::to_string(token_types.size()) +
                     " entries for " + std::to_string(tokens.size()) + " tokens; the file is damaged"};
    }
    auto rules = gguf_pre_tokenizer(pre);
    if (!rules) return Error{source + ": " + rules.error()};

    TokenizerParts parts;
    parts.source = std::move(source);
    parts.pre_tokenizer = std::move(rules).value();
    for (std::size_t id = 0; id < token_types.size(); ++id) {
        const auto type = static_cast<GgufTokenType>(token_types[id]);
        if (type != GgufTokenType::Control && type != GgufTokenType::UserDefined) continue;
        AddedToken added;
        added.content = tokens[id];
        added.id = static_cast<TokenId>(id);
        added.special = type == GgufTokenType::Control;
        added.normalized = !added.special;
        parts.added_tokens.push_back(std::move(added));
    }
    parts.merges.reserve(merges.size());
    for (const std::string& merge : merges) {
        const auto space = merge.find(' ');
        if (space == std::string::npos || merge.find(' ', space + 1) != std::string::npos) {
            return Error{parts.source + ": the merge '" + merge +
                         "' is not two tokens separated by one space"};
        }
        parts.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
    }
    parts.vocab = std::move(tokens);
    return parts;
}

} // namespace lectern::tokenizer
