#include "inference/model/memory_estimate.h"

#include "inference/formats/gguf.h"
#include "inference/model/default_model.h"
#include "inference/model/dense/dense_model.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/gguf_layout.h"

#include <filesystem>

namespace lectern::model {
namespace {

constexpr std::uint64_t kHalfBytes = 2;  // fp16 (dense) and bf16 (V4) cache elements
constexpr std::uint64_t kFloatBytes = 4; // V4 compressor states

MemoryEstimate dense_estimate(const dense::DenseConfig& config, std::int64_t tokens) {
    // Keys and values, fp16, per layer and position (dense_model.h); nothing else grows with the length.
    const auto per_token =
        static_cast<std::uint64_t>(config.layers * config.kv_heads * config.head_dim) * 2 * kHalfBytes;
    MemoryEstimate estimate;
    estimate.family = "dense (" + config.architecture + ")";
    estimate.tokens = tokens;
    estimate.context_length = config.context_length;
    estimate.bytes_per_token = static_cast<double>(per_token);
    estimate.kv_cache_bytes = per_token * static_cast<std::uint64_t>(tokens);
    return estimate;
}

// Mirrors V4State: a compressor holds kv and score, each [lanes * ratio, lanes * width] fp32, with two
// overlapping lanes on CSA (ratio 4) layers.
std::uint64_t compressor_bytes(std::int64_t ratio, std::int64_t width) {
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    return static_cast<std::uint64_t>(lanes * ratio * lanes * width) * 2 * kFloatBytes;
}

MemoryEstimate v4_estimate(const v4::Config& config, std::int64_t tokens) {
    MemoryEstimate estimate;
    estimate.family = "DeepSeek-V4";
    estimate.tokens = tokens;
    estimate.context_length = config.max_seq_len;
    double per_token = 0;
    std::uint64_t growing = 0;
    for (std::int64_t layer = 0; layer < config.n_layers; ++layer) {
        estimate.fixed_bytes += static_cast<std::uint64_t>(config.window_size * config.head_dim) * kHalfBytes;
        const std::int64_t ratio = config.ratio(layer);
        if (ratio == 0) continue;
        const auto blocks = static_cast<std::uint64_t>(tokens / ratio);
        estimate.fixed_bytes += compressor_bytes(ratio, config.head_dim);
        growing += blocks * static_cast<std::uint64_t>(config.head_dim) * kHalfBytes;
        per_token += static_cast<double>(config.head_dim * kHalfBytes) / static_cast<double>(ratio);
        if (ratio != 4) continue;
        // The indexer keeps one key per CSA block and its own compressor.
        estimate.fixed_bytes += compressor_bytes(ratio, config.index_head_dim);
        growing += blocks * static_cast<std::uint64_t>(config.index_head_dim) * kHalfBytes;
        per_token += static_cast<double>(config.index_head_dim * kHalfBytes) / static_cast<double>(ratio);
    }
    estimate.bytes_per_token = per_token;
    estimate.kv_cache_bytes = estimate.fixed_bytes + growing;
    return estimate;
}

} // namespace

Result<MemoryEstimate> estimate_memory(const std::string& path, std::int64_t tokens) {
    if (tokens < 0) return Error{"cannot estimate the cache for a negative number of tokens"};
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
        auto config = v4::load_config((std::filesystem::path(path) / "config.json").string());
        if (!config) return std::move(config).take_error();
        return v4_estimate(*config, tokens);
    }
    std::string file_path = path;
    if (path == "default") {
        auto found = default_model_path();
        if (!found) return std::move(found).take_error();
        file_path = *found;
    }
    if (!file_path.ends_with(".gguf"))
        return Error{"cannot estimate the memory of " + path +
                     ": it is neither a .gguf file nor a checkpoint folder with a config.json"};
    auto file = formats::GgufFile::open(file_path);
    if (!file) return std::move(file).take_error();
    const formats::GgufValue* architecture = file->find("general.architecture");
    if (architecture && architecture->as_string() && *architecture->as_string() == v4::gguf::kArchitecture) {
        auto config = v4::gguf::read_config(*file);
        if (!config) return std::move(config).take_error();
        return v4_estimate(*config, tokens);
    }
    auto config = dense::read_dense_config(*file);
    if (!config) return std::move(config).take_error();
    return dense_estimate(*config, tokens);
}

} // namespace lectern::model
