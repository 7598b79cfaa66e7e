#pragma once
// The dense graph's device half, whichever GPU backend runs it (dense_vulkan.h, dense_cuda.h): layers
// [first_layer, layers) and the output head, with their weights uploaded once and an fp16 key/value cache
// on the device. The host runs the embedding lookup (a row gather from the mapped file) and any layers
// before first_layer, then hands the hidden rows over. Both backends lay out their buffers alike, so one
// footprint serves both.

#include "inference/backend/backend.h"
#include "inference/formats/gguf.h"
#include "inference/model/dense/dense_model.h"
#include "kernels/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lectern::model::dense {

// One sequence's device state: the fp16 keys and values of the device layers, [layer][keys | values]
// [capacity][kv_dim]. The capacity grows in steps and never shrinks.
class DeviceCache {
public:
    virtual ~DeviceCache() = default;

    // The bytes the device holds for this cache.
    virtual std::uint64_t bytes() const = 0;
    // Copies positions [0, positions) of device layer `index` (counted from first_layer) to or from host
    // memory, [positions, kv_dim] fp16 each: the layout of the CPU graph's cache.
    virtual Result<void> read(std::int64_t index, std::int64_t positions, std::uint16_t* keys,
                              std::uint16_t* values) const = 0;
    virtual Result<void> write(std::int64_t index, std::int64_t positions, const std::uint16_t* keys,
                               const std::uint16_t* values) = 0;

    // Room for `positions` positions, keeping the first `used`. The used positions wait in host memory
    // while the old buffer goes and the larger one is made, so the device never holds both; where the
    // larger one has no room, the old size is made again with its values and the error says so.
    Result<void> reserve(std::int64_t positions, std::int64_t used);
    // A copy holding this cache's first `positions` positions.
    Result<std::unique_ptr<DeviceCache>> clone(std::int64_t positions) const;

    std::int64_t capacity() const { return capacity_; }

protected:
    DeviceCache(std::int64_t layers, std::int64_t kv_dim, std::int64_t max_positions)
        : layers_(layers), kv_dim_(kv_dim), max_positions_(max_positions) {}
    // The backend's buffer: drop() frees it (capacity 0), make() allocates room for `capacity` positions
    // (its contents undefined) or says why not, empty() is a new cache of the same shape with no buffer.
    virtual void drop() = 0;
    virtual Result<void> make(std::int64_t capacity) = 0;
    virtual std::unique_ptr<DeviceCache> empty() const = 0;
    // What names the device in messages.
    virtual std::string device_name() const = 0;

    std::size_t half_bytes(std::int64_t positions) const {
        return static_cast<std::size_t>(positions * kv_dim_) * sizeof(std::uint16_t);
    }
    // Where layer `index`'s keys and values start in the buffer.
    std::size_t keys_offset(std::int64_t index) const {
        return half_bytes(capacity_) * static_cast<std::size_t>(2 * index);
    }
    std::size_t values_offset(std::int64_t index) const {
        return half_bytes(capacity_) * static_cast<std::size_t>(2 * index + 1);
    }

    std::int64_t layers_ = 0, kv_dim_ = 0, max_positions_ = 0;
    std::int64_t capacity_ = 0; // set by make() and drop()

private:
    Result<void> write_all(std::int64_t used, const std::vector<std::uint16_t>& keys,
                           const std::vector<std::uint16_t>& values);
};

// The device half of one loaded model.
class DeviceGraph {
public:
    virtual ~DeviceGraph() = default;

    virtual std::unique_ptr<DeviceCache> new_cache() const = 0;
    // Runs the device layers and the head on x [rows, embedding] (the hidden rows entering first_layer) at
    // positions first .. first + rows - 1, appending to the cache (one new_cache() made). Writes the logits
    // of the last `logit_rows` rows (0 .. rows) to `logits` [logit_rows, vocab].
    virtual Result<void> forward(DeviceCache& cache, std::int64_t first, const float* x, std::int64_t rows,
                                 std::int64_t logit_rows, float* logits) const = 0;
    virtual std::uint64_t weight_bytes() const = 0;
    // Everything this graph's device holds now.
    virtual std::uint64_t device_bytes_in_use() const = 0;
};

// What a device half with every layer, and one sequence's cache over `context` positions, takes in device
// memory (backend::plan_device chooses the layers from it).
backend::DeviceFootprint device_footprint(const formats::GgufFile& file, const DenseConfig& config,
                                          std::int64_t max_rows, std::int64_t context);

// --- the layout both backends share ------------------------------------------------------------------

// Every section of the inputs buffer starts at a multiple of this, which any device can bind.
constexpr std::size_t kInputAlignment = 256;

// The tensors the device half reads: those of layers [first_layer, layers), in the order the backends
// bind them (nine per layer: attn_norm, q, k, v, output, ffn_norm, gate, up, down), then the output norm
// and head.
std::vector<std::string> device_tensor_names(const formats::GgufFile& file, const DenseConfig& config,
                                             std::int64_t first_layer);

// The inputs buffer holds the first position (a uint32) at 0, the RoPE table ([rows, head_dim / 2]
// (cos, sin) pairs) at kInputAlignment, and the rows at input_rows_offset.
std::size_t input_rows_offset(const DenseConfig& config, std::int64_t max_rows);

// The working buffers' sizes for max_rows rows: inputs, h, q, k, v, attn, out, gate, up, logits.
constexpr std::size_t kWorkingBuffers = 10;
std::array<std::size_t, kWorkingBuffers> working_sizes(const DenseConfig& config, std::int64_t max_rows);

// The RoPE table of positions first .. first + rows - 1, as the CPU graph makes its angles.
std::vector<float> rope_table(const DenseConfig& config, std::int64_t first, std::int64_t rows);

} // namespace lectern::model::dense
