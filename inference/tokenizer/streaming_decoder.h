#pragma once
// Turns generated token ids into text as they arrive, never emitting half a character: a multi-byte
// UTF-8 character split across tokens is held back until its last byte comes.

#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/result.h"

#include <string>

namespace lectern::tokenizer {

class StreamingDecoder {
public:
    explicit StreamingDecoder(const BpeTokenizer& tokenizer, SpecialTokens special = SpecialTokens::Keep);

    // The text that became complete with `id` (often empty while a character is unfinished). Bytes that
    // can never become valid UTF-8 are emitted as U+FFFD right away.
    Result<std::string> push(TokenId id);

    // Ends the stream: what is still held back (an unfinished character) comes out as U+FFFD.
    std::string finish();

private:
    const BpeTokenizer* tokenizer_;
    SpecialTokens special_;
    std::string pending_;
};

} // namespace lectern::tokenizer
