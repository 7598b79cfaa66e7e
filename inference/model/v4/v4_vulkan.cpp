#include "inference/model/v4/v4_vulkan.h"

#include "inference/backend/device_weights.h"
#include "kernels/cpu/graph_ops.h"
#include "kernels/vulkan/attention_ops.h"
#include "kernels/vulkan/compressor_ops.h"
#include "kernels/vulkan/context.h"
#include "kernels/vulkan/dense_ops.h"
#include "kernels/vulkan/graph_ops.h"
#include "kernels/vulkan/ops.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace lectern::model::v4 {
namespace {

namespace vk = kernels::vulkan;
namespace k = kernels::cpu;
using k::WeightFormat;

// Rows per forward: the working buffers' size (a layer's dispatches do not grow with the rows).
constexpr std::int64_t kMaxRows = 64;
// Every section of a shared buffer starts at a multiple of this, which any device can bind.
constexpr std::size_t kAlignment = 256;
// Device caches grow in steps of this many positions.
constexpr std::int64_t kCapacityStep = 1024;
constexpr std::size_t kWorkingBuffers = 38;

std::size_t align_up(std::size_t value, std::size_t alignment = kAlignment) {
    return (value + alignment - 1) / alignment * alignment;
}

std::size_t floats(std::int64_t count) {
    return static_cast<std::size_t>(count) * sizeof(float);
}

// The positions device caches are made for when they must hold `positions`: whole steps, at most the
// model's context.
std::int64_t cache_capacity(const Config& c, std::int64_t positions) {
    return std::min(c.max_seq_len, (positions + kCapacityStep - 1) / kCapacityStep * kCapacityStep);
}

// Keeps the first error of a sequence of recorded steps.
class Recorder {
public:
    void operator()(Result<void> step) {
        if (status_ && !step) status_ = std::move(step);
    }
    Result<void> take() { return std::exchange(status_, Result<void>()); }

private:
    Result<void> status_;
};

// A linear of the graph: the reference feeds FP8/FP4 weights FP8-quantised activations.
struct DeviceLinear {
    vk::DeviceWeight weight;
    bool qat = false;
};

struct DeviceHc {
    vk::DeviceWeight fn; // F32 [P, hc * dim]
    vk::BufferSpan base, scale;
};

struct DeviceCompressor {
    DeviceLinear wkv, wgate;
    vk::BufferSpan ape, norm;
};

struct DeviceExpert {
    DeviceLinear w1, w2, w3;
};

// Whether an expert's first two linears take the FP8 QAT of its input (both read the same rows, and QAT
// works within a row, so one quantised copy of the layer's input serves every such expert and row).
bool takes_quantized(const DeviceExpert& e) {
    return e.w1.qat && e.w3.qat;
}

struct DeviceLayer {
    const Layer* host = nullptr;
    std::int64_t ratio = 0;
    vk::BufferSpan attn_norm, ffn_norm, q_norm, kv_norm, attn_sink;
    DeviceHc hc_attn, hc_ffn;
    DeviceLinear wq_a, wq_b, wkv, wo_b;
    std::vector<DeviceLinear> wo_a; // one per output group
    DeviceCompressor compressor, indexer_compressor;
    DeviceLinear indexer_wq_b, indexer_weights_proj, gate;
    std::vector<DeviceExpert> experts; // empty when they stay on the host
    DeviceExpert shared;
};

struct CompressorBuffers {
    vk::Buffer kv, score; // the CPU layout: [slots, lanes * width] fp32
};

struct LayerBuffers {
    // bf16 as the host keeps them (vk::Storage::BF16), so a cache takes half the memory of fp32.
    vk::Buffer window, entries, index_keys;
    CompressorBuffers compressor, indexer_compressor;
};

// The working buffers' sizes for kMaxRows rows, in the order of Impl::working().
std::array<std::size_t, kWorkingBuffers> working_sizes(const Config& c) {
    const std::int64_t R = kMaxRows, dim = c.dim, h = c.hc_mult, heads = c.n_heads, head_dim = c.head_dim;
    const std::int64_t index_width = c.index_n_heads * c.index_head_dim;
    const std::int64_t widest_input = std::max(
        {dim, c.q_lora_rank, heads / c.o_groups * head_dim, c.o_groups * c.o_lora_rank, c.moe_inter_dim});
    const std::size_t routing_bytes =
        static_cast<std::size_t>(c.n_routed_experts) * 2 * align_up(floats(R * c.n_activated_experts));
    const std::size_t input_bytes =
        4 * align_up(floats((R + 1) * c.rope_head_dim)) + 2 * align_up(floats(R)) + floats(R * h * dim);
    return {
        input_bytes,                                                // inputs
        floats(R * h * dim),                                        // residual[0]
        floats(R * h * dim),                                        // residual[1]
        floats(R * (2 + h) * h),                                    // projections
        floats(R * h),                                              // pre
        floats(R * h),                                              // post
        floats(R * h * h),                                          // comb
        floats(R * dim),                                            // x
        floats(R * dim),                                            // x_qat
        floats(R * widest_input),                                   // activations
        floats(R * c.q_lora_rank),                                  // q_latent
        floats(R * heads * head_dim),                               // q
        floats(R * head_dim),                                       // kv
        floats(R * 2 * head_dim),                                   // comp_a
        floats(R * 2 * head_dim),                                   // comp_z
        floats(R * 2 * c.index_head_dim),                           // index_a
        floats(R * 2 * c.index_head_dim),                           // index_z
        floats(R * index_width),                                    // index_q
        floats(R * c.index_n_heads),                                // index_w
        floats(R * heads * head_dim),                               // attention_out
        floats(R * heads / c.o_groups * head_dim),                  // group_in
        floats(R * c.o_lora_rank),                                  // group_out
        floats(R * c.o_groups * c.o_lora_rank),                     // low_rank
        floats(R * dim),                                            // attention
        floats((R / 4 + 1) * std::max(head_dim, c.index_head_dim)), // pooled
        floats(R * std::max<std::int64_t>(c.index_topk, 1)),        // selected
        floats(R * c.n_routed_experts),                             // scores
        floats(R * dim),                                            // gathered
        floats(R * c.moe_inter_dim),                                // h1
        floats(R * c.moe_inter_dim),                                // h3
        floats(R * dim),                                            // expert_out
        floats(R * dim),                                            // routed
        floats(R * dim),                                            // zeros
        routing_bytes,                                              // routing
        floats(R * h),                                              // head_projections
        floats(R * h),                                              // head_pre
        floats(R * dim),                                            // mixed
        floats(R * c.vocab_size),                                   // logits
    };
}

// The indexer's scores for every row of a forward over keys up to `positions`.
std::int64_t index_score_floats_for(std::int64_t positions) {
    return kMaxRows * (positions / 4 + 1);
}

// A tensor to upload: its bytes in the mapped file, and its layer (-1: the head's).
struct Piece {
    std::span<const std::byte> bytes;
    std::string name;
    std::int64_t layer = -1;
};

// The tensors the device half holds, in the order create() binds them: layers [first_layer, n_layers)
// (their routed experts unless they stay on the host), then the head.
std::vector<Piece> upload_pieces(const Config& c, const Weights& weights, std::int64_t first_layer,
                                 bool experts_on_host) {
    std::vector<Piece> pieces;
    std::int64_t layer_of_piece = -1;
    const auto bytes_of = [](const void* data, std::uint64_t count) {
        return std::span<const std::byte>(static_cast<const std::byte*>(data),
                                          static_cast<std::size_t>(count));
    };
    const auto vector_piece = [&](const std::vector<float>& v, const std::string& name) {
        pieces.push_back({bytes_of(v.data(), v.size() * sizeof(float)), name, layer_of_piece});
    };
    const auto matrix_pieces = [&](const WeightMatrix& w, const std::string& name) {
        pieces.push_back(
            {bytes_of(w.data, vk::weight_data_bytes(w.format, w.out_features, w.in_features, w.gguf_type)),
             name, layer_of_piece});
        if (const std::uint64_t scales = vk::weight_scale_bytes(w.format, w.out_features, w.in_features))
            pieces.push_back({bytes_of(w.scales, scales), name + " scales", layer_of_piece});
    };
    const auto hc_pieces = [&](const HyperConnection& hc, const std::string& name) {
        vector_piece(hc.fn, name + ".fn");
        vector_piece(hc.base, name + ".base");
        vector_piece(hc.scale, name + ".scale");
    };
    const auto expert_pieces = [&](const Expert& e, const std::string& name) {
        matrix_pieces(e.w1, name + ".w1");
        matrix_pieces(e.w2, name + ".w2");
        matrix_pieces(e.w3, name + ".w3");
    };
    for (std::int64_t l = first_layer; l < c.n_layers; ++l) {
        layer_of_piece = l;
        const Layer& layer = weights.layers[static_cast<std::size_t>(l)];
        const std::string p = "layers." + std::to_string(l) + ".";
        for (const auto* v :
             {&layer.attn_norm, &layer.ffn_norm, &layer.q_norm, &layer.kv_norm, &layer.attn_sink})
            vector_piece(*v, p + "norm");
        hc_pieces(layer.hc_attn, p + "hc_attn");
        hc_pieces(layer.hc_ffn, p + "hc_ffn");
        for (const auto* w : {&layer.wq_a, &layer.wq_b, &layer.wkv, &layer.wo_b, &layer.gate})
            matrix_pieces(*w, p + "attn");
        for (std::int64_t g = 0; g < c.o_groups; ++g)
            matrix_pieces(row_slice(layer.wo_a, g * c.o_lora_rank, c.o_lora_rank), p + "attn.wo_a");
        if (layer.ratio != 0) {
            matrix_pieces(layer.compressor.wkv, p + "attn.compressor.wkv");
            matrix_pieces(layer.compressor.wgate, p + "attn.compressor.wgate");
            vector_piece(layer.compressor.ape, p + "attn.compressor.ape");
            vector_piece(layer.compressor.norm, p + "attn.compressor.norm");
        }
        if (layer.ratio == 4) {
            matrix_pieces(layer.indexer_compressor.wkv, p + "attn.indexer.compressor.wkv");
            matrix_pieces(layer.indexer_compressor.wgate, p + "attn.indexer.compressor.wgate");
            vector_piece(layer.indexer_compressor.ape, p + "attn.indexer.compressor.ape");
            vector_piece(layer.indexer_compressor.norm, p + "attn.indexer.compressor.norm");
            matrix_pieces(layer.indexer_wq_b, p + "attn.indexer.wq_b");
            matrix_pieces(layer.indexer_weights_proj, p + "attn.indexer.weights_proj");
        }
        if (!experts_on_host)
            for (std::size_t e = 0; e < layer.experts.size(); ++e)
                expert_pieces(layer.experts[e], p + "ffn.experts." + std::to_string(e));
        expert_pieces(layer.shared_expert, p + "ffn.shared_experts");
    }
    layer_of_piece = -1;
    hc_pieces(weights.hc_head, "hc_head");
    vector_piece(weights.norm, "norm");
    matrix_pieces(weights.head, "head");

    return pieces;
}

} // namespace

