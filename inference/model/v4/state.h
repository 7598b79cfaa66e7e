#pragma once
// One sequence's DeepSeek-V4 caches (architecture note §3.6): per layer the raw sliding-window ring, the
// compressed KV entries and the indexer keys, stored as bf16 bits as the reference keeps them (the graph
// rounds those values to bf16 before storing, so nothing is lost), and the fp32 compressor states that hold
// a block in progress.

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
    std::vector<std::uint16_t> window;     // bf16 [window_size, head_dim], slot = position mod window_size
    std::vector<std::uint16_t> entries;    // bf16 [positions / ratio, head_dim]
    std::vector<std::uint16_t> index_keys; // bf16 [positions / 4, index_head_dim] (CSA layers)
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
