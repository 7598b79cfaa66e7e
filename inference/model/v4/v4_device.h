#pragma once
// What the DeepSeek-V4 graph's device halves share: the interface the model drives (V4DeviceGraph), the
// device caches' layout and their copies to and from the host's (DeviceLayerCaches), the memory the
// weights (device_weights.h) and caches take (device_footprint), the working buffers' sizes and one
// forward's inputs. v4_vulkan.h runs the half on Vulkan, v4_cuda.h on CUDA, with the same steps.

#include "inference/backend/backend.h"
#include "inference/model/model.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/device_weights.h"
#include "inference/model/v4/graph.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/weights.h"
#include "kernels/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace lectern::model::v4 {

// Rows per forward: the working buffers' size (a layer's work does not grow with the rows).
constexpr std::int64_t kDeviceMaxRows = 64;
// Every section of a shared buffer starts at a multiple of this, which any device can bind.
constexpr std::size_t kDeviceAlignment = 256;
constexpr std::size_t kWorkingBuffers = 38;

std::size_t device_align(std::size_t bytes);
std::size_t floats(std::int64_t count);

// The positions device caches are made for when they must hold `positions`: whole steps of 1024, at most
// the model's context.
std::int64_t device_cache_capacity(const Config& config, std::int64_t positions);
// The indexer's scores for every row of a forward over keys up to `positions`.
std::int64_t index_score_floats_for(std::int64_t positions);

// The working buffers' sizes for kDeviceMaxRows rows, in this order: inputs, residual[0], residual[1],
// projections, pre, post, comb, x, x_qat, activations, q_latent, q, kv, comp_a, comp_z, index_a, index_z,
// index_q, index_w, attention_out, group_in, group_out, low_rank, attention, pooled, selected, scores,
// gathered, h1, h3, expert_out, routed, zeros, routing, head_projections, head_pre, mixed, logits.
std::array<std::size_t, kWorkingBuffers> working_sizes(const Config& config);

// The parts of one layer's device caches, as LayerCache holds them on the host.
enum class CachePart : std::uint8_t {
    Window,          // bf16 [window_size, head_dim]
    Entries,         // bf16 [capacity / ratio, head_dim] (compressed layers)
    CompressorKv,    // fp32 compressor state (compressed layers)
    CompressorScore, //
    IndexKeys,       // bf16 [capacity / 4, index_head_dim] (CSA layers)
    IndexerKv,       // fp32 indexer compressor state (CSA layers)
    IndexerScore,    //
};
constexpr std::size_t kCacheParts = 7;
struct CacheShape {
    std::int64_t elements = 0; // 0: the layer has no such part
    bool bf16 = false;
    // bf16 rounded up to whole 32-bit words, which Vulkan's readers address.
    std::uint64_t bytes() const {
        const auto count = static_cast<std::uint64_t>(elements);
        return bf16 ? (count + 1) / 2 * 4 : count * 4;
    }
};
std::array<CacheShape, kCacheParts> cache_shapes(const Config& config, std::int64_t layer,
                                                 std::int64_t capacity);

// The device layers' caches of one sequence: each backend stores the parts; the copies to and from the
// host's LayerCache are the same for all.
class DeviceLayerCaches : public DeviceCaches {
public:
    DeviceLayerCaches(const Config& config, std::int64_t first_layer)
        : config_(config), first_layer_(first_layer) {}

    std::int64_t capacity() const { return capacity_; }
    // Parts for `capacity` positions (rounded up by device_cache_capacity), replacing any held.
    Result<void> allocate(std::int64_t capacity);
    // The host caches at `position` into the device's (which must hold `position`).
    Result<void> upload(const std::vector<LayerCache>& host, std::int64_t position);
    Result<void> read_back(std::vector<LayerCache>& host) const override;

    // The position the device's caches hold: set by upload() and by each forward.
    std::int64_t held = 0;

protected:
    // Makes the parts of every device layer (index 0 is first_layer) for `capacity` positions, replacing
    // any held; on an error the old ones may be gone.
    virtual Result<void> make(std::int64_t capacity) = 0;
    virtual Result<void> write(std::size_t layer, CachePart part, const void* data, std::size_t bytes) = 0;
    virtual Result<void> read(std::size_t layer, CachePart part, void* data, std::size_t bytes) const = 0;