// The device layers' caches of one sequence, for `capacity` positions.
class VulkanCaches final : public DeviceCaches {
public:
    VulkanCaches(std::shared_ptr<vk::Context> context, const Config& config, std::int64_t first_layer)
        : context_(std::move(context)), config_(config), first_layer_(first_layer) {}

    std::int64_t capacity() const { return capacity_; }
    const LayerBuffers& layer(std::int64_t index) const { return layers_[static_cast<std::size_t>(index)]; }

    std::uint64_t bytes() const override {
        std::uint64_t total = 0;
        for (const LayerBuffers& l : layers_)
            for (const vk::Buffer* b :
                 {&l.window, &l.entries, &l.index_keys, &l.compressor.kv, &l.compressor.score,
                  &l.indexer_compressor.kv, &l.indexer_compressor.score})
                total += b->size();
        return total;
    }

    // Buffers for `capacity` positions (rounded up), replacing any held.
    Result<void> allocate(std::int64_t capacity) {
        const Config& c = config_;
        capacity = cache_capacity(c, capacity);
        std::vector<LayerBuffers> layers(static_cast<std::size_t>(c.n_layers - first_layer_));
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const auto all = each_cache_buffer(
                c, first_layer_ + static_cast<std::int64_t>(i), capacity, layers[i],
                [&](vk::Buffer& buffer, std::int64_t count, vk::Storage storage) -> Result<void> {
                    auto made =
                        context_->create_buffer(vk::storage_bytes(storage, std::max<std::int64_t>(count, 1)));
                    if (!made)
                        return Error{"no room on " + context_->device().name +
                                     " for the DeepSeek-V4 caches of " + std::to_string(capacity) +
                                     " positions: " + made.error()};
                    buffer = std::move(*made);
                    return {};
                });
            if (!all) return all;
        }
        layers_ = std::move(layers);
        capacity_ = capacity;
        return {};
    }

    // Calls make(buffer, elements, storage) for each cache buffer of `layer` at `capacity` positions; stops
    // at the first error.
    template <typename Make>
    static Result<void> each_cache_buffer(const Config& c, std::int64_t layer, std::int64_t capacity,
                                          LayerBuffers& l, Make make) {
        const std::int64_t ratio = c.ratio(layer);
        if (auto made = make(l.window, c.window_size * c.head_dim, vk::Storage::BF16); !made) return made;
        if (ratio == 0) return {};
        const std::int64_t lanes = ratio == 4 ? 2 : 1;
        if (auto made = make(l.entries, (capacity / ratio) * c.head_dim, vk::Storage::BF16); !made)
            return made;
        const std::int64_t state = lanes * ratio * lanes * c.head_dim;
        if (auto made = make(l.compressor.kv, state, vk::Storage::F32); !made) return made;
        if (auto made = make(l.compressor.score, state, vk::Storage::F32); !made) return made;
        if (ratio != 4) return {};
        const std::int64_t index_state = lanes * ratio * lanes * c.index_head_dim;
        if (auto made = make(l.index_keys, (capacity / 4) * c.index_head_dim, vk::Storage::BF16); !made)
            return made;
        if (auto made = make(l.indexer_compressor.kv, index_state, vk::Storage::F32); !made) return made;
        return make(l.indexer_compressor.score, index_state, vk::Storage::F32);
    }

    // The host caches at `position` into the device buffers (which must hold `position`).
    Result<void> upload(const std::vector<LayerCache>& host, std::int64_t position) {
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            const LayerCache& from = host[static_cast<std::size_t>(first_layer_) + i];
            LayerBuffers& to = layers_[i];
            const auto put = [&](const vk::Buffer& buffer, const std::vector<float>& values) -> Result<void> {
                if (values.empty()) return {};
                return context_->upload(buffer, 0, values.data(),
                                        floats(static_cast<std::int64_t>(values.size())));
            };
            const auto put_bf16 = [&](const vk::Buffer& buffer, const std::vector<std::uint16_t>& bits,
                                      std::size_t count) -> Result<void> {
                if (count == 0) return {};
                return context_->upload(buffer, 0, bits.data(), count * sizeof(std::uint16_t));
            };
            const std::int64_t ratio = config_.ratio(first_layer_ + static_cast<std::int64_t>(i));
            if (auto done = put_bf16(to.window, from.window, from.window.size()); !done) return done;
            if (ratio == 0) continue;
            const auto entries = static_cast<std::size_t>((position / ratio) * config_.head_dim);
            if (from.entries.size() < entries)
                return Error{"the host caches hold fewer entries than positions"};
            if (auto done = put_bf16(to.entries, from.entries, entries); !done) return done;
            if (auto done = put(to.compressor.kv, from.compressor.kv); !done) return done;
            if (auto done = put(to.compressor.score, from.compressor.score); !done) return done;
            if (ratio != 4) continue;
            const auto keys = static_cast<std::size_t>((position / 4) * config_.index_head_dim);
            if (from.index_keys.size() < keys) return Error{"the host caches hold fewer keys than positions"};
            if (auto done = put_bf16(to.index_keys, from.index_keys, keys); !done) return done;
            if (auto done = put(to.indexer_compressor.kv, from.indexer_compressor.kv); !done) return done;
            if (auto done = put(to.indexer_compressor.score, from.indexer_compressor.score); !done)
                return done;
        }
        held = position;
        return {};
    }

    // The position the device's caches hold: set by upload() and by each forward.
    std::int64_t held = 0;

    Result<void> read_back(std::vector<LayerCache>& host) const override {
        const auto get_bf16 = [&](const vk::Buffer& buffer, std::size_t count,
                                  std::vector<std::uint16_t>& out) -> Result<void> {
            out.resize(count);
            if (count == 0) return {};
            return context_->download(buffer, 0, out.data(), count * sizeof(std::uint16_t));
        };
        const auto get = [&](const vk::Buffer& buffer, std::vector<float>& out) -> Result<void> {
            if (out.empty()) return {};
            return context_->download(buffer, 0, out.data(), floats(static_cast<std::int64_t>(out.size())));
        };
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            LayerCache& to = host[static_cast<std::size_t>(first_layer_) + i];
            const LayerBuffers& from = layers_[i];
            const std::int64_t ratio = config_.ratio(first_layer_ + static_cast<std::int64_t>(i));
            if (auto done = get_bf16(from.window, to.window.size(), to.window); !done) return done;
            if (ratio == 0) continue;
            if (auto done = get_bf16(from.entries,
                                     static_cast<std::size_t>((held / ratio) * config_.head_dim), to.entries);
                !done)
                return done;
            if (auto done = get(from.compressor.kv, to.compressor.kv); !done) return done;
            if (auto done = get(from.compressor.score, to.compressor.score); !done) return done;
            if (ratio != 4) continue;
            if (auto done =
                    get_bf16(from.index_keys, static_cast<std::size_t>((held / 4) * config_.index_head_dim),
                             to.index_keys);
                !done)
                return done;
            if (auto done = get(from.indexer_compressor.kv, to.indexer_compressor.kv); !done) return done;
            if (auto done = get(from.indexer_compressor.score, to.indexer_compressor.score); !done)
                return done;
        }
        return {};
    }

