#pragma once
// The DeepSeek-V4 graph's device half on Vulkan: layers [first_layer, n_layers) and the head, with their
// weights uploaded once and those layers' caches (window ring, compressed entries, indexer keys, compressor
// states) on the device as V4State::device. The host embeds the tokens and runs any layers before
// first_layer (graph.h), then hands the residual rows over. Numerics follow graph.h op for op (bf16 at the
// same points, FP8 QAT before FP8/FP4 linears), with fp32 sums where the CPU sums in double.
//
// Every op runs over all rows of a slice at once: projections, norms, RoPE, the compressors
// (compressor_chunk, as the CPU's token-by-token state machine), the indexer's scores and top-k, one
// sparse_attention over window ring + the slice's rows + compressed entries, the MoE. Each layer submits
// once, after its router: the scores come back to the host, which routes exactly as the CPU graph does and
// either records the chosen experts (with the next layer's attention and router, in one recording) or,
// with experts kept in host memory, runs them on the CPU (Graph::routed_experts) and uploads their sum.
// The head and the last layer's experts make one more submit.

#include "inference/model/model.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/graph.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/weights.h"
#include "kernels/result.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace lectern::kernels::vulkan {
class Context;
} // namespace lectern::kernels::vulkan

namespace lectern::model::v4 {

class V4VulkanGraph {
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
    ~V4VulkanGraph();

    // What create() with every layer on the device, and one sequence's caches over `context` positions,
    // take in device memory (backend::plan_device chooses the layers from it).
    static backend::DeviceFootprint footprint(const Config& config, const Weights& weights,
                                              bool experts_on_host, std::int64_t context);

    // The most tokens one forward() takes (the recording of a layer grows with them).
    std::int64_t max_rows() const;
    std::int64_t first_layer() const;
    std::uint64_t weight_bytes() const;
    // Everything this graph's device holds now (kernels::vulkan::Context::allocated_bytes).
    std::uint64_t device_bytes_in_use() const;

    // Makes state's device caches hold positions up to `end` (from the host's where the device's are not
    // the newest) before a forward from `start`. When the device has no room, the host's caches are the
    // newest and the state stays usable, so the caller may run the slice on the CPU instead.
    Result<void> prepare(V4State& state, std::int64_t start, std::int64_t end) const;

    // Runs the device layers and the head for `tokens` at positions start.., whose residual rows
    // [rows, hc, dim] entering first_layer are `residual`; updates state's device caches (made or
    // refreshed from the host caches as needed). Writes the logits of the last `logit_rows` rows to
    // `logits` [logit_rows, vocab]. The observer sees each CSA layer's choices, as from the CPU graph.
    Result<void> forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                         const float* residual, std::int64_t logit_rows, float* logits,
                         IndexerObserver* observer) const;

private:
    struct Impl;
    explicit V4VulkanGraph(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lectern::model::v4
