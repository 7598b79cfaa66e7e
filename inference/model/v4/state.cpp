#include "inference/model/v4/state.h"

#include <cstring>
#include <limits>

namespace lectern::model::v4 {
namespace {

constexpr std::uint32_t kStateMagic = 0x34565344; // "DSV4"
constexpr std::uint32_t kStateVersion = 2;        // 2: window, entries and index keys as bf16

CompressorState empty_compressor(std::int64_t ratio, std::int64_t width) {
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    const auto size = static_cast<std::size_t>(lanes * ratio * lanes * width);
    return {std::vector<float>(size, 0.0f),
            std::vector<float>(size, -std::numeric_limits<float>::infinity())};
}

class Writer {
public:
    void u64(std::uint64_t value) { raw(&value, 8); }
    template <typename T>
    void values(const std::vector<T>& items) {
        u64(items.size());
        raw(items.data(), items.size() * sizeof(T));
    }
    std::vector<std::byte> take() { return std::move(bytes_); }

private:
    void raw(const void* data, std::size_t size) {
        const auto* begin = static_cast<const std::byte*>(data);
        bytes_.insert(bytes_.end(), begin, begin + size);
    }
    std::vector<std::byte> bytes_;
};

class Reader {
public:
    explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
    bool u64(std::uint64_t& value) { return raw(&value, 8); }
    // Reads a vector whose length must be `expected_size`.
    template <typename T>
    bool values(std::vector<T>& items, std::size_t expected_size) {
        std::uint64_t size = 0;
        if (!u64(size) || size != expected_size) return false;
        if (size > (bytes_.size() - offset_) / sizeof(T)) return false;
        items.resize(static_cast<std::size_t>(size));
        return raw(items.data(), items.size() * sizeof(T));
    }
    bool at_end() const { return offset_ == bytes_.size(); }

private:
    bool raw(void* out, std::size_t size) {
        if (size > bytes_.size() - offset_) return false;
        if (size) std::memcpy(out, bytes_.data() + offset_, size);
        offset_ += size;
        return true;
    }
    std::span<const std::byte> bytes_;
    std::size_t offset_ = 0;
};

std::uint64_t config_fingerprint(const Config& c) {
    std::uint64_t hash = 1469598103934665603ull;
    auto mix = [&](std::int64_t value) {
        hash ^= static_cast<std::uint64_t>(value);
        hash *= 1099511628211ull;
    };
    for (std::int64_t value : {c.n_layers, c.head_dim, c.window_size, c.index_head_dim, c.dim, c.vocab_size})
        mix(value);
    for (std::int64_t ratio : c.compress_ratios) mix(ratio);
    return hash;
}

} // namespace

V4State::V4State(const Config& config)
    : fingerprint_(config_fingerprint(config)), head_dim_(config.head_dim),
      index_head_dim_(config.index_head_dim) {
    ratios_.assign(config.compress_ratios.begin(), config.compress_ratios.begin() + config.n_layers);
    layers.resize(static_cast<std::size_t>(config.n_layers));
    for (std::int64_t i = 0; i < config.n_layers; ++i) {
        LayerCache& cache = layers[static_cast<std::size_t>(i)];
        cache.window.assign(static_cast<std::size_t>(config.window_size * config.head_dim), 0);
        const std::int64_t ratio = config.ratio(i);
        if (ratio != 0) cache.compressor = empty_compressor(ratio, config.head_dim);
        if (ratio == 4) cache.indexer_compressor = empty_compressor(ratio, config.index_head_dim);
    }
}

V4State::V4State(const V4State& other)
    : SequenceState(other), position_(other.position_), layers(other.layers),
      fingerprint_(other.fingerprint_), head_dim_(other.head_dim_), index_head_dim_(other.index_head_dim_),
      ratios_(other.ratios_) {
    if (other.device_is_newer) {
        // A failed read-back leaves the copy unusable (until a restore) rather than silently stale.
        if (auto read = other.device->read_back(layers); !read)
            unusable_ = "copying the device caches failed: " + read.error();
    }
}

Result<void> V4State::read_back_from_device() {
    if (!unusable_.empty()) return Error{unusable_};
    if (!device_is_newer) return {};
    if (auto read = device->read_back(layers); !read) return read;
    device_is_newer = false;
    return {};
}

void V4State::invalidate(const std::string& why) {
    unusable_ = why;
    device.reset();
    device_is_newer = false;
}

Result<void> V4State::usable() const {
    if (!unusable_.empty()) return Error{unusable_};
    return {};
}

std::uint64_t V4State::memory_bytes() const {
    std::uint64_t total = device_bytes();
    for (const LayerCache& cache : layers)
        total +=
            (cache.window.size() + cache.entries.size() + cache.index_keys.size()) * sizeof(std::uint16_t) +
            (cache.compressor.kv.size() * 2 + cache.indexer_compressor.kv.size() * 2) * sizeof(float);
    return total;
}

std::vector<std::byte> V4State::snapshot() const {
    if (!unusable_.empty()) return {}; // restore() refuses an empty snapshot
    std::vector<LayerCache> read_back;
    if (device_is_newer) {
        read_back = layers;
        if (!device->read_back(read_back)) return {};
    }
    const std::vector<LayerCache>& newest = device_is_newer ? read_back : layers;
    Writer out;
    out.u64(kStateMagic);
    out.u64(kStateVersion);
    out.u64(fingerprint_);
    out.u64(static_cast<std::uint64_t>(position_));
    out.u64(newest.size());
    for (const LayerCache& cache : newest) {
        out.values(cache.window);
        out.values(cache.entries);
        out.values(cache.index_keys);
        out.values(cache.compressor.kv);
        out.values(cache.compressor.score);
        out.values(cache.indexer_compressor.kv);
        out.values(cache.indexer_compressor.score);
    }
    return out.take();
}

Result<void> V4State::restore(std::span<const std::byte> bytes) {
    Reader in(bytes);
    std::uint64_t magic = 0, version = 0, fingerprint = 0, position = 0, layer_count = 0;
    if (!in.u64(magic) || magic != kStateMagic || !in.u64(version))
        return Error{"the snapshot is not a DeepSeek-V4 sequence state"};
    if (version != kStateVersion)
        return Error{"the snapshot's DeepSeek-V4 state version " + std::to_string(version) +
                     " is not supported (expected " + std::to_string(kStateVersion) + ")"};
    if (!in.u64(fingerprint) || fingerprint != fingerprint_)
        return Error{"the snapshot was made with a different DeepSeek-V4 configuration"};
    if (!in.u64(position) || !in.u64(layer_count) || layer_count != layers.size())
        return Error{"the snapshot's DeepSeek-V4 state is damaged (layer count)"};
    std::vector<LayerCache> restored = layers;
    for (std::size_t i = 0; i < restored.size(); ++i) {
        LayerCache& cache = restored[i];
        const LayerCache& shape = layers[i];
        const std::int64_t ratio = ratios_[i];
        const auto blocks = static_cast<std::size_t>(ratio ? static_cast<std::int64_t>(position) / ratio : 0);
        const auto head_dim = static_cast<std::size_t>(head_dim_);
        const auto index_dim = static_cast<std::size_t>(index_head_dim_);
        const bool ok = in.values(cache.window, shape.window.size()) &&
                        in.values(cache.entries, blocks * head_dim) &&
                        in.values(cache.index_keys, ratio == 4 ? blocks * index_dim : 0) &&
                        in.values(cache.compressor.kv, shape.compressor.kv.size()) &&
                        in.values(cache.compressor.score, shape.compressor.score.size()) &&
                        in.values(cache.indexer_compressor.kv, shape.indexer_compressor.kv.size()) &&
                        in.values(cache.indexer_compressor.score, shape.indexer_compressor.score.size());
        if (!ok)
            return Error{"the snapshot's DeepSeek-V4 state is damaged (layer " + std::to_string(i) + ")"};
    }
    if (!in.at_end()) return Error{"the snapshot's DeepSeek-V4 state has trailing bytes"};
    layers = std::move(restored);
    position_ = static_cast<std::int64_t>(position);
    device_is_newer = false;
    unusable_.clear();
    return {};
}

} // namespace lectern::model::v4