    const Config& config_;
    std::int64_t first_layer_;

private:
    std::int64_t capacity_ = 0;
};

// The bytes sparse attention's logits take for these sizes (the backend's *_scratch_bytes).
using AttentionScratchBytes = std::uint64_t (*)(std::int64_t rows, std::int64_t heads, std::int64_t window,
                                                std::int64_t first, std::int64_t entry_capacity,
                                                bool has_selected, std::int64_t k);

// What a device half with every layer on the device, and one sequence's caches over `context` positions,
// takes in device memory (backend::plan_device chooses the layers from it).
backend::DeviceFootprint device_footprint(const Config& config, const Weights& weights, bool experts_on_host,
                                          std::int64_t context, AttentionScratchBytes scratch_bytes);

// One forward's inputs, uploaded at once, each section (byte offsets) aligned: the RoPE rows of the tokens
// (plain and YaRN frequencies) and of the compressed blocks completed here (CSA's, then HCA's, each at its
// start position), the entries each token sees (CSA's, HCA's; uint32), and the residual rows.
struct DeviceInputs {
    std::size_t plain = 0, compressed = 0, blocks[2] = {}, visible[2] = {}, residual = 0, bytes = 0;
    std::vector<float> data;
};
void build_inputs(const Config& config, const Graph& host, std::int64_t start, std::int64_t rows,
                  const float* residual, DeviceInputs& out);

// Routes `rows` rows of router scores as the CPU graph does and, unless experts stay on the host, lays
// out each expert's rows (uint32) and gate weights in aligned sections of `table` (expert e's rows at
// e * 2 * section bytes, its gates `section` bytes further), where section = device_align(floats(rows *
// active)). offsets [experts + 1] delimit each expert's routed rows.
struct Routing {
    std::vector<std::int64_t> chosen, offsets;
    std::vector<float> gate_weights;
    std::vector<std::uint32_t> table;
    std::size_t section = 0;
};
void route_rows(const Config& config, const Graph& host, const Layer& layer, const float* scores,
                std::span<const Token> tokens, bool experts_on_host, Routing& out);

// Tells the observer the indexer's choices of CSA layer `layer` for `rows` rows from `start`: picked
// [rows, index_topk] (uint32, as top_k wrote them) and the scores [rows, keys] they were chosen from, keys
// = (start + rows) / 4.
void report_choices(const Config& config, std::int64_t layer, std::int64_t start, std::int64_t rows,
                    const std::vector<std::uint32_t>& picked, const std::vector<float>& scores,
                    IndexerObserver& observer);

// The DeepSeek-V4 graph's device half: layers [first_layer, n_layers) and the head, with their weights
// on the device and those layers' caches there as V4State::device. The host embeds the tokens and runs
// any layers before first_layer (graph.h), then hands the residual rows over.
class V4DeviceGraph {
public:
    virtual ~V4DeviceGraph() = default;

    // The most tokens one forward() takes.
    std::int64_t max_rows() const { return kDeviceMaxRows; }
    virtual std::int64_t first_layer() const = 0;
    virtual std::uint64_t weight_bytes() const = 0;
    // Everything this graph's device holds now.
    virtual std::uint64_t device_bytes_in_use() const = 0;

    // Makes state's device caches hold positions up to `end` (from the host's where the device's are not
    // the newest) before a forward from `start`. When the device has no room, the host's caches are the
    // newest and the state stays usable, so the caller may run the slice on the CPU instead.
    Result<void> prepare(V4State& state, std::int64_t start, std::int64_t end) const;

    // Runs the device layers and the head for `tokens` at positions start.., whose residual rows
    // [rows, hc, dim] entering first_layer are `residual`; updates state's device caches (made or
    // refreshed from the host caches as needed). Writes the logits of the last `logit_rows` rows to
    // `logits` [logit_rows, vocab]. The observer sees each CSA layer's choices, as from the CPU graph.
    virtual Result<void> forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                                 const float* residual, std::int64_t logit_rows, float* logits,
                                 IndexerObserver* observer) const = 0;

protected:
    // Empty caches of this backend for the device layers.
    virtual std::unique_ptr<DeviceLayerCaches> new_caches() const = 0;
    // Makes room for the indexer's scores over caches of `capacity` positions.
    virtual Result<void> grow_scores(std::int64_t capacity) const = 0;
};

} // namespace lectern::model::v4
