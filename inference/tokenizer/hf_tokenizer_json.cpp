#include "inference/tokenizer/hf_tokenizer_json.h"

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lectern::tokenizer {
namespace {

using Json = nlohmann::json;

std::string type_of(const Json& node) {
    const auto it = node.find("type");
    return it != node.end() && it->is_string() ? it->get<std::string>() : std::string("(no type)");
}

bool flag(const Json& node, const char* key, bool fallback) {
    const auto it = node.find(key);
    return it != node.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// A literal pattern (HF `{"String": ...}`) as PCRE2: every ASCII punctuation character escaped.
std::string escape_literal(const std::string& literal) {
    std::string escaped;
    for (const char ch : literal) {
        const auto byte = static_cast<unsigned char>(ch);
        if (byte < 0x80 && !std::isalnum(byte)) escaped += '\\';
        escaped += ch;
    }
    return escaped;
}

Result<SplitBehavior> parse_behavior(const std::string& name) {
    if (name == "Removed") return SplitBehavior::Removed;
    if (name == "Isolated") return SplitBehavior::Isolated;
    if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (name == "Contiguous") return SplitBehavior::Contiguous;
    return Error{"unknown split behavior '" + name + "'"};
}

Result<void> add_normalizer(const Json& node, TokenizerParts& parts) {
    if (node.is_null()) return {};
    const std::string type = type_of(node);
    if (type == "Sequence") {
        for (const Json& step : node.value("normalizers", Json::array())) {
            if (auto added = add_normalizer(step, parts); !added) return added;
        }
        return {};
    }
    if (type == "NFC")
        parts.normalizers.push_back(Normalization::Nfc);
    else if (type == "NFD")
        parts.normalizers.push_back(Normalization::Nfd);
    else if (type == "NFKC")
        parts.normalizers.push_back(Normalization::Nfkc);
    else if (type == "NFKD")
        parts.normalizers.push_back(Normalization::Nfkd);
    else
        return Error{"the normalizer '" + type + "' is not supported"};
    return {};
}

// Adds the pre-tokenizer's splits; `byte_level_seen` tracks the ByteLevel step, which must come last
// (the splits run on raw text; the byte-level mapping is implicit in the byte-keyed vocabulary).
Result<void> add_pre_tokenizer(const Json& node, TokenizerParts& parts, bool& byte_level_seen) {
    if (node.is_null()) return {};
    const std::string type = type_of(node);
    if (type == "Sequence") {
        for (const Json& step : node.value("pretokenizers", Json::array())) {
            if (auto added = add_pre_tokenizer(step, parts, byte_level_seen); !added) return added;
        }
        return {};
    }
    if (byte_level_seen) return Error{"a '" + type + "' pre-tokenizer after ByteLevel is not supported"};
    if (type == "ByteLevel") {
        byte_level_seen = true;
        // HF prepends the space to each piece before its regex runs; not reproduced, so refused.
        if (flag(node, "add_prefix_space", true))
            return Error{"ByteLevel with add_prefix_space is not supported"};
        if (flag(node, "use_regex", true)) {
            parts.pre_tokenizer.push_back({std::string(kGpt2SplitPattern), SplitBehavior::Isolated, false});
        }
        return {};
    }
    if (type == "Split") {
        const Json& pattern = node.value("pattern", Json::object());
        SplitRule rule;
        if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
            rule.pattern = pattern["Regex"].get<std::string>();
        } else if (pattern.contains("String") && pattern["String"].is_string()) {
            rule.pattern = escape_literal(pattern["String"].get<std::string>());
        } else {
            return Error{"a Split pre-tokenizer has no Regex or String pattern"};
        }
        auto behavior = parse_behavior(node.value("behavior", std::string("Isolated")));
        if (!behavior) return Error{behavior.error()};
        rule.behavior = *behavior;
        rule.invert = flag(node, "invert", false);
        parts.pre_tokenizer.push_back(std::move(rule));
        return {};
    }
    if (type == "Digits") {
        // HF splits on char::is_numeric, which is the Unicode N category.
        const bool individual = flag(node, "individual_digits", false);
        parts.pre_tokenizer.push_back(
            {R"(\p{N})", individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false});
        return {};
    }
    return Error{"the pre-tokenizer '" + type + "' is not supported"};
}

Result<void> check_decoder(const Json& node) {
    const std::string type = type_of(node);
    if (type == "ByteLevel") return {};
    return Error{"the decoder '" + type + "' is not supported (only ByteLevel)"};
}

Result<void> read_model(const Json& model, TokenizerParts& parts) {
    if (type_of(model) != "BPE") return Error{"the model type '" + type_of(model) + "' is not BPE"};
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
        const auto it = model.find(key);
        if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty())) {
            return Error{std::string("the BPE option '") + key + "' is not supported"};
        }
    }
    if (const auto it = model.find("dropout");
        it != model.end() && it->is_number() && it->get<double>() > 0) {
        return Error{"BPE dropout is for training and is not supported"};
    }
    parts.byte_fallback = flag(model, "byte_fallback", false);
    parts.ignore_merges = flag(model, "ignore_merges", false);

    // find(), not value(): value() would copy the whole vocabulary.
    const auto vocab_it = model.find("vocab");
    if (vocab_it == model.end() || !vocab_it->is_object() || vocab_it->empty()) {
        return Error{"the BPE model has no vocabulary"};
    }
    const Json& vocab = *vocab_it;
    for (const auto& [token, id_node] : vocab.items()) {
        if (!id_node.is_number_integer() || id_node.get<long long>() < 0 ||
            id_node.get<long long>() > (1 << 24)) {
            return Error{"the vocabulary entry '" + token + "' has no valid id"};
        }
        const auto id = static_cast<std::size_t>(id_node.get<long long>());
        if (parts.vocab.size() <= id) parts.vocab.resize(id + 1);
        parts.vocab[id] = token;
    }
    const auto merges_it = model.find("merges");
    if (merges_it == model.end() || !merges_it->is_array()) return Error{"the BPE model has no merges"};
    parts.merges.reserve(merges_it->size());
    for (const Json& merge : *merges_it) {
        if (merge.is_string()) {
            const std::string text = merge.get<std::string>();
            const auto space = text.find(' ');
            if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
                return Error{"the merge '" + text + "' is not two tokens separated by one space"};
            }
            parts.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
        } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
            parts.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
        } else {
            return Error{"a merge is neither \"a b\" nor [\"a\", \"b\"]"};
        }
    }
    if (const auto it = model.find("unk_token"); it != model.end() && it->is_string()) {
        const auto found = vocab.find(it->get<std::string>());
        if (found == vocab.end())
            return Error{"the unknown token '" + it->get<std::string>() + "' is not in the vocabulary"};
        parts.unknown_token = found->get<TokenId>();
    }
    return {};
}

