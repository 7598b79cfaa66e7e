#pragma once
// The small dense family (Llama-style: SmolLM2, the built-in default model) from a GGUF file, on the CPU,
// or with its last layers and the head on a GPU (dense_device.h: Vulkan or CUDA).
// Graph: token embedding; per layer RMSNorm, grouped-query attention with RoPE and a KV cache, RMSNorm,
// SwiGLU feed-forward, each with a residual; final RMSNorm and the output projection (the embedding
// itself when the file has no `output.weight`, as with SmolLM2's tied embeddings).
//
// RoPE: llama.cpp uses its "normal" mode for the llama architecture, rotating adjacent pairs
// (x[2i], x[2i+1]) by pos * base^(-2i/d); its converter permutes HF's q/k weights so that this equals
// HF's half-split rotation. We read those permuted weights, so we rotate adjacent pairs too.
// The KV cache holds fp16 values, as llama.cpp's default cache does.

#include "inference/formats/gguf.h"
#include "inference/model/factory.h"
#include "inference/model/model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lectern::model::dense {

struct DenseConfig {
    std::string architecture; // "llama"
    std::int64_t layers = 0;
    std::int64_t embedding = 0;
    std::int64_t heads = 0;
    std::int64_t kv_heads = 0;
    std::int64_t head_dim = 0;
    std::int64_t feed_forward = 0;
    std::int64_t vocab = 0;
    std::int64_t context_length = 0;
    double rope_base = 10000.0;
    double rms_epsilon = 1e-5;
};

// Reads the config from `llama.*` metadata; the error names the file and the key.
Result<DenseConfig> read_dense_config(const formats::GgufFile& file);

// Opens a dense GGUF model; `threads` <= 0 uses every core. The request (backend/backend.h, resolved)
// places the last layers and the head on a GPU; by default the CPU runs everything.
Result<std::unique_ptr<Model>>
load_dense_gguf(const std::string& path, const LoadProgress& progress = {}, int threads = 0,
                const backend::Request& request = {backend::Choice::Cpu, {}, {}, {}, {}});

// The model factory's built-in loaders for `*.gguf` files and for the word `default` (the built-in model,
// found by default_model_path()).
std::vector<Loader> dense_loaders();

} // namespace lectern::model::dense
