#pragma once
// The dense graph's device half on Vulkan: layers [first_layer, layers) and the output head, with their
// weights uploaded once and an fp16 key/value cache on the device. The host runs the embedding lookup
// (a row gather from the mapped file) and any layers before first_layer, then hands the hidden rows over.
// Each sequence's DeviceCache keeps one recorded command stream per slice shape (rows, logit rows) and
// submits it again for the next slice of that shape: every decode step reuses one recording, because the
// position comes from a device buffer rather than from the recording.

#include "inference/backend/backend.h"
#include "inference/formats/gguf.h"
#include "inference/model/dense/dense_model.h"
#include "kernels/result.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace lectern::kernels::vulkan {
class Context;
} // namespace lectern::kernels::vulkan

namespace lectern::model::dense {

class DenseVulkanGraph;

// One sequence's device state: the fp16 keys and values of the device layers.
class DeviceCache {
public:
    ~DeviceCache();
    std::uint64_t bytes() const;
    // Room for `positions` positions, keeping the first `used`; it grows in steps and never shrinks.
    Result<void> reserve(std::int64_t positions, std::int64_t used);
    // Copies positions [0, positions) of device layer `index` (counted from first_layer) to or from host
    // memory, [positions, kv_dim] fp16 each: the layout of the CPU graph's cache.
    Result<void> read(std::int64_t index, std::int64_t positions, std::uint16_t* keys,
                      std::uint16_t* values) const;
    Result<void> write(std::int64_t index, std::int64_t positions, const std::uint16_t* keys,
                       const std::uint16_t* values);
    Result<std::unique_ptr<DeviceCache>> clone(std::int64_t positions) const;

private:
    friend class DenseVulkanGraph;
    struct Impl;
    explicit DeviceCache(std::unique_ptr<Impl> impl);
    // Every layer's first `used` positions from host memory, [layer][used * kv_dim] fp16 each.
    Result<void> write_all(std::int64_t used, const std::vector<std::uint16_t>& keys,
                           const std::vector<std::uint16_t>& values);
    std::unique_ptr<Impl> impl_;
};

class DenseVulkanGraph {
public:
    // Uploads the weights of layers [first_layer, config.layers) and of the head. `file` must outlive
    // nothing here: the weights are copies. max_rows is the most rows one forward() takes.
    static Result<std::unique_ptr<DenseVulkanGraph>> create(std::shared_ptr<kernels::vulkan::Context> context,
                                                            const formats::GgufFile& file,
                                                            const DenseConfig& config,
                                                            std::int64_t first_layer, std::int64_t max_rows);
    ~DenseVulkanGraph();

    // What create() with every layer on the device, and one sequence's cache over `context` positions,
    // take in device memory (backend::plan_device chooses the layers from it).
    static backend::DeviceFootprint footprint(const formats::GgufFile& file, const DenseConfig& config,
                                              std::int64_t max_rows, std::int64_t context);

    std::unique_ptr<DeviceCache> new_cache() const;

    // Runs the device layers and the head on x [rows, embedding] (the hidden rows entering first_layer) at
    // positions first .. first + rows - 1, appending to the cache. Writes the logits of the last
    // `logit_rows` rows (0 .. rows) to `logits` [logit_rows, vocab].
    Result<void> forward(DeviceCache& cache, std::int64_t first, const float* x, std::int64_t rows,
                         std::int64_t logit_rows, float* logits) const;

    std::uint64_t weight_bytes() const;
    // Everything this graph's device holds now (kernels::vulkan::Context::allocated_bytes).
    std::uint64_t device_bytes_in_use() const;

private:
    struct Impl;
    explicit DenseVulkanGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lectern::model::dense
