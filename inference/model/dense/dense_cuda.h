#pragma once
// The dense graph's device half on CUDA (dense_device.h), on device 0: the ops of kernels/cuda in the
// order of the Vulkan half, queued without waiting (a launch's own error stops the forward there); each
// forward waits for its kernels before it returns, so a fault while they ran is its error.

#include "inference/model/dense/dense_device.h"

#include <cstdint>
#include <memory>

namespace lectern::model::dense {

class DenseCudaGraph final : public DeviceGraph {
public:
    // Uploads the weights of layers [first_layer, config.layers) and of the head (copies: `file` need not
    // outlive the graph). max_rows is the most rows one forward() takes. Everything the graph and its
    // caches hold stays within `memory_limit` bytes (0: no limit).
    static Result<std::unique_ptr<DenseCudaGraph>> create(const formats::GgufFile& file,
                                                          const DenseConfig& config, std::int64_t first_layer,
                                                          std::int64_t max_rows,
                                                          std::uint64_t memory_limit = 0);
    ~DenseCudaGraph() override;

    std::unique_ptr<DeviceCache> new_cache() const override;
    Result<void> forward(DeviceCache& cache, std::int64_t first, const float* x, std::int64_t rows,
                         std::int64_t logit_rows, float* logits) const override;
    std::uint64_t weight_bytes() const override;
    // What the graph and its caches hold now.
    std::uint64_t device_bytes_in_use() const override;

private:
    struct Impl;
    explicit DenseCudaGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lectern::model::dense