private:
    std::shared_ptr<vk::Context> context_;
    const Config& config_;
    std::int64_t first_layer_;
    std::int64_t capacity_ = 0;
    std::vector<LayerBuffers> layers_;
};

struct V4VulkanGraph::Impl {
    std::shared_ptr<vk::Context> context;
    const Config& config;
    const Graph& host;
    std::int64_t first_layer = 0;
    bool experts_on_host = false;
    backend::DeviceWeights uploads;
    std::vector<DeviceLayer> layers;
    DeviceHc hc_head;
    vk::BufferSpan norm;
    vk::DeviceWeight head;

    // Working buffers for kMaxRows rows.
    vk::Buffer inputs, residual[2], projections, pre, post, comb, x, x_qat, activations, q_latent, q, kv,
        comp_a, comp_z, index_a, index_z, index_q, index_w, attention_out, group_in, group_out, low_rank,
        attention, pooled, selected, scores, gathered, h1, h3, expert_out, routed, zeros, routing,
        head_projections, head_pre, mixed, logits;
    std::array<vk::Buffer*, kWorkingBuffers> working() {
        return {&inputs,     &residual[0], &residual[1], &projections, &pre,
                &post,       &comb,        &x,           &x_qat,       &activations,
                &q_latent,   &q,           &kv,          &comp_a,      &comp_z,
                &index_a,    &index_z,     &index_q,     &index_w,     &attention_out,
                &group_in,   &group_out,   &low_rank,    &attention,   &pooled,
                &selected,   &scores,      &gathered,    &h1,          &h3,
                &expert_out, &routed,      &zeros,       &routing,     &head_projections,
                &head_pre,   &mixed,       &logits};
    }
    // The indexer's scores [rows, keys], for the largest device caches yet (they grow together).
    mutable vk::Buffer index_scores;
    mutable std::vector<float> staged_inputs; // one forward's inputs (Layout), kept for its capacity
    mutable std::optional<vk::Stream> stream; // recorded anew by each forward

    Impl(std::shared_ptr<vk::Context> owner, const Config& c, const Graph& g)
        : context(std::move(owner)), config(c), host(g), uploads(*context) {}

    // One forward's inputs, uploaded at once, each section aligned: the RoPE rows of the tokens (plain
    // and YaRN frequencies) and of the compressed blocks completed here (CSA's, then HCA's, each at its
    // start position), the entries each token sees (CSA's, HCA's; uint32), and the residual rows.
    struct Layout {
        std::size_t plain = 0, compressed = 0, blocks[2] = {}, visible[2] = {}, residual = 0, bytes = 0;
    };

