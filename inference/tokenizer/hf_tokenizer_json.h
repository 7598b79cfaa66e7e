#pragma once
// Reads a Hugging Face tokenizer.json (byte-level BPE) into TokenizerParts, keeping its normalizer,
// pre-tokenizer splits, merges and added tokens as declared. Anything the file declares that this
// tokenizer cannot reproduce exactly is refused with a message naming it, never silently approximated.

#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/result.h"

#include <string>

namespace lectern::tokenizer {

Result<TokenizerParts> read_hf_tokenizer_json(const std::string& path);

// read_hf_tokenizer_json + BpeTokenizer::create.
Result<BpeTokenizer> load_hf_tokenizer(const std::string& path);

} // namespace lectern::tokenizer