Result<void> read_added_tokens(const Json& list, TokenizerParts& parts) {
    for (const Json& node : list) {
        if (!node.contains("id") || !node["id"].is_number_integer() || !node.contains("content") ||
            !node["content"].is_string()) {
            return Error{"an added token has no id or content"};
        }
        AddedToken token;
        token.id = node["id"].get<TokenId>();
        token.content = node["content"].get<std::string>();
        token.special = flag(node, "special", false);
        token.normalized = flag(node, "normalized", !token.special);
        token.lstrip = flag(node, "lstrip", false);
        token.rstrip = flag(node, "rstrip", false);
        token.single_word = flag(node, "single_word", false);
        parts.added_tokens.push_back(std::move(token));
    }
    return {};
}

} // namespace

Result<TokenizerParts> read_hf_tokenizer_json(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return Error{"cannot open the tokenizer file " + path + " (run scripts/fetch-models?)"};
    std::stringstream contents;
    contents << file.rdbuf();
    const Json root = Json::parse(contents.str(), nullptr, false);
    if (root.is_discarded() || !root.is_object()) return Error{path + " is not valid JSON; fetch it again"};

    TokenizerParts parts;
    parts.source = path;
    auto fail = [&](const std::string& what) -> Result<TokenizerParts> {
        return Error{path + ": " + what + "; Lectern cannot tokenize exactly like this file asks"};
    };
    if (!root.contains("model") || !root["model"].is_object()) return fail("there is no model section");
    if (auto read = read_model(root["model"], parts); !read) return fail(read.error());
    if (auto read = add_normalizer(root.value("normalizer", Json()), parts); !read) return fail(read.error());
    bool byte_level_seen = false;
    if (auto read = add_pre_tokenizer(root.value("pre_tokenizer", Json()), parts, byte_level_seen); !read) {
        return fail(read.error());
    }
    if (!byte_level_seen) return fail("the pre-tokenizer has no ByteLevel step (not a byte-level BPE)");
    if (auto read = check_decoder(root.value("decoder", Json())); !read) return fail(read.error());
    if (auto read = read_added_tokens(root.value("added_tokens", Json::array()), parts); !read) {
        return fail(read.error());
    }
    return parts;
}

Result<BpeTokenizer> load_hf_tokenizer(const std::string& path) {
    auto parts = read_hf_tokenizer_json(path);
    if (!parts) return Error{parts.error()};
    return BpeTokenizer::create(std::move(parts).value());
}

} // namespace lectern::tokenizer