    // reference: as graph.cpp's linear_bf16_out (FP8 QAT of the input for FP8/FP4 weights, a bf16
    // output); otherwise a plain fp32 linear, as the CPU graph runs the compressors and the router.
    Result<void> record_linear(vk::Stream& s, vk::BufferSpan in, std::int64_t rows, const DeviceLinear& l,
                               vk::BufferSpan out, bool reference, bool input_quantized = false) const;
    // The FP8 QAT of `rows` rows of `n` values of `in` into `out`: what the reference feeds an FP8/FP4
    // linear.
    Result<void> record_quantized(vk::Stream& s, vk::BufferSpan in, std::int64_t rows, std::int64_t n,
                                  vk::BufferSpan out) const;
    void record_hc_pre(vk::Stream& s, Recorder& step, const DeviceHc& hc, vk::BufferSpan streams,
                       std::int64_t rows, vk::BufferSpan out) const;
    void record_attention(vk::Stream& s, Recorder& step, const DeviceLayer& layer, const LayerBuffers& cache,
                          std::int64_t start, std::int64_t rows, const Layout& layout) const;
    // A compressor over the chunk: its state, and the entries of the blocks completed here (normed, RoPE
    // at the block's start, QAT, bf16) appended to `out`.
    void record_compress(vk::Stream& s, Recorder& step, const DeviceCompressor& compressor,
                         const CompressorBuffers& state, std::int64_t ratio, std::int64_t width,
                         const vk::Buffer& a, const vk::Buffer& z, std::int64_t start, std::int64_t rows,
                         bool indexer, const Layout& layout, const vk::Buffer& out) const;
    // One expert on `rows` rows of `in` into expert_out; gates scale its rows (none: the shared expert).
    // `in_quantized`: `in` already holds the FP8 QAT of the input, as takes_quantized(expert) wants.
    void record_expert(vk::Stream& s, Recorder& step, const DeviceExpert& expert, vk::BufferSpan in,
                       std::int64_t rows, std::optional<vk::BufferSpan> gates, bool in_quantized) const;
    Result<void> grow(std::int64_t positions) const;
};

Result<void> V4VulkanGraph::Impl::record_linear(vk::Stream& s, vk::BufferSpan in, std::int64_t rows,
                                                const DeviceLinear& l, vk::BufferSpan out, bool reference,
                                                bool input_quantized) const {
    const std::int64_t n = l.weight.in_features;
    vk::BufferSpan source = in;
    if (reference && l.qat && !input_quantized) {
        if (auto done = record_quantized(s, in, rows, n, activations.span()); !done) return done;
        source = activations.span();
    }
    if (auto done = vk::linear(s, source, rows, l.weight, out); !done) return done;
    return reference ? vk::round_to_bf16(s, out, rows * l.weight.out_features) : Result<void>();
}

Result<void> V4VulkanGraph::Impl::record_quantized(vk::Stream& s, vk::BufferSpan in, std::int64_t rows,
                                                   std::int64_t n, vk::BufferSpan out) const {
    if (auto done = vk::copy_rows(s, {in, 0, 0}, {out, 0, 0}, 1, rows * n); !done) return done;
    return vk::qat(s, out, rows, n, n, 128, vk::QatFormat::Fp8E4M3);
}

void V4VulkanGraph::Impl::record_hc_pre(vk::Stream& s, Recorder& step, const DeviceHc& hc,
                                        vk::BufferSpan streams, std::int64_t rows, vk::BufferSpan out) const {
    const Config& c = config;
    const std::int64_t h = c.hc_mult;
    step(vk::linear(s, streams, rows, hc.fn, projections.span()));
    step(vk::hc_coefficients(s, projections.span(), streams, rows, h, c.dim, static_cast<float>(c.norm_eps),
                             hc.scale, hc.base, static_cast<float>(c.hc_eps), pre.span(), post.span(),
                             comb.span()));
    step(vk::sinkhorn(s, comb.span(), rows, h, c.hc_sinkhorn_iters, static_cast<float>(c.hc_eps)));
    step(vk::hc_pre_mix(s, pre.span(), streams, rows, h, c.dim, out));
    step(vk::round_to_bf16(s, out, rows * c.dim));
}

void V4VulkanGraph::Impl::record_compress(vk::Stream& s, Recorder& step, const DeviceCompressor& compressor,
                                          const CompressorBuffers& state, std::int64_t ratio,
                                          std::int64_t width, const vk::Buffer& a, const vk::Buffer& z,
                                          std::int64_t start, std::int64_t rows, bool indexer,
                                          const Layout& layout, const vk::Buffer& out) const {
    const std::int64_t blocks = (start + rows) / ratio - start / ratio;
    step(vk::compressor_chunk(s, a.span(), z.span(), compressor.ape, rows, start, ratio, width,
                              state.kv.span(), state.score.span(), pooled.span()));
    if (blocks == 0) return;
    const Config& c = config;
    const std::int64_t rope = c.rope_head_dim;
    const vk::BufferSpan p = pooled.span(0, floats(blocks * width));
    step(vk::rms_norm(s, p, compressor.norm, p, blocks, width, static_cast<float>(c.norm_eps)));
    step(vk::rope_interleaved(s, p, inputs.span(layout.blocks[ratio == 4 ? 0 : 1], floats(blocks * rope)),
                              blocks, 1, width, width - rope, rope / 2, false));
    if (indexer) {
        step(vk::hadamard(s, p, blocks, width));
        step(vk::qat(s, p, blocks, width, width, 32, vk::QatFormat::Fp4E2M1));
    } else {
        step(vk::qat(s, p, blocks, width, width - rope, 64, vk::QatFormat::Fp8E4M3));
    }
    step(vk::store_bf16(s, {p, 0, 0}, {out.span(), (start / ratio) * width, 0}, 1, blocks * width));
}

void V4VulkanGraph::Impl::record_expert(vk::Stream& s, Recorder& step, const DeviceExpert& e,
                                        vk::BufferSpan in, std::int64_t rows,
                                        std::optional<vk::BufferSpan> gates, bool in_quantized) const {
    const std::int64_t inter = config.moe_inter_dim;
    step(record_linear(s, in, rows, e.w1, h1.span(), true, in_quantized));
    step(record_linear(s, in, rows, e.w3, h3.span(), true, in_quantized));
    step(vk::swiglu(s, h1.span(), h3.span(), gates, h1.span(), rows, inter,
                    static_cast<float>(config.swiglu_limit)));
    step(vk::round_to_bf16(s, h1.span(), rows * inter));
    step(record_linear(s, h1.span(), rows, e.w2, expert_out.span(), true));
}

