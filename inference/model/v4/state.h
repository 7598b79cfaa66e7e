#pragma once
// One sequence's DeepSeek-V4 caches (architecture note §3.6): per layer the raw sliding-window ring, the
// compressed KV entries and the indexer keys, stored as bf16 bits as the reference keeps them (the graph
// rounds those values to bf16 before storing, so nothing is lost), and the fp32 compressor states that hold
// a block in progress.

#include "inference/model/model.h"
#include "inference/model/v4/config.h"

#include <cstdint>
#include <memory>
#include <string>
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

// The caches of some layers held on a GPU (v4_device.h). After a device forward the device has the newest
// values; read_back() copies them into the host layout, which snapshots and clones read.
class DeviceCaches {
public:
    virtual ~DeviceCaches() = default;
    // Writes the device layers' caches into `layers` (indexed like V4State::layers), as of the last
    // position the device computed (which during a forward may lag V4State::position_).
    virtual Result<void> read_back(std::vector<LayerCache>& layers) const = 0;
    virtual std::uint64_t bytes() const = 0;
};

class V4State final : public SequenceState {
public:
    explicit V4State(const Config& config);
    // A copy holds the host caches only (the device's read back first); its next device forward
    // uploads them.
    V4State(const V4State& other);
    V4State& operator=(const V4State& other) { return *this = V4State(other); }
    V4State(V4State&&) = default;
    V4State& operator=(V4State&&) = default;

    std::int64_t position() const override { return position_; }
    std::uint64_t memory_bytes() const override;
    std::uint64_t device_bytes() const override { return device ? device->bytes() : 0; }
    std::vector<std::byte> snapshot() const override;
    Result<void> restore(std::span<const std::byte> bytes) override;
    std::unique_ptr<SequenceState> clone() const override { return std::make_unique<V4State>(*this); }

    // The host caches with the device's newest values read back into them (device_is_newer then false).
    Result<void> read_back_from_device();
    // After a device forward failed part way: the caches are neither before nor after it, so every later
    // use of this state fails with `why` until a snapshot is restored into it.
    void invalidate(const std::string& why);
    Result<void> usable() const;

    std::int64_t position_ = 0;
    std::vector<LayerCache> layers;
    // The device layers' caches, when a GPU runs them; newest there while device_is_newer, otherwise
    // `layers` is newest and the device copy is stale (remade from `layers` at the next device forward).
    std::unique_ptr<DeviceCaches> device;
    bool device_is_newer = false;

private:
    std::string unusable_;      // why the caches cannot be used (a failed copy or device forward)
    std::uint64_t fingerprint_; // of the config fields that shape the caches
    std::int64_t head_dim_;
    std::int64_t index_head_dim_;
    std::vector<std::int64_t> ratios_;
};

} // namespace lectern::model::v4
