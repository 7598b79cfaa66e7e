#pragma once
// The DeepSeek-V4 graph's device half (v4_device.h) on Vulkan: layers [first_layer, n_layers) and the head,
// with their weights uploaded once and those layers' caches (window ring, compressed entries, indexer keys,
// compressor states) on the device as V4State::device. Numerics follow graph.h op for op (bf16 at the same
// points, FP8 QAT before FP8/FP4 linears), with fp32 sums where the CPU sums in double.
//
// Every op runs over all rows of a slice at once: projections, norms, RoPE, the compressors
// (compressor_chunk, as the CPU's token-by-token state machine), the indexer's scores and top-k, one
// sparse_attention over window ring + the slice's rows + compressed entries, the MoE. Each layer submits
// once, after its router: the scores come back to the host, which routes exactly as the CPU graph does and
// either records the chosen experts (with the next layer's attention and router, in one recording) or,
// with experts kept in host memory, runs them on the CPU (Graph::routed_experts) and uploads their sum.
// The head and the last layer's experts make one more submit.

#include "inference/model/v4/v4_device.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace lectern::kernels::vulkan {
class Context;
} // namespace lectern::kernels::vulkan

namespace lectern::model::v4 {

class V4VulkanGraph final : public V4DeviceGraph {
public:
    // Uploads the weights of layers [first_layer, n_layers) (without their routed experts when
    // experts_on_host) and of the head. `host` runs host experts; config, weights and host must outlive
    // the graph. `uploading` (optional) gets the fraction uploaded so far and returns false to stop (an
    // error then).
    static Result<std::unique_ptr<V4VulkanGraph>> create(std::shared_ptr<kernels::vulkan::Context> context,
                                                         const Config& config, const Weights& weights,
                                                         const Graph& host, std::int64_t first_layer,
                                                         bool experts_on_host,
                                                         const std::function<bool(double)>& uploading = {});
    ~V4VulkanGraph() override;

    std::int64_t first_layer() const override;
    std::uint64_t weight_bytes() const override;
    // kernels::vulkan::Context::allocated_bytes.
    std::uint64_t device_bytes_in_use() const override;
    Result<void> forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                         const float* residual, std::int64_t logit_rows, float* logits,
                         IndexerObserver* observer) const override;

protected:
    std::unique_ptr<DeviceLayerCaches> new_caches() const override;
    Result<void> grow_scores(std::int64_t capacity) const override;

private:
    struct Impl;
    explicit V4VulkanGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lectern::model::v4
