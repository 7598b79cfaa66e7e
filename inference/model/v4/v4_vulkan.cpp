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
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace lectern::model::v4 {
namespace {

namespace vk = kernels::vulkan;
namespace k = kernels::cpu;

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

using Bound = DeviceWeightsOf<vk::DeviceWeight, vk::BufferSpan>;
using DeviceLinear = Bound::Linear;
using DeviceHc = Bound::Hc;
using DeviceCompressor = Bound::Compressor;
using DeviceExpert = Bound::Expert;
using DeviceLayer = Bound::DeviceLayer;

struct CompressorBuffers {
    vk::Buffer kv, score; // the CPU layout: [slots, lanes * width] fp32
};

struct LayerBuffers {
    // bf16 as the host keeps them (vk::Storage::BF16), so a cache takes half the memory of fp32.
    vk::Buffer window, entries, index_keys;
    CompressorBuffers compressor, indexer_compressor;

    vk::Buffer& part(CachePart which) {
        switch (which) {
        case CachePart::Window:
            return window;
        case CachePart::Entries:
            return entries;
        case CachePart::CompressorKv:
            return compressor.kv;
        case CachePart::CompressorScore:
            return compressor.score;
        case CachePart::IndexKeys:
            return index_keys;
        case CachePart::IndexerKv:
            return indexer_compressor.kv;
        case CachePart::IndexerScore:
            return indexer_compressor.score;
        }
        return window;
    }
    const vk::Buffer& part(CachePart which) const { return const_cast<LayerBuffers*>(this)->part(which); }
};

} // namespace

// The device layers' caches of one sequence.
class VulkanCaches final : public DeviceLayerCaches {
public:
    VulkanCaches(std::shared_ptr<vk::Context> context, const Config& config, std::int64_t first_layer)
        : DeviceLayerCaches(config, first_layer), context_(std::move(context)) {}

    const LayerBuffers& layer(std::int64_t index) const { return layers_[static_cast<std::size_t>(index)]; }

    std::uint64_t bytes() const override {
        std::uint64_t total = 0;
        for (const LayerBuffers& l : layers_)
            for (std::size_t p = 0; p < kCacheParts; ++p) total += l.part(static_cast<CachePart>(p)).size();
        return total;
    }

protected:
    Result<void> make(std::int64_t capacity) override {
        layers_.clear();
        std::vector<LayerBuffers> layers(static_cast<std::size_t>(config_.n_layers - first_layer_));
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const auto shapes = cache_shapes(config_, first_layer_ + static_cast<std::int64_t>(i), capacity);
            for (std::size_t p = 0; p < kCacheParts; ++p) {
                if (shapes[p].elements == 0) continue;
                auto made = context_->create_buffer(shapes[p].bytes());
                if (!made)
                    return Error{"no room on " + context_->device().name + " for the DeepSeek-V4 caches of " +
                                 std::to_string(capacity) + " positions: " + made.error()};
                layers[i].part(static_cast<CachePart>(p)) = std::move(*made);
            }
        }
        layers_ = std::move(layers);
        return {};
    }
    Result<void> write(std::size_t layer, CachePart part, const void* data, std::size_t bytes) override {
        return context_->upload(layers_[layer].part(part), 0, data, bytes);
    }
    Result<void> read(std::size_t layer, CachePart part, void* data, std::size_t bytes) const override {
        return context_->download(layers_[layer].part(part), 0, data, bytes);
    }

private:
    std::shared_ptr<vk::Context> context_;
    std::vector<LayerBuffers> layers_;
};

struct V4VulkanGraph::Impl {
    std::shared_ptr<vk::Context> context;
    const Config& config;
    const Graph& host;
    std::int64_t first_layer = 0;
    bool experts_on_host = false;
    backend::DeviceWeights uploads;
    Bound bound; // the uploads' roles

    // Working buffers for kDeviceMaxRows rows.
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
    mutable DeviceInputs staged_inputs;       // one forward's inputs, kept for their capacity
    mutable std::optional<vk::Stream> stream; // recorded anew by each forward

