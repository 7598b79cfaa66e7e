#pragma once
// The tokenizer a GGUF file carries in its `tokenizer.ggml.*` metadata (byte-level BPE models), built
// with inference/tokenizer's GGUF vocabulary rules.

#include "inference/formats/gguf.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/result.h"

namespace lectern::model::dense {

Result<tokenizer::BpeTokenizer> load_gguf_tokenizer(const formats::GgufFile& file);

} // namespace lectern::model::dense
