#pragma once
// Converts a DeepSeek-V4 safetensors checkpoint folder (config.json, shards, tokenizer.json) into one GGUF
// file in llama.cpp's DeepSeek-V4 layout (inference/model/v4/gguf_layout.h, README "GGUF"):
//   - FP8 e4m3 dense linears -> their exact BF16 values (llama.cpp has no FP8 type), marked with
//     gguf::kFp8LinearsKey so Lectern restores the FP8 codes bit for bit;
//   - packed FP4 routed experts -> MXFP4, merged per layer and matrix as llama.cpp does (lossless);
//   - BF16 matrices as BF16, vectors as F32 (exact), F32 as F32, the I64 hash table as I32;
//   - tokenizer.json -> tokenizer.ggml.* (byte-level BPE, pre-tokenizer "deepseek-v3").
// Tensors are converted one at a time as the file is written (the most in memory at once: one layer's
// merged experts), reading the shards through their memory maps.

#include "kernels/result.h"

#include <cstdint>
#include <string>

namespace lectern::tools {

struct V4GgufSummary {
    std::int64_t tensors = 0;     // written to the GGUF file
    std::int64_t fp8_linears = 0; // written as BF16, restorable to FP8
    std::int64_t expert_tensors = 0;
    bool tokenizer = false;
};

Result<V4GgufSummary> convert_v4_to_gguf(const std::string& folder, const std::string& gguf_path);

} // namespace lectern::tools