void V4VulkanGraph::Impl::record_attention(vk::Stream& s, Recorder& step, const DeviceLayer& layer,
                                           const LayerBuffers& cache, std::int64_t start, std::int64_t rows,
                                           const Layout& layout) const {
    const Config& c = config;
    const std::int64_t heads = c.n_heads, head_dim = c.head_dim, rope = c.rope_head_dim,
                       nope = c.nope_head_dim(), ratio = layer.ratio;
    const std::int64_t index_heads = c.index_n_heads, index_dim = c.index_head_dim, window = c.window_size;
    const float eps = static_cast<float>(c.norm_eps);
    const vk::BufferSpan table =
        inputs.span(ratio == 0 ? layout.plain : layout.compressed, floats(rows * rope));

    // One FP8 QAT of the input serves every FP8/FP4 linear that reads it.
    const bool quantized = layer.wq_a.qat || layer.wkv.qat || (ratio == 4 && layer.indexer_weights_proj.qat);
    if (quantized) step(record_quantized(s, x.span(), rows, c.dim, x_qat.span()));
    const auto input = [&](const DeviceLinear& l) { return (l.qat ? x_qat : x).span(); };
    step(record_linear(s, input(layer.wq_a), rows, layer.wq_a, q_latent.span(), true, layer.wq_a.qat));
    step(vk::rms_norm(s, q_latent.span(), layer.q_norm, q_latent.span(), rows, c.q_lora_rank, eps));
    step(vk::round_to_bf16(s, q_latent.span(), rows * c.q_lora_rank));
    step(record_linear(s, q_latent.span(), rows, layer.wq_b, q.span(), true));
    step(vk::rms_norm(s, q.span(), std::nullopt, q.span(), rows * heads, head_dim, eps));
    step(vk::rope_interleaved(s, q.span(), table, rows, heads, head_dim, nope, rope / 2, false));
    step(vk::round_to_bf16(s, q.span(), rows * heads * head_dim));

    step(record_linear(s, input(layer.wkv), rows, layer.wkv, kv.span(), true, layer.wkv.qat));
    step(vk::rms_norm(s, kv.span(), layer.kv_norm, kv.span(), rows, head_dim, eps));
    step(vk::round_to_bf16(s, kv.span(), rows * head_dim));
    step(vk::rope_interleaved(s, kv.span(), table, rows, 1, head_dim, nope, rope / 2, false));
    step(vk::qat(s, kv.span(), rows, head_dim, nope, 64, vk::QatFormat::Fp8E4M3));
    step(vk::round_to_bf16(s, kv.span(), rows * head_dim));

    if (ratio != 0) {
        step(record_linear(s, x.span(), rows, layer.compressor.wkv, comp_a.span(), false));
        step(record_linear(s, x.span(), rows, layer.compressor.wgate, comp_z.span(), false));
    }
    if (ratio == 4) {
        step(record_linear(s, x.span(), rows, layer.indexer_compressor.wkv, index_a.span(), false));
        step(record_linear(s, x.span(), rows, layer.indexer_compressor.wgate, index_z.span(), false));
        step(record_linear(s, q_latent.span(), rows, layer.indexer_wq_b, index_q.span(), true));
        step(vk::rope_interleaved(s, index_q.span(), table, rows, index_heads, index_dim, index_dim - rope,
                                  rope / 2, false));
        step(vk::hadamard(s, index_q.span(), rows * index_heads, index_dim));
        step(
            vk::qat(s, index_q.span(), rows * index_heads, index_dim, index_dim, 32, vk::QatFormat::Fp4E2M1));
        step(record_linear(s, input(layer.indexer_weights_proj), rows, layer.indexer_weights_proj,
                           index_w.span(), true, layer.indexer_weights_proj.qat));
        step(vk::scale(s, index_w.span(), rows * index_heads,
                       static_cast<float>(1.0 / (std::sqrt(static_cast<double>(index_dim)) *
                                                 std::sqrt(static_cast<double>(index_heads))))));
    }

    // The compressors first: a token sees the entries of blocks that end at or before it.
    if (ratio == 4)
        record_compress(s, step, layer.indexer_compressor, cache.indexer_compressor, ratio, index_dim,
                        index_a, index_z, start, rows, true, layout, cache.index_keys);
    if (ratio != 0)
        record_compress(s, step, layer.compressor, cache.compressor, ratio, head_dim, comp_a, comp_z, start,
                        rows, false, layout, cache.entries);

    // The entries each row sees; CSA keeps the indexer's best index_topk of them.
    const std::int64_t end = start + rows, keys = ratio ? end / ratio : 0;
    const vk::BufferSpan visible = inputs.span(layout.visible[ratio == 4 ? 0 : 1], floats(rows));
    if (ratio == 4 && keys > 0) {
        step(vk::indexer_scores(s, index_q.span(), index_w.span(), cache.index_keys.span(), rows, index_heads,
                                keys, index_dim, index_scores.span(), vk::Storage::BF16));
        step(vk::top_k(s, index_scores.span(), rows, keys, c.index_topk, k::TopKOrder::ByIndex,
                       selected.span(), visible));
    }
    const std::int64_t capacity =
        ratio ? static_cast<std::int64_t>(cache.entries.size() /
                                          (static_cast<std::size_t>(head_dim) * sizeof(std::uint16_t)))
              : 0;
    const bool sparse = ratio == 4;
    auto scratch = s.scratch(
        vk::sparse_attention_scratch_bytes(rows, heads, window, start, capacity, sparse, c.index_topk));
    if (!scratch) {
        step(std::move(scratch).take_error());
        return;
    }
    step(vk::sparse_attention(s, q.span(), rows, heads, head_dim, cache.window.span(), window, kv.span(),
                              start, ratio ? cache.entries.span() : cache.window.span(), capacity,
                              sparse ? std::optional(selected.span()) : std::nullopt, c.index_topk,
                              ratio ? visible : inputs.span(layout.visible[0], floats(rows)),
                              static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))),
                              layer.attn_sink, *scratch, attention_out.span(), vk::Storage::BF16));

    // Then the chunk's rows (the last `window` of them) go into the ring, wrapping at its end.
    const std::int64_t kept = std::min(rows, window), from = end - kept, slot = from % window,
                       before_wrap = std::min(kept, window - slot);
    step(vk::store_bf16(s, {kv.span(), (from - start) * head_dim, 0},
                        {cache.window.span(), slot * head_dim, 0}, 1, before_wrap * head_dim));
    if (kept > before_wrap)
        step(vk::store_bf16(s, {kv.span(), (from - start + before_wrap) * head_dim, 0},
                            {cache.window.span(), 0, 0}, 1, (kept - before_wrap) * head_dim));
    step(vk::rope_interleaved(s, attention_out.span(), table, rows, heads, head_dim, nope, rope / 2, true));
    step(vk::round_to_bf16(s, attention_out.span(), rows * heads * head_dim));

    // Grouped low-rank output: group g's heads (contiguous) through its own rows of wo_a.
    const std::int64_t groups = c.o_groups, group_width = heads / groups * head_dim, rank = c.o_lora_rank;
    for (std::int64_t g = 0; g < groups; ++g) {
        step(vk::copy_rows(s, {attention_out.span(), g * group_width, heads * head_dim},
                           {group_in.span(), 0, group_width}, rows, group_width));
        step(record_linear(s, group_in.span(), rows, layer.wo_a[static_cast<std::size_t>(g)],
                           group_out.span(), true));
        step(vk::copy_rows(s, {group_out.span(), 0, rank}, {low_rank.span(), g * rank, groups * rank}, rows,
                           rank));
    }
    step(record_linear(s, low_rank.span(), rows, layer.wo_b, attention.span(), true));
}

Result<void> V4VulkanGraph::Impl::grow(std::int64_t positions) const {
    const std::int64_t wanted = index_score_floats_for(positions);
    if (floats(wanted) <= index_scores.size()) return {};
    // Nothing refers to the old scores between forwards: they go before the larger ones are made.
    index_scores = {};
    auto made = context->create_buffer(floats(wanted));
    if (!made)
        return Error{"no room on " + context->device().name + " for the indexer's scores over " +
                     std::to_string(positions) + " positions: " + made.error()};
    index_scores = std::move(*made);
    return {};
}

