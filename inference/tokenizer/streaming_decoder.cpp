#include "inference/tokenizer/streaming_decoder.h"

#include "inference/tokenizer/utf8.h"

namespace lectern::tokenizer {

StreamingDecoder::StreamingDecoder(const BpeTokenizer& tokenizer, SpecialTokens special)
    : tokenizer_(&tokenizer), special_(special) {}

Result<std::string> StreamingDecoder::push(TokenId id) {
    if (!tokenizer_->contains(id)) {
        return Error{"cannot decode token id " + std::to_string(id) + ": the vocabulary has ids 0 to " +
                     std::to_string(tokenizer_->vocab_size() - 1)};
    }
    if (special_ == SpecialTokens::Skip && tokenizer_->is_special(id)) return std::string();
    pending_ += tokenizer_->token_bytes(id);
    const std::size_t held = incomplete_utf8_tail(pending_);
    std::string text;
    append_valid_utf8(text, std::string_view(pending_).substr(0, pending_.size() - held));
    pending_.erase(0, pending_.size() - held);
    return text;
}

std::string StreamingDecoder::finish() {
    std::string text;
    append_valid_utf8(text, pending_);
    pending_.clear();
    return text;
}

} // namespace lectern::tokenizer
