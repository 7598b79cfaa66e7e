#pragma once
// One sequence's DeepSeek-V4 caches (architecture note §3.6): per layer the raw sliding-window ring, the
// compressed KV entries, the indexer keys, and the fp32 compressor states that hold a block in progress.
// Everything is fp32 in memory; values are bf16-exact where the reference keeps bf16.

#include "inference/model/model.h"
#include "inference/model/v4/config.h"

#include <cstdint>
#include <vector>

namespace lectern::model::v4 {

struct CompressorState {
    std::vector<float> kv;    // [lanes * ratio, lanes * width], initially 0
    std::vector<float> score; // same shape, initially -inf
};

struct LayerCache {
    std::vector<float> window;     // [window_size, head_dim], slot = position mod window_size
    std::vector<float> entries;    // [positions / ratio, head_dim]
    std::vector<float> index_keys; // [positions / 4, index_head_dim] (CSA layers)
    CompressorState compressor;
    CompressorState indexer_compressor;
};

class V4State final : public SequenceState {
public:
    explicit V4State(const Config& config);

    std::int64_t position() const override { return position_; }
    std::uint64_t memory_bytes() const override;
    std::vector<std::byte> snapshot() const override;
    Result<void> restore(std::span<const std::byte> bytes) override;
    std::unique_ptr<SequenceState> clone() const override { return std::make_unique<V4State>(*this); }

    std::int64_t position_ = 0;
    std::vector<LayerCache> layers;

private:
    std::uint64_t fingerprint_; // of the config fields that shape the caches
    std::int64_t head_dim_;
    std::int64_t index_head_dim_;
    std::vector<std::int64_t> ratios_;
};

} // namespace lectern::model::v4
