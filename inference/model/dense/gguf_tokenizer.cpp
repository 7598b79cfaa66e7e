#include "inference/model/dense/gguf_tokenizer.h"

#include "inference/tokenizer/gguf_vocab.h"

#include <string>
#include <vector>

namespace lectern::model::dense {
namespace {

const std::vector<formats::GgufValue>* array_of(const formats::GgufFile& file, const char* key,
                                                formats::GgufType type) {
    const formats::GgufValue* value = file.find(key);
    if (!value || !value->as_array() || value->element_type != type) return nullptr;
    return value->as_array();
}

} // namespace

Result<tokenizer::BpeTokenizer> load_gguf_tokenizer(const formats::GgufFile& file) {
    auto model = file.require_string("tokenizer.ggml.model");
    if (!model) return std::move(model).take_error();
    std::string pre = "default";
    if (file.find("tokenizer.ggml.pre")) {
        auto named = file.require_string("tokenizer.ggml.pre");
        if (!named) return std::move(named).take_error();
        pre = *named;
    }
    const auto* tokens = array_of(file, "tokenizer.ggml.tokens", formats::GgufType::String);
    const auto* types = array_of(file, "tokenizer.ggml.token_type", formats::GgufType::I32);
    const auto* merges = array_of(file, "tokenizer.ggml.merges", formats::GgufType::String);
    if (!tokens || !types || !merges)
        return Error{file.path() +
                     ": the tokenizer metadata (tokenizer.ggml.tokens, .token_type, .merges) is "
                     "missing or of the wrong type"};
    std::vector<std::string> token_texts;
    token_texts.reserve(tokens->size());
    for (const formats::GgufValue& token : *tokens) token_texts.push_back(*token.as_string());
    std::vector<std::int32_t> token_types;
    token_types.reserve(types->size());
    for (const formats::GgufValue& type : *types)
        token_types.push_back(static_cast<std::int32_t>(*type.as_int()));
    std::vector<std::string> merge_texts;
    merge_texts.reserve(merges->size());
    for (const formats::GgufValue& merge : *merges) merge_texts.push_back(*merge.as_string());
    auto parts = tokenizer::gguf_tokenizer_parts(*model, pre, std::move(token_texts), token_types,
                                                 merge_texts, file.path());
    if (!parts) return std::move(parts).take_error();
    return tokenizer::BpeTokenizer::create(std::move(*parts));
}

} // namespace lectern::model::dense