    Impl(std::shared_ptr<vk::Context> owner, const Config& c, const Graph& g)
        : context(std::move(owner)), config(c), host(g), uploads(*context) {}

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
                          std::int64_t start, std::int64_t rows, const DeviceInputs& layout) const;
    // A compressor over the chunk: its state, and the entries of the blocks completed here (normed, RoPE
    // at the block's start, QAT, bf16) appended to `out`.
    void record_compress(vk::Stream& s, Recorder& step, const DeviceCompressor& compressor,
                         const CompressorBuffers& state, std::int64_t ratio, std::int64_t width,
                         const vk::Buffer& a, const vk::Buffer& z, std::int64_t start, std::int64_t rows,
                         bool indexer, const DeviceInputs& layout, const vk::Buffer& out) const;
    // One expert on `rows` rows of `in` into expert_out; gates scale its rows (none: the shared expert).
    // `in_quantized`: `in` already holds the FP8 QAT of the input, as expert.takes_quantized() wants.
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
                                          const DeviceInputs& layout, const vk::Buffer& out) const {
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
                                           const DeviceInputs& layout) const {
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

V4VulkanGraph::V4VulkanGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
V4VulkanGraph::~V4VulkanGraph() = default;

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
    const std::vector<WeightPiece> pieces = weight_pieces(c, weights, first_layer, experts_on_host);
    std::uint64_t total = 0;
    for (const WeightPiece& piece : pieces) total += piece.bytes.size();
    impl->uploads.plan(total, pieces.size());
    std::vector<vk::BufferSpan> spans;
    std::uint64_t uploaded = 0;
    for (const WeightPiece& piece : pieces) {
        auto span = impl->uploads.upload(piece.bytes, piece.name);
        if (!span) return std::move(span).take_error();
        spans.push_back(*span);
        uploaded += piece.bytes.size();
        if (uploading && !uploading(static_cast<double>(uploaded) /
                                    static_cast<double>(std::max<std::uint64_t>(total, 1))))
            return Error{"uploading the weights was cancelled"};
    }

    UploadedPieces<vk::DeviceWeight, vk::BufferSpan, vk::BufferSpan> uploaded_pieces(spans);
    impl->bound = bind_device_weights(c, weights, first_layer, experts_on_host, uploaded_pieces);
    if (!uploaded_pieces.all_bound()) return Error{"the DeepSeek-V4 device weights were bound out of order"};

    // Working buffers.
    const std::int64_t R = kDeviceMaxRows, dim = c.dim;
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

std::unique_ptr<DeviceLayerCaches> V4VulkanGraph::new_caches() const {
    return std::make_unique<VulkanCaches>(impl_->context, impl_->config, impl_->first_layer);
}

Result<void> V4VulkanGraph::grow_scores(std::int64_t capacity) const {
    return impl_->grow(capacity);
}

Result<void> V4VulkanGraph::forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                                    const float* residual, std::int64_t logit_rows, float* logits,
                                    IndexerObserver* observer) const {
    const Impl& g = *impl_;
    const Config& c = g.config;
    const auto rows = static_cast<std::int64_t>(tokens.size());
    if (rows <= 0 || rows > kDeviceMaxRows || logit_rows < 0 || logit_rows > rows)
        return Error{"the DeepSeek-V4 device graph takes 1 to " + std::to_string(kDeviceMaxRows) +
                     " tokens at a time"};
    const std::int64_t end = start + rows, dim = c.dim, h = c.hc_mult;
    if (auto room = prepare(state, start, end); !room) return room;
    auto* caches = static_cast<VulkanCaches*>(state.device.get());

    DeviceInputs& layout = g.staged_inputs;
    build_inputs(c, g.host, start, rows, residual, layout);
    if (auto done = g.context->upload(g.inputs, 0, layout.data.data(), layout.bytes); !done) return done;

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
    Routing routing;
    for (std::size_t index = 0; index < g.bound.layers.size(); ++index) {
        const DeviceLayer& layer = g.bound.layers[index];
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
            const std::int64_t keys = (start + rows) / 4;
            std::vector<std::uint32_t> picked(static_cast<std::size_t>(rows * c.index_topk));
            std::vector<float> seen(static_cast<std::size_t>(rows * keys));
            if (auto done = g.context->download(g.selected, 0, picked.data(), picked.size() * 4); !done)
                return done;
            if (auto done = g.context->download(g.index_scores, 0, seen.data(), seen.size() * 4); !done)
                return done;
            report_choices(c, g.first_layer + static_cast<std::int64_t>(index), start, rows, picked, seen,
                           *observer);
        }

        // Routing on the host, exactly as the CPU graph routes.
        if (auto done = g.context->download(g.scores, 0, scores.data(), floats(rows * c.n_routed_experts));
            !done)
            return done;
        route_rows(c, g.host, *layer.host, scores.data(), tokens, g.experts_on_host, routing);
        if (g.experts_on_host) {
            std::vector<float> x(static_cast<std::size_t>(rows * dim)), sum(x.size(), 0.0f);
            if (auto done = g.context->download(g.x, 0, x.data(), floats(rows * dim)); !done) return done;
            g.host.routed_experts(*layer.host, x.data(), rows, routing.chosen.data(),
                                  routing.gate_weights.data(), sum.data());
            if (auto done = g.context->upload(g.routed, 0, sum.data(), floats(rows * dim)); !done)
                return done;
        } else {
            const std::int64_t experts = c.n_routed_experts;
            const std::vector<std::int64_t>& offsets = routing.offsets;
            const std::size_t section = routing.section;
            if (auto done = g.context->upload(g.routing, 0, routing.table.data(), routing.table.size() * 4);
                !done)
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
                const bool quantized = expert.takes_quantized();
                if (quantized) quantize_input();
                step(vk::gather_rows(s, (quantized ? g.x_qat : g.x).span(), rows, which, count, dim,
                                     g.gathered.span()));
                g.record_expert(s, step, expert, g.gathered.span(), count, gates, quantized);
                step(vk::scatter_add_rows(s, g.expert_out.span(), which, count, dim, g.routed.span(), rows));
            }
        }
        // The shared expert's output is added as the CPU adds it: after every routed one.
        const bool shared_quantized = layer.shared.takes_quantized();
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
        step(vk::linear(s, tail, logit_rows, g.bound.hc_head.fn, g.head_projections.span()));
        step(vk::hc_coefficients(s, g.head_projections.span(), tail, logit_rows, h, dim, eps,
                                 g.bound.hc_head.scale, g.bound.hc_head.base, static_cast<float>(c.hc_eps),
                                 g.head_pre.span(), std::nullopt, std::nullopt));
        step(vk::hc_pre_mix(s, g.head_pre.span(), tail, logit_rows, h, dim, g.mixed.span()));
        step(vk::round_to_bf16(s, g.mixed.span(), logit_rows * dim));
        step(vk::rms_norm(s, g.mixed.span(), g.bound.norm, g.mixed.span(), logit_rows, dim, eps));
        step(vk::round_to_bf16(s, g.mixed.span(), logit_rows * dim));
        step(vk::linear(s, g.mixed.span(), logit_rows, g.bound.head, g.logits.span()));
    }
    if (auto ran = submit(); !ran) return ran;
    caches->held = end;
    state.device_is_newer = true;
    if (logit_rows == 0) return {};
    return g.context->download(g.logits, 0, logits, floats(logit_rows * c.vocab_size));
}

} // namespace lectern::model::v4