backend::DeviceFootprint V4VulkanGraph::footprint(const Config& config, const Weights& weights,
                                                  bool experts_on_host, std::int64_t context) {
    const Config& c = config;
    backend::DeviceFootprint footprint;
    footprint.context = context;
    footprint.layer_bytes.assign(static_cast<std::size_t>(c.n_layers), 0);
    const std::int64_t capacity = cache_capacity(c, context);
    for (const Piece& piece : upload_pieces(c, weights, 0, experts_on_host))
        (piece.layer < 0 ? footprint.other_bytes
                         : footprint.layer_bytes[static_cast<std::size_t>(piece.layer)]) +=
            align_up(piece.bytes.size());
    std::int64_t widest_entries = 0;
    for (std::int64_t layer = 0; layer < c.n_layers; ++layer) {
        LayerBuffers sizes_only;
        std::uint64_t& bytes = footprint.layer_bytes[static_cast<std::size_t>(layer)];
        (void)VulkanCaches::each_cache_buffer(
            c, layer, capacity, sizes_only, [&](vk::Buffer&, std::int64_t count, vk::Storage storage) {
                bytes += vk::storage_bytes(storage, std::max<std::int64_t>(count, 1));
                return Result<void>();
            });
        if (const std::int64_t ratio = c.ratio(layer); ratio != 0 && ratio != 4)
            widest_entries = std::max(widest_entries, capacity / ratio);
    }
    for (const std::size_t bytes : working_sizes(c)) footprint.other_bytes += bytes;
    footprint.other_bytes += floats(index_score_floats_for(capacity));
    // Attention's logits at the longest context; the stream's scratch grows by half again at a time.
    const std::uint64_t scratch = vk::sparse_attention_scratch_bytes(
        kMaxRows, c.n_heads, c.window_size, capacity, std::max(widest_entries, c.index_topk), false, 0);
    footprint.other_bytes += scratch * 3 / 2;
    return footprint;
}

V4VulkanGraph::V4VulkanGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
V4VulkanGraph::~V4VulkanGraph() = default;

std::int64_t V4VulkanGraph::max_rows() const {
    return kMaxRows;
}

std::int64_t V4VulkanGraph::first_layer() const {
    return impl_->first_layer;
}

std::uint64_t V4VulkanGraph::device_bytes_in_use() const {
    return impl_->context->allocated_bytes();
}

std::uint64_t V4VulkanGraph::weight_bytes() const {
    return impl_->uploads.bytes();
}

Result<std::unique_ptr<V4VulkanGraph>> V4VulkanGraph::create(std::shared_ptr<vk::Context> context,
                                                             const Config& config, const Weights& weights,
                                                             const Graph& host, std::int64_t first_layer,
                                                             bool experts_on_host,
                                                             const std::function<bool(double)>& uploading) {
    auto impl = std::make_unique<Impl>(std::move(context), config, host);
    impl->first_layer = first_layer;
    impl->experts_on_host = experts_on_host;
    const Config& c = config;

    // Everything uploaded, planned first so that the buffers fit it.
    const std::vector<Piece> pieces = upload_pieces(c, weights, first_layer, experts_on_host);
    std::uint64_t total = 0;
    for (const Piece& piece : pieces) total += piece.bytes.size();
    impl->uploads.plan(total, pieces.size());
    std::vector<vk::BufferSpan> spans;
    std::uint64_t uploaded = 0;
    for (const Piece& piece : pieces) {
        auto span = impl->uploads.upload(piece.bytes, piece.name);
        if (!span) return std::move(span).take_error();
        spans.push_back(*span);
        uploaded += piece.bytes.size();
        if (uploading && !uploading(static_cast<double>(uploaded) /
                                    static_cast<double>(std::max<std::uint64_t>(total, 1))))
            return Error{"uploading the weights was cancelled"};
    }

    // Bind the spans in the order they were planned.
    std::size_t at = 0;
    const auto next = [&] { return spans[at++]; };
    const auto matrix = [&](const WeightMatrix& w) {
        DeviceLinear l;
        l.weight.format = w.format;
        l.weight.out_features = w.out_features;
        l.weight.in_features = w.in_features;
        l.weight.gguf_type = w.gguf_type;
        l.weight.data = next();
        if (vk::weight_scale_bytes(w.format, w.out_features, w.in_features)) l.weight.scales = next();
        l.qat = w.format == WeightFormat::F8_E4M3_BLOCK128 || w.format == WeightFormat::FP4_E2M1_BLOCK32;
        return l;
    };
    const auto hc = [&](const HyperConnection& h) {
        DeviceHc d;
        d.fn.format = WeightFormat::F32;
        d.fn.data = next();
        d.fn.in_features = c.hc_mult * c.dim;
        d.fn.out_features = static_cast<std::int64_t>(h.fn.size()) / d.fn.in_features;
        d.base = next();
        d.scale = next();
        return d;
    };
    const auto expert = [&](const Expert& e) {
        return DeviceExpert{matrix(e.w1), matrix(e.w2), matrix(e.w3)};
    };
    for (std::int64_t l = first_layer; l < c.n_layers; ++l) {
        const Layer& layer = weights.layers[static_cast<std::size_t>(l)];
        DeviceLayer d;
        d.host = &layer;
        d.ratio = layer.ratio;
        d.attn_norm = next();
        d.ffn_norm = next();
        d.q_norm = next();
        d.kv_norm = next();
        d.attn_sink = next();
        d.hc_attn = hc(layer.hc_attn);
        d.hc_ffn = hc(layer.hc_ffn);
        d.wq_a = matrix(layer.wq_a);
        d.wq_b = matrix(layer.wq_b);
        d.wkv = matrix(layer.wkv);
        d.wo_b = matrix(layer.wo_b);
        d.gate = matrix(layer.gate);
        for (std::int64_t g = 0; g < c.o_groups; ++g)
            d.wo_a.push_back(matrix(row_slice(layer.wo_a, g * c.o_lora_rank, c.o_lora_rank)));
        if (layer.ratio != 0) {
            d.compressor.wkv = matrix(layer.compressor.wkv);
            d.compressor.wgate = matrix(layer.compressor.wgate);
            d.compressor.ape = next();
            d.compressor.norm = next();
        }
        if (layer.ratio == 4) {
            d.indexer_compressor.wkv = matrix(layer.indexer_compressor.wkv);
            d.indexer_compressor.wgate = matrix(layer.indexer_compressor.wgate);
            d.indexer_compressor.ape = next();
            d.indexer_compressor.norm = next();
            d.indexer_wq_b = matrix(layer.indexer_wq_b);
            d.indexer_weights_proj = matrix(layer.indexer_weights_proj);
        }
        if (!experts_on_host)
            for (const Expert& e : layer.experts) d.experts.push_back(expert(e));
        d.shared = expert(layer.shared_expert);
        impl->layers.push_back(std::move(d));
    }
    impl->hc_head = hc(weights.hc_head);
    impl->norm = next();
    impl->head = matrix(weights.head).weight;

    // Working buffers.
    const std::int64_t R = kMaxRows, dim = c.dim;
    vk::Context& device = *impl->context;
    const std::array<vk::Buffer*, kWorkingBuffers> buffers = impl->working();
    const std::array<std::size_t, kWorkingBuffers> sizes = working_sizes(c);
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        auto made = device.create_buffer(sizes[i]);
        if (!made)
            return Error{"no room on " + device.device().name +
                         " for the DeepSeek-V4 working buffers: " + made.error()};
        *buffers[i] = std::move(*made);
    }
    const std::vector<float> zeros(static_cast<std::size_t>(R * dim), 0.0f);
    if (auto done = device.upload(impl->zeros, 0, zeros.data(), floats(R * dim)); !done)
        return std::move(done).take_error();
    if (auto grown = impl->grow(1); !grown) return std::move(grown).take_error();
    auto stream = device.create_stream();
    if (!stream) return std::move(stream).take_error();
    impl->stream.emplace(std::move(*stream));
    return std::unique_ptr<V4VulkanGraph>(new V4VulkanGraph(std::move(impl)));
}

