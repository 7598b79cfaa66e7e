#pragma once
// What a model's sequence state (its KV cache) will take for a given number of tokens, read from the
// model's metadata only (a GGUF header, a checkpoint's config.json), so a caller can check the memory
// before loading. The numbers are those the states' memory_bytes() report once the tokens are prefilled
// in one pass: the dense family's fp16 keys and values; DeepSeek-V4's bf16 sliding-window ring, compressed
// entries, indexer keys and fp32 compressor partial states (v4/state.h).

#include "kernels/result.h"

#include <cstdint>
#include <string>

namespace lectern::model {

struct MemoryEstimate {
    std::string family;               // "dense (llama)" or "DeepSeek-V4"
    std::int64_t tokens = 0;          // the tokens the estimate is for
    std::int64_t context_length = 0;  // the most tokens the model takes
    std::uint64_t fixed_bytes = 0;    // held whatever the length: windows, compressor states
    double bytes_per_token = 0;       // what each further token adds, on average
    std::uint64_t kv_cache_bytes = 0; // the state's memory_bytes() after `tokens` tokens
};

// `path`: a .gguf file (dense llama-family or deepseek4), a DeepSeek-V4 checkpoint folder, or the word
// `default`. Errors name the file and what is missing.
Result<MemoryEstimate> estimate_memory(const std::string& path, std::int64_t tokens);

} // namespace lectern::model
