#pragma once
// The dense graph's device half on Vulkan (dense_device.h). Each sequence's cache keeps one recorded
// command stream per slice shape (rows, logit rows) and submits it again for the next slice of that shape:
// every decode step reuses one recording, because the position comes from a device buffer rather than
// from the recording.

#include "inference/model/dense/dense_device.h"

#include <cstdint>
#include <memory>

namespace lectern::kernels::vulkan {
class Context;
} // namespace lectern::kernels::vulkan

namespace lectern::model::dense {

class DenseVulkanGraph final : public DeviceGraph {
public:
    // Uploads the weights of layers [first_layer, config.layers) and of the head (copies: `file` need not
    // outlive the graph). max_rows is the most rows one forward() takes.
    static Result<std::unique_ptr<DenseVulkanGraph>> create(std::shared_ptr<kernels::vulkan::Context> context,
                                                            const formats::GgufFile& file,
                                                            const DenseConfig& config,
                                                            std::int64_t first_layer, std::int64_t max_rows);
    ~DenseVulkanGraph() override;

    std::unique_ptr<DeviceCache> new_cache() const override;
    Result<void> forward(DeviceCache& cache, std::int64_t first, const float* x, std::int64_t rows,
                         std::int64_t logit_rows, float* logits) const override;
    std::uint64_t weight_bytes() const override;
    // kernels::vulkan::Context::allocated_bytes.
    std::uint64_t device_bytes_in_use() const override;

private:
    struct Impl;
    explicit DenseVulkanGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lectern::model::dense