Result<void> V4VulkanGraph::prepare(V4State& state, std::int64_t start, std::int64_t end) const {
    const Impl& g = *impl_;
    // The device caches: kept while they are newest and large enough, otherwise (re)made from the host's.
    auto* caches = dynamic_cast<VulkanCaches*>(state.device.get());
    if (!caches || !state.device_is_newer || caches->capacity() < end) {
        if (auto read = state.read_back_from_device(); !read) return read;
        // The host holds the newest values now: the old buffers go before the larger ones are made, and
        // where twice the old capacity does not fit, the least that holds `end` may.
        const std::int64_t held = caches ? caches->capacity() : 0;
        state.device.reset();
        auto fresh = std::make_unique<VulkanCaches>(g.context, g.config, g.first_layer);
        Result<void> made = fresh->allocate(std::max(end, 2 * held));
        if (!made && 2 * held > end) made = fresh->allocate(end);
        if (!made) return made;
        if (auto uploaded = fresh->upload(state.layers, start); !uploaded) return uploaded;
        caches = fresh.get();
        state.device = std::move(fresh);
        state.device_is_newer = true;
    }
    // The indexer's scores grow with the caches, in their steps.
    return g.grow(caches->capacity());
}

Result<void> V4VulkanGraph::forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                                    const float* residual, std::int64_t logit_rows, float* logits,
                                    IndexerObserver* observer) const {
    const Impl& g = *impl_;
    const Config& c = g.config;
    const auto rows = static_cast<std::int64_t>(tokens.size());
    if (rows <= 0 || rows > kMaxRows || logit_rows < 0 || logit_rows > rows)
        return Error{"the DeepSeek-V4 device graph takes 1 to " + std::to_string(kMaxRows) +
                     " tokens at a time"};
    const std::int64_t end = start + rows, dim = c.dim, h = c.hc_mult;
    if (auto room = prepare(state, start, end); !room) return room;
    auto* caches = static_cast<VulkanCaches*>(state.device.get());

    Impl::Layout layout;
    const std::int64_t pairs = c.rope_head_dim / 2, table_floats = rows * c.rope_head_dim;
    std::vector<double> token_positions, block_positions[2];
    for (std::int64_t t = 0; t < rows; ++t) token_positions.push_back(static_cast<double>(start + t));
    const std::int64_t ratios[2] = {4, 128};
    for (int r = 0; r < 2; ++r)
        for (std::int64_t b = start / ratios[r]; b < end / ratios[r]; ++b)
            block_positions[r].push_back(static_cast<double>(b * ratios[r]));
    layout.plain = 0;
    layout.compressed = align_up(floats(table_floats));
    layout.blocks[0] = layout.compressed + align_up(floats(table_floats));
    layout.blocks[1] = layout.blocks[0] + align_up(floats((rows / 4 + 1) * c.rope_head_dim));
    layout.visible[0] = layout.blocks[1] + align_up(floats((rows / 128 + 1) * c.rope_head_dim));
    layout.visible[1] = layout.visible[0] + align_up(floats(rows));
    layout.residual = layout.visible[1] + align_up(floats(rows));
    layout.bytes = layout.residual + floats(rows * h * dim);
    std::vector<float>& upload = g.staged_inputs;
    upload.assign(layout.bytes / sizeof(float), 0.0f);
    const auto place = [&](const std::vector<float>& values, std::size_t offset) {
        std::copy(values.begin(), values.end(),
                  upload.begin() + static_cast<std::ptrdiff_t>(offset / sizeof(float)));
    };
    place(k::rope_cos_sin(token_positions, g.host.frequencies(false).data(), pairs), layout.plain);
    place(k::rope_cos_sin(token_positions, g.host.frequencies(true).data(), pairs), layout.compressed);
    for (int r = 0; r < 2; ++r) {
        if (!block_positions[r].empty())
            place(k::rope_cos_sin(block_positions[r], g.host.frequencies(true).data(), pairs),
                  layout.blocks[r]);
        for (std::int64_t t = 0; t < rows; ++t)
            upload[layout.visible[r] / sizeof(float) + static_cast<std::size_t>(t)] =
                std::bit_cast<float>(static_cast<std::uint32_t>((start + t + 1) / ratios[r]));
    }
    std::copy(residual, residual + rows * h * dim,
              upload.begin() + static_cast<std::ptrdiff_t>(layout.residual / sizeof(float)));
    if (auto done = g.context->upload(g.inputs, 0, upload.data(), layout.bytes); !done) return done;

    vk::Stream& s = *g.stream;
    s.reset(); // a forward that failed may have left a recording half made
    Recorder step;
    int current = 0;
    step(vk::copy_rows(s, {g.inputs.span(), static_cast<std::int64_t>(layout.residual / sizeof(float)), 0},
                       {g.residual[0].span(), 0, 0}, 1, rows * h * dim));
    const float eps = static_cast<float>(c.norm_eps);
    const auto hc_post = [&](vk::BufferSpan output) {
        step(vk::hc_post_mix(s, g.post.span(), g.comb.span(), output, g.residual[current].span(), rows, h,
                             dim, g.residual[1 - current].span()));
        step(vk::round_to_bf16(s, g.residual[1 - current].span(), rows * h * dim));
        current = 1 - current;
    };
    const auto submit = [&]() -> Result<void> {
        if (auto recorded = step.take(); !recorded) return recorded;
        if (auto ran = s.submit(); !ran) return ran;
        s.reset();
        return {};
    };

    std::vector<float> scores(static_cast<std::size_t>(rows * c.n_routed_experts));
    std::vector<std::int64_t> chosen(static_cast<std::size_t>(rows * c.n_activated_experts));
    std::vector<float> gate_weights(chosen.size());
    for (std::size_t index = 0; index < g.layers.size(); ++index) {
        const DeviceLayer& layer = g.layers[index];
        // The FP8 QAT of the experts' input, made once per layer when an expert first wants it.
        bool input_quantized = false;
        const auto quantize_input = [&] {
            if (input_quantized) return;
            input_quantized = true;
            step(g.record_quantized(s, g.x.span(), rows, dim, g.x_qat.span()));
        };
        const LayerBuffers& cache = caches->layer(static_cast<std::int64_t>(index));
        const bool observe = observer && layer.ratio == 4;
        g.record_hc_pre(s, step, layer.hc_attn, g.residual[current].span(), rows, g.x.span());
        step(vk::rms_norm(s, g.x.span(), layer.attn_norm, g.x.span(), rows, dim, eps));
        step(vk::round_to_bf16(s, g.x.span(), rows * dim));
        g.record_attention(s, step, layer, cache, start, rows, layout);
        hc_post(g.attention.span());

        g.record_hc_pre(s, step, layer.hc_ffn, g.residual[current].span(), rows, g.x.span());
        step(vk::rms_norm(s, g.x.span(), layer.ffn_norm, g.x.span(), rows, dim, eps));
        step(vk::round_to_bf16(s, g.x.span(), rows * dim));
        step(g.record_linear(s, g.x.span(), rows, layer.gate, g.scores.span(), false));
        step(vk::sqrt_softplus(s, g.scores.span(), g.scores.span(), rows * c.n_routed_experts));
        if (auto ran = submit(); !ran) return ran;

        if (observe && (start + rows) / 4 > 0) {
            const std::int64_t layer_index = g.first_layer + static_cast<std::int64_t>(index);
            const std::int64_t keys = (start + rows) / 4;
            std::vector<std::uint32_t> picked(static_cast<std::size_t>(rows * c.index_topk));
            std::vector<float> seen(static_cast<std::size_t>(rows * keys));
            if (auto done = g.context->download(g.selected, 0, picked.data(), picked.size() * 4); !done)
                return done;
            if (auto done = g.context->download(g.index_scores, 0, seen.data(), seen.size() * 4); !done)
                return done;
            std::vector<std::int64_t> order;
            for (std::int64_t t = 0; t < rows; ++t) {
                const std::int64_t visible = (start + t + 1) / 4;
                if (visible == 0) continue;
                const std::int64_t keep = std::min(c.index_topk, visible);
                order.assign(picked.begin() + t * c.index_topk, picked.begin() + t * c.index_topk + keep);
                observer->observe(
                    {layer_index, start + t, order,
                     std::span<const float>(seen.data() + t * keys, static_cast<std::size_t>(visible)), 4,
                     4});
            }
        }

        // Routing on the host, exactly as the CPU graph routes.
        if (auto done = g.context->download(g.scores, 0, scores.data(), floats(rows * c.n_routed_experts));
            !done)
            return done;
        g.host.route(*layer.host, scores.data(), tokens, chosen.data(), gate_weights.data());
        if (g.experts_on_host) {
            std::vector<float> x(static_cast<std::size_t>(rows * dim)), sum(x.size(), 0.0f);
            if (auto done = g.context->download(g.x, 0, x.data(), floats(rows * dim)); !done) return done;
            g.host.routed_experts(*layer.host, x.data(), rows, chosen.data(), gate_weights.data(),
                                  sum.data());
            if (auto done = g.context->upload(g.routed, 0, sum.data(), floats(rows * dim)); !done)
                return done;
        } else {
            const std::int64_t experts = c.n_routed_experts, active = c.n_activated_experts;
            std::vector<std::int64_t> offsets(static_cast<std::size_t>(experts + 1)),
                routed_rows(chosen.size()), slots(chosen.size());
            k::moe_group(chosen.data(), rows, active, experts, offsets.data(), routed_rows.data(),
                         slots.data());
            // Per expert, its rows (uint32) and gate weights, each in an aligned section.
            const std::size_t section = align_up(floats(rows * active));
            std::vector<std::uint32_t> table(static_cast<std::size_t>(experts) * 2 * section / 4, 0);
            for (std::int64_t e = 0; e < experts; ++e)
                for (std::int64_t i = offsets[static_cast<std::size_t>(e)];
                     i < offsets[static_cast<std::size_t>(e + 1)]; ++i) {
                    const std::size_t at = static_cast<std::size_t>(e) * 2 * section / 4 +
                                           static_cast<std::size_t>(i - offsets[static_cast<std::size_t>(e)]);
                    table[at] = static_cast<std::uint32_t>(routed_rows[static_cast<std::size_t>(i)]);
                    std::memcpy(&table[at + section / 4],
                                &gate_weights[static_cast<std::size_t>(slots[static_cast<std::size_t>(i)])],
                                4);
                }
            if (auto done = g.context->upload(g.routing, 0, table.data(), table.size() * 4); !done)
                return done;
            step(vk::copy_rows(s, {g.zeros.span(), 0, 0}, {g.routed.span(), 0, 0}, 1, rows * dim));
            for (std::int64_t e = 0; e < experts; ++e) {
                const std::int64_t first = offsets[static_cast<std::size_t>(e)],
                                   count = offsets[static_cast<std::size_t>(e + 1)] - first;
                if (count == 0) continue;
                const vk::BufferSpan which =
                    g.routing.span(static_cast<std::size_t>(e) * 2 * section, floats(count));
                const vk::BufferSpan gates =
                    g.routing.span(static_cast<std::size_t>(e) * 2 * section + section, floats(count));
                const DeviceExpert& expert = layer.experts[static_cast<std::size_t>(e)];
                const bool quantized = takes_quantized(expert);
                if (quantized) quantize_input();
                step(vk::gather_rows(s, (quantized ? g.x_qat : g.x).span(), rows, which, count, dim,
                                     g.gathered.span()));
                g.record_expert(s, step, expert, g.gathered.span(), count, gates, quantized);
                step(vk::scatter_add_rows(s, g.expert_out.span(), which, count, dim, g.routed.span(), rows));
            }
        }
        // The shared expert's output is added as the CPU adds it: after every routed one.
        const bool shared_quantized = takes_quantized(layer.shared);
        if (shared_quantized) quantize_input();
        g.record_expert(s, step, layer.shared, (shared_quantized ? g.x_qat : g.x).span(), rows, std::nullopt,
                        shared_quantized);
        step(vk::add_in_place(s, g.routed.span(), g.expert_out.span(), rows * dim));
        step(vk::round_to_bf16(s, g.routed.span(), rows * dim));
        hc_post(g.routed.span());
    }

    if (logit_rows > 0) {
        const std::int64_t first = rows - logit_rows;
        const vk::BufferSpan tail =
            g.residual[current].span(floats(first * h * dim), floats(logit_rows * h * dim));
        step(vk::linear(s, tail, logit_rows, g.hc_head.fn, g.head_projections.span()));
        step(vk::hc_coefficients(s, g.head_projections.span(), tail, logit_rows, h, dim, eps, g.hc_head.scale,
                                 g.hc_head.base, static_cast<float>(c.hc_eps), g.head_pre.span(),
                                 std::nullopt, std::nullopt));
        step(vk::hc_pre_mix(s, g.head_pre.span(), tail, logit_rows, h, dim, g.mixed.span()));
        step(vk::round_to_bf16(s, g.mixed.span(), logit_rows * dim));
        step(vk::rms_norm(s, g.mixed.span(), g.norm, g.mixed.span(), logit_rows, dim, eps));
        step(vk::round_to_bf16(s, g.mixed.span(), logit_rows * dim));
        step(vk::linear(s, g.mixed.span(), logit_rows, g.head, g.logits.span()));
    }
    if (auto ran = submit(); !ran) return ran;
    caches->held = end;
    state.device_is_newer = true;
    if (logit_rows == 0) return {};
    return g.context->download(g.logits, 0, logits, floats(logit_rows * c.vocab_size));
}

} // namespace lectern::model::v4
