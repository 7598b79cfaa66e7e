#pragma once
// The DeepSeek-V4 graph's device half (v4_device.h) on CUDA, device 0: the steps of the Vulkan half
// (v4_vulkan.h) with kernels/cuda's ops, queued without waiting (a launch's own error stops the forward
// there); the host waits where it reads the router's scores and at the end of the forward, so a fault while
// the kernels ran is that forward's error. Weights are uploaded once, one allocation per tensor; the
// device layers' caches hold bf16 as the host's do. After each layer's router the scores come back to the
// host, which routes exactly as the CPU graph does and either runs the chosen experts on the device or,
// with experts kept in host memory, on the CPU (Graph::routed_experts), uploading their sum.

#include "inference/model/v4/v4_device.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace lectern::model::v4 {

class V4CudaGraph final : public V4DeviceGraph {
public:
    // Uploads the weights of layers [first_layer, n_layers) (without their routed experts when
    // experts_on_host) and of the head. `host` runs host experts; config, weights and host must outlive
    // the graph. Everything the graph and its sequences' caches hold stays within `memory_limit` bytes (0:
    // no limit); an allocation past it fails as the device's own would. `uploading` (optional) gets the
    // fraction uploaded so far and returns false to stop (an error then).
    static Result<std::unique_ptr<V4CudaGraph>> create(const Config& config, const Weights& weights,
                                                       const Graph& host, std::int64_t first_layer,
                                                       bool experts_on_host, std::uint64_t memory_limit = 0,
                                                       const std::function<bool(double)>& uploading = {});
    ~V4CudaGraph() override;

    std::int64_t first_layer() const override;
    std::uint64_t weight_bytes() const override;
    // What the graph and its sequences' caches hold now.
    std::uint64_t device_bytes_in_use() const override;
    Result<void> forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                         const float* residual, std::int64_t logit_rows, float* logits,
                         IndexerObserver* observer) const override;

protected:
    std::unique_ptr<DeviceLayerCaches> new_caches() const override;
    Result<void> grow_scores(std::int64_t capacity) const override;

private:
    struct Impl;
    explicit V4CudaGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lectern::model::v4
