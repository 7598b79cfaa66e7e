#include "inference/model/v4/v4_cuda.h"

#include "kernels/cpu/graph_ops.h"
#include "kernels/cuda/attention_ops.h"
#include "kernels/cuda/compressor_ops.h"
#include "kernels/cuda/graph_ops.h"
#include "kernels/cuda/ops.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

namespace lectern::model::v4 {
namespace {

namespace cu = kernels::cuda;
namespace k = kernels::cpu;

using Bound = DeviceWeightsOf<cu::DeviceWeight, const float*>;
using DeviceLinear = Bound::Linear;
using DeviceHc = Bound::Hc;
using DeviceCompressor = Bound::Compressor;
using DeviceExpert = Bound::Expert;
using DeviceLayer = Bound::DeviceLayer;

using LayerParts = std::array<cu::DeviceBuffer, kCacheParts>;

float* as_floats(const cu::DeviceBuffer& buffer) {
    return buffer.as<float>();
}

} // namespace

// The device layers' caches of one sequence.
class CudaCaches final : public DeviceLayerCaches {
public:
    CudaCaches(const Config& config, std::int64_t first_layer, std::shared_ptr<cu::MemoryAccount> account)
        : DeviceLayerCaches(config, first_layer), account_(std::move(account)) {}

    const cu::DeviceBuffer& part(std::int64_t layer, CachePart which) const {
        return layers_[static_cast<std::size_t>(layer)][static_cast<std::size_t>(which)];
    }

    std::uint64_t bytes() const override {
        std::uint64_t total = 0;
        for (const LayerParts& parts : layers_)
            for (const cu::DeviceBuffer& buffer : parts) total += buffer.size();
        return total;
    }

protected:
    Result<void> make(std::int64_t capacity) override {
        layers_.clear();
        std::vector<LayerParts> layers(static_cast<std::size_t>(config_.n_layers - first_layer_));
        for (std::size_t i = 0; i < layers.size(); ++i) {
            const auto shapes = cache_shapes(config_, first_layer_ + static_cast<std::int64_t>(i), capacity);
            for (std::size_t p = 0; p < kCacheParts; ++p) {
                if (shapes[p].elements == 0) continue;
                auto made = cu::DeviceBuffer::allocate(shapes[p].bytes(), account_);
                if (!made)
                    return Error{"no room on the CUDA device for the DeepSeek-V4 caches of " +
                                 std::to_string(capacity) + " positions: " + made.error()};
                layers[i][p] = std::move(*made);
            }
        }
        layers_ = std::move(layers);
        return {};
    }
    Result<void> write(std::size_t layer, CachePart which, const void* data, std::size_t bytes) override {
        return layers_[layer][static_cast<std::size_t>(which)].upload(data, bytes);
    }
    Result<void> read(std::size_t layer, CachePart which, void* data, std::size_t bytes) const override {
        return layers_[layer][static_cast<std::size_t>(which)].download(data, bytes);
    }

private:
    std::shared_ptr<cu::MemoryAccount> account_;
    std::vector<LayerParts> layers_;
};

struct V4CudaGraph::Impl {
    const Config& config;
    const Graph& host;
    std::shared_ptr<cu::MemoryAccount> account; // everything below and the sequences' caches
    std::int64_t first_layer = 0;
    bool experts_on_host = false;
    std::vector<cu::DeviceBuffer> tensors; // one per weight piece, in weight_pieces' order
    std::uint64_t tensor_bytes = 0;
    Bound bound; // the tensors' roles

    // Working buffers for kDeviceMaxRows rows, in working_sizes' order.
    cu::DeviceBuffer inputs, residual[2], projections, pre, post, comb, x, x_qat, activations, q_latent, q,
        kv, comp_a, comp_z, index_a, index_z, index_q, index_w, attention_out, group_in, group_out, low_rank,
        attention, pooled, selected, scores, gathered, h1, h3, expert_out, routed, zeros, routing,
        head_projections, head_pre, mixed, logits;
    std::array<cu::DeviceBuffer*, kWorkingBuffers> working() {
        return {&inputs,     &residual[0], &residual[1], &projections, &pre,
                &post,       &comb,        &x,           &x_qat,       &activations,
                &q_latent,   &q,           &kv,          &comp_a,      &comp_z,
                &index_a,    &index_z,     &index_q,     &index_w,     &attention_out,
                &group_in,   &group_out,   &low_rank,    &attention,   &pooled,
                &selected,   &scores,      &gathered,    &h1,          &h3,
                &expert_out, &routed,      &zeros,       &routing,     &head_projections,
                &head_pre,   &mixed,       &logits};
    }
    // The indexer's scores [rows, keys], for the largest device caches yet (they grow together), and
    // sparse attention's logits, grown by half again when a forward needs more.
    mutable cu::DeviceBuffer index_scores, scratch;
    DeviceInputs staged_inputs; // one forward's inputs, kept for their capacity

    Impl(const Config& c, const Graph& g, std::uint64_t memory_limit)
        : config(c), host(g), account(std::make_shared<cu::MemoryAccount>(memory_limit)) {}

    const float* input(std::size_t offset) const { return as_floats(inputs) + offset / sizeof(float); }
    const std::uint32_t* visible(std::size_t offset) const {
        return reinterpret_cast<const std::uint32_t*>(input(offset));
    }

    // reference: as graph.cpp's linear_bf16_out (FP8 QAT of the input for FP8/FP4 weights, a bf16
    // output); otherwise a plain fp32 linear, as the CPU graph runs the compressors and the router.
    Result<void> linear(const float* in, std::int64_t rows, const DeviceLinear& l, float* out, bool reference,
                        bool input_quantized = false) const;
    // The FP8 QAT of `rows` rows of `n` values of `in` into `out`.
    Result<void> quantized(const float* in, std::int64_t rows, std::int64_t n, float* out) const;
    void hc_pre(Steps& run, const DeviceHc& hc, const float* streams, std::int64_t rows, float* out) const;
    void attend(Steps& run, const DeviceLayer& layer, const CudaCaches& caches, std::int64_t index,
                std::int64_t start, std::int64_t rows, const DeviceInputs& layout) const;
    // A compressor over the chunk: its state, and the entries of the blocks completed here (normed, RoPE
    // at the block's start, QAT, bf16) appended to `out`.
    void compress(Steps& run, const DeviceCompressor& compressor, float* state_kv, float* state_score,
                  std::int64_t ratio, std::int64_t width, const float* a, const float* z, std::int64_t start,
                  std::int64_t rows, bool indexer, const DeviceInputs& layout, std::uint16_t* out) const;
    // One expert on `rows` rows of `in` into expert_out; gates scale its rows (null: the shared expert).
    void expert(Steps& run, const DeviceExpert& expert, const float* in, std::int64_t rows,
                const float* gates, bool in_quantized) const;
    Result<void> grow(std::int64_t positions) const;
    Result<void> reserve_scratch(std::uint64_t bytes) const;
};

Result<void> V4CudaGraph::Impl::linear(const float* in, std::int64_t rows, const DeviceLinear& l, float* out,
                                       bool reference, bool input_quantized) const {
    const std::int64_t n = l.weight.in_features;
    const float* source = in;
    if (reference && l.qat && !input_quantized) {
        if (auto done = quantized(in, rows, n, as_floats(activations)); !done) return done;
        source = as_floats(activations);
    }
    if (auto done = cu::linear(source, rows, l.weight, out); !done) return done;
    return reference ? cu::round_to_bf16(out, rows * l.weight.out_features) : Result<void>();
}

Result<void> V4CudaGraph::Impl::quantized(const float* in, std::int64_t rows, std::int64_t n,
                                          float* out) const {
    if (auto done = cu::copy_rows(in, 0, out, 0, 1, rows * n); !done) return done;
    return cu::qat(out, rows, n, n, 128, cu::QatFormat::Fp8E4M3);
}

void V4CudaGraph::Impl::hc_pre(Steps& run, const DeviceHc& hc, const float* streams, std::int64_t rows,
                               float* out) const {
    const Config& c = config;
    const std::int64_t h = c.hc_mult;
    float *p = as_floats(projections), *pre_mix = as_floats(pre), *comb_mix = as_floats(comb);
    run([&] { return cu::linear(streams, rows, hc.fn, p); });
    run([&] {
        return cu::hc_coefficients(p, streams, rows, h, c.dim, static_cast<float>(c.norm_eps), hc.scale,
                                   hc.base, static_cast<float>(c.hc_eps), pre_mix, as_floats(post), comb_mix);
    });
    run([&] { return cu::sinkhorn(comb_mix, rows, h, c.hc_sinkhorn_iters, static_cast<float>(c.hc_eps)); });
    run([&] { return cu::hc_pre_mix(pre_mix, streams, rows, h, c.dim, out); });
    run([&] { return cu::round_to_bf16(out, rows * c.dim); });
}

void V4CudaGraph::Impl::compress(Steps& run, const DeviceCompressor& compressor, float* state_kv,
                                 float* state_score, std::int64_t ratio, std::int64_t width, const float* a,
                                 const float* z, std::int64_t start, std::int64_t rows, bool indexer,
                                 const DeviceInputs& layout, std::uint16_t* out) const {
    const std::int64_t blocks = (start + rows) / ratio - start / ratio;
    float* p = as_floats(pooled);
    run([&] {
        return cu::compressor_chunk(a, z, compressor.ape, rows, start, ratio, width, state_kv, state_score,
                                    blocks ? p : nullptr);
    });
    if (blocks == 0) return;
    const Config& c = config;
    const std::int64_t rope = c.rope_head_dim;
    run([&] { return cu::rms_norm(p, compressor.norm, p, blocks, width, static_cast<float>(c.norm_eps)); });
    run([&] {
        return cu::rope_interleaved(p, input(layout.blocks[ratio == 4 ? 0 : 1]), blocks, 1, width,
                                    width - rope, rope / 2, false);
    });
    if (indexer) {
        run([&] { return cu::hadamard(p, blocks, width); });
        run([&] { return cu::qat(p, blocks, width, width, 32, cu::QatFormat::Fp4E2M1); });
    } else {
        run([&] { return cu::qat(p, blocks, width, width - rope, 64, cu::QatFormat::Fp8E4M3); });
    }
    run([&] { return cu::store_bf16(p, 0, out + (start / ratio) * width, 0, 1, blocks * width); });
}

void V4CudaGraph::Impl::expert(Steps& run, const DeviceExpert& e, const float* in, std::int64_t rows,
                               const float* gates, bool in_quantized) const {
    const std::int64_t inter = config.moe_inter_dim;
    float *gate_rows = as_floats(h1), *up_rows = as_floats(h3);
    run([&] { return linear(in, rows, e.w1, gate_rows, true, in_quantized); });
    run([&] { return linear(in, rows, e.w3, up_rows, true, in_quantized); });
    run([&] {
        return cu::swiglu(gate_rows, up_rows, gates, gate_rows, rows, inter,
                          static_cast<float>(config.swiglu_limit));
    });
    run([&] { return cu::round_to_bf16(gate_rows, rows * inter); });
    run([&] { return linear(gate_rows, rows, e.w2, as_floats(expert_out), true); });
}

void V4CudaGraph::Impl::attend(Steps& run, const DeviceLayer& layer, const CudaCaches& caches,
                               std::int64_t index, std::int64_t start, std::int64_t rows,
                               const DeviceInputs& layout) const {
    const Config& c = config;
    const std::int64_t heads = c.n_heads, head_dim = c.head_dim, rope = c.rope_head_dim,
                       nope = c.nope_head_dim(), ratio = layer.ratio;
    const std::int64_t index_heads = c.index_n_heads, index_dim = c.index_head_dim, window = c.window_size;
    const float eps = static_cast<float>(c.norm_eps);
    const float* table = input(ratio == 0 ? layout.plain : layout.compressed);
    float *xs = as_floats(x), *xq = as_floats(x_qat), *latent = as_floats(q_latent), *qs = as_floats(q),
          *kvs = as_floats(kv), *out = as_floats(attention_out);

    // One FP8 QAT of the input serves every FP8/FP4 linear that reads it.
    const bool any_quantized =
        layer.wq_a.qat || layer.wkv.qat || (ratio == 4 && layer.indexer_weights_proj.qat);
    if (any_quantized) run([&] { return quantized(xs, rows, c.dim, xq); });
    const auto input_of = [&](const DeviceLinear& l) { return l.qat ? xq : xs; };
    run([&] { return linear(input_of(layer.wq_a), rows, layer.wq_a, latent, true, layer.wq_a.qat); });
    run([&] { return cu::rms_norm(latent, layer.q_norm, latent, rows, c.q_lora_rank, eps); });
    run([&] { return cu::round_to_bf16(latent, rows * c.q_lora_rank); });
    run([&] { return linear(latent, rows, layer.wq_b, qs, true); });
    run([&] { return cu::rms_norm(qs, nullptr, qs, rows * heads, head_dim, eps); });
    run([&] { return cu::rope_interleaved(qs, table, rows, heads, head_dim, nope, rope / 2, false); });
    run([&] { return cu::round_to_bf16(qs, rows * heads * head_dim); });

    run([&] { return linear(input_of(layer.wkv), rows, layer.wkv, kvs, true, layer.wkv.qat); });
    run([&] { return cu::rms_norm(kvs, layer.kv_norm, kvs, rows, head_dim, eps); });
    run([&] { return cu::round_to_bf16(kvs, rows * head_dim); });
    run([&] { return cu::rope_interleaved(kvs, table, rows, 1, head_dim, nope, rope / 2, false); });
    run([&] { return cu::qat(kvs, rows, head_dim, nope, 64, cu::QatFormat::Fp8E4M3); });
    run([&] { return cu::round_to_bf16(kvs, rows * head_dim); });

    if (ratio != 0) {
        run([&] { return linear(xs, rows, layer.compressor.wkv, as_floats(comp_a), false); });
        run([&] { return linear(xs, rows, layer.compressor.wgate, as_floats(comp_z), false); });
    }
    float *index_queries = as_floats(index_q), *index_weights = as_floats(index_w);
    if (ratio == 4) {
        run([&] { return linear(xs, rows, layer.indexer_compressor.wkv, as_floats(index_a), false); });
        run([&] { return linear(xs, rows, layer.indexer_compressor.wgate, as_floats(index_z), false); });
        run([&] { return linear(latent, rows, layer.indexer_wq_b, index_queries, true); });
        run([&] {
            return cu::rope_interleaved(index_queries, table, rows, index_heads, index_dim, index_dim - rope,
                                        rope / 2, false);
        });
        run([&] { return cu::hadamard(index_queries, rows * index_heads, index_dim); });
        run([&] {
            return cu::qat(index_queries, rows * index_heads, index_dim, index_dim, 32,
                           cu::QatFormat::Fp4E2M1);
        });
        run([&] {
            return linear(input_of(layer.indexer_weights_proj), rows, layer.indexer_weights_proj,
                          index_weights, true, layer.indexer_weights_proj.qat);
        });
        run([&] {
            return cu::scale(index_weights, rows * index_heads,
                             static_cast<float>(1.0 / (std::sqrt(static_cast<double>(index_dim)) *
                                                       std::sqrt(static_cast<double>(index_heads)))));
        });
    }

    // The compressors first: a token sees the entries of blocks that end at or before it.
    const auto part = [&](CachePart which) { return caches.part(index, which).data(); };
    if (ratio == 4)
        compress(run, layer.indexer_compressor, static_cast<float*>(part(CachePart::IndexerKv)),
                 static_cast<float*>(part(CachePart::IndexerScore)), ratio, index_dim, as_floats(index_a),
                 as_floats(index_z), start, rows, true, layout,
                 static_cast<std::uint16_t*>(part(CachePart::IndexKeys)));
    if (ratio != 0)
        compress(run, layer.compressor, static_cast<float*>(part(CachePart::CompressorKv)),
                 static_cast<float*>(part(CachePart::CompressorScore)), ratio, head_dim, as_floats(comp_a),
                 as_floats(comp_z), start, rows, false, layout,
                 static_cast<std::uint16_t*>(part(CachePart::Entries)));

    // The entries each row sees; CSA keeps the indexer's best index_topk of them.
    const std::int64_t end = start + rows, keys = ratio ? end / ratio : 0;
    const std::uint32_t* seen = visible(layout.visible[ratio == 4 ? 0 : 1]);
    auto* chosen = selected.as<std::uint32_t>();
    if (ratio == 4 && keys > 0) {
        run([&] {
            return cu::indexer_scores(index_queries, index_weights, part(CachePart::IndexKeys), rows,
                                      index_heads, keys, index_dim, as_floats(index_scores), true);
        });
        run([&] {
            return cu::top_k(as_floats(index_scores), rows, keys, c.index_topk, k::TopKOrder::ByIndex, chosen,
                             seen);
        });
    }
    const std::int64_t capacity = ratio ? (caches.capacity() / ratio) : 0;
    const bool sparse = ratio == 4;
    const void* ring = part(CachePart::Window);
    run([&] {
        return reserve_scratch(
            cu::sparse_attention_scratch_bytes(rows, heads, window, start, capacity, sparse, c.index_topk));
    });
    run([&] {
        return cu::sparse_attention(
            qs, rows, heads, head_dim, ring, window, kvs, start, ratio ? part(CachePart::Entries) : nullptr,
            capacity, sparse ? chosen : nullptr, c.index_topk, ratio ? seen : visible(layout.visible[0]),
            static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))), layer.attn_sink,
            as_floats(scratch), out, true);
    });

    // Then the chunk's rows (the last `window` of them) go into the ring, wrapping at its end.
    auto* ring_rows = static_cast<std::uint16_t*>(part(CachePart::Window));
    const std::int64_t kept = std::min(rows, window), from = end - kept, slot = from % window,
                       before_wrap = std::min(kept, window - slot);
    run([&] {
        return cu::store_bf16(kvs + (from - start) * head_dim, 0, ring_rows + slot * head_dim, 0, 1,
                              before_wrap * head_dim);
    });
    if (kept > before_wrap)
        run([&] {
            return cu::store_bf16(kvs + (from - start + before_wrap) * head_dim, 0, ring_rows, 0, 1,
                                  (kept - before_wrap) * head_dim);
        });
    run([&] { return cu::rope_interleaved(out, table, rows, heads, head_dim, nope, rope / 2, true); });
    run([&] { return cu::round_to_bf16(out, rows * heads * head_dim); });

    // Grouped low-rank output: group g's heads (contiguous) through its own rows of wo_a.
    const std::int64_t groups = c.o_groups, group_width = heads / groups * head_dim, rank = c.o_lora_rank;
    float *group_rows = as_floats(group_in), *group_result = as_floats(group_out),
          *ranks = as_floats(low_rank);
    for (std::int64_t g = 0; g < groups; ++g) {
        run([&] {
            return cu::copy_rows(out + g * group_width, heads * head_dim, group_rows, group_width, rows,
                                 group_width);
        });
        run([&] {
            return linear(group_rows, rows, layer.wo_a[static_cast<std::size_t>(g)], group_result, true);
        });
        run([&] { return cu::copy_rows(group_result, rank, ranks + g * rank, groups * rank, rows, rank); });
    }
    run([&] { return linear(ranks, rows, layer.wo_b, as_floats(attention), true); });
}

Result<void> V4CudaGraph::Impl::grow(std::int64_t positions) const {
    const std::int64_t wanted = index_score_floats_for(positions);
    if (floats(wanted) <= index_scores.size()) return {};
    // Nothing refers to the old scores between forwards: they go before the larger ones are made.
    index_scores = {};
    auto made = cu::DeviceBuffer::allocate(floats(wanted), account);
    if (!made)
        return Error{"no room on the CUDA device for the indexer's scores over " + std::to_string(positions) +
                     " positions: " + made.error()};
    index_scores = std::move(*made);
    return {};
}

Result<void> V4CudaGraph::Impl::reserve_scratch(std::uint64_t bytes) const {
    if (bytes <= scratch.size()) return {};
    scratch = {};
    auto made = cu::DeviceBuffer::allocate(static_cast<std::size_t>(std::max(bytes, scratch.size() * 3 / 2)),
                                           account);
    if (!made) return Error{"no room on the CUDA device for attention's logits: " + made.error()};
    scratch = std::move(*made);
    return {};
}

V4CudaGraph::V4CudaGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
V4CudaGraph::~V4CudaGraph() = default;

std::int64_t V4CudaGraph::first_layer() const {
    return impl_->first_layer;
}

std::uint64_t V4CudaGraph::weight_bytes() const {
    return impl_->tensor_bytes;
}

std::uint64_t V4CudaGraph::device_bytes_in_use() const {
    return impl_->account->used();
}

Result<std::unique_ptr<V4CudaGraph>> V4CudaGraph::create(const Config& config, const Weights& weights,
                                                         const Graph& host, std::int64_t first_layer,
                                                         bool experts_on_host, std::uint64_t memory_limit,
                                                         const std::function<bool(double)>& uploading) {
    if (auto device = cu::device_available(); !device) return std::move(device).take_error();
    auto impl = std::make_unique<Impl>(config, host, memory_limit);
    impl->first_layer = first_layer;
    impl->experts_on_host = experts_on_host;
    const Config& c = config;

    const std::vector<WeightPiece> pieces = weight_pieces(c, weights, first_layer, experts_on_host);
    std::uint64_t total = 0;
    for (const WeightPiece& piece : pieces) total += piece.bytes.size();
    std::uint64_t uploaded = 0;
    for (const WeightPiece& piece : pieces) {
        auto buffer = cu::DeviceBuffer::allocate(piece.bytes.size(), impl->account);
        if (!buffer) return Error{"no room on the CUDA device for " + piece.name + ": " + buffer.error()};
        if (auto copied = buffer->upload(piece.bytes.data(), piece.bytes.size()); !copied)
            return Error{"uploading " + piece.name + ": " + copied.error()};
        impl->tensor_bytes += buffer->size();
        impl->tensors.push_back(std::move(*buffer));
        uploaded += piece.bytes.size();
        if (uploading && !uploading(static_cast<double>(uploaded) /
                                    static_cast<double>(std::max<std::uint64_t>(total, 1))))
            return Error{"uploading the weights was cancelled"};
    }

    std::vector<const void*> handles;
    for (const cu::DeviceBuffer& tensor : impl->tensors) handles.push_back(tensor.data());
    UploadedPieces<cu::DeviceWeight, const float*, const void*> uploaded_pieces(handles);
    impl->bound = bind_device_weights(c, weights, first_layer, experts_on_host, uploaded_pieces);
    if (!uploaded_pieces.all_bound()) return Error{"the DeepSeek-V4 device weights were bound out of order"};

    const std::array<cu::DeviceBuffer*, kWorkingBuffers> buffers = impl->working();
    const std::array<std::size_t, kWorkingBuffers> sizes = working_sizes(c);
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        auto made = cu::DeviceBuffer::allocate(sizes[i], impl->account);
        if (!made)
            return Error{"no room on the CUDA device for the DeepSeek-V4 working buffers: " + made.error()};
        *buffers[i] = std::move(*made);
    }
    const std::vector<float> zeros(static_cast<std::size_t>(kDeviceMaxRows * c.dim), 0.0f);
    if (auto done = impl->zeros.upload(zeros.data(), floats(kDeviceMaxRows * c.dim)); !done)
        return std::move(done).take_error();
    if (auto grown = impl->grow(1); !grown) return std::move(grown).take_error();
    return std::unique_ptr<V4CudaGraph>(new V4CudaGraph(std::move(impl)));
}

std::unique_ptr<DeviceLayerCaches> V4CudaGraph::new_caches() const {
    return std::make_unique<CudaCaches>(impl_->config, impl_->first_layer, impl_->account);
}

Result<void> V4CudaGraph::grow_scores(std::int64_t capacity) const {
    return impl_->grow(capacity);
}

Result<void> V4CudaGraph::forward(V4State& state, std::int64_t start, std::span<const Token> tokens,
                                  const float* residual, std::int64_t logit_rows, float* logits,
                                  IndexerObserver* observer) const {
    Impl& g = *impl_; // the working buffers change with each forward
    const Config& c = g.config;
    const auto rows = static_cast<std::int64_t>(tokens.size());
    if (rows <= 0 || rows > kDeviceMaxRows || logit_rows < 0 || logit_rows > rows)
        return Error{"the DeepSeek-V4 device graph takes 1 to " + std::to_string(kDeviceMaxRows) +
                     " tokens at a time"};
    const std::int64_t end = start + rows, dim = c.dim, h = c.hc_mult;
    if (auto room = prepare(state, start, end); !room) return room;
    const auto& caches = static_cast<const CudaCaches&>(*state.device);

    DeviceInputs& layout = g.staged_inputs;
    build_inputs(c, g.host, start, rows, residual, layout);
    if (auto done = g.inputs.upload(layout.data.data(), layout.bytes); !done) return done;

    Steps run;
    float* streams[2] = {as_floats(g.residual[0]), as_floats(g.residual[1])};
    int current = 0;
    run([&] { return cu::copy_rows(g.input(layout.residual), 0, streams[0], 0, 1, rows * h * dim); });
    const float eps = static_cast<float>(c.norm_eps);
    float *xs = as_floats(g.x), *xq = as_floats(g.x_qat), *routed = as_floats(g.routed);
    const auto hc_post = [&](const float* output) {
        run([&] {
            return cu::hc_post_mix(as_floats(g.post), as_floats(g.comb), output, streams[current], rows, h,
                                   dim, streams[1 - current]);
        });
        run([&] { return cu::round_to_bf16(streams[1 - current], rows * h * dim); });
        current = 1 - current;
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
            run([&] { return g.quantized(xs, rows, dim, xq); });
        };
        g.hc_pre(run, layer.hc_attn, streams[current], rows, xs);
        run([&] { return cu::rms_norm(xs, layer.attn_norm, xs, rows, dim, eps); });
        run([&] { return cu::round_to_bf16(xs, rows * dim); });
        g.attend(run, layer, caches, static_cast<std::int64_t>(index), start, rows, layout);
        hc_post(as_floats(g.attention));

        g.hc_pre(run, layer.hc_ffn, streams[current], rows, xs);
        run([&] { return cu::rms_norm(xs, layer.ffn_norm, xs, rows, dim, eps); });
        run([&] { return cu::round_to_bf16(xs, rows * dim); });
        run([&] { return g.linear(xs, rows, layer.gate, as_floats(g.scores), false); });
        run([&] {
            return cu::sqrt_softplus(as_floats(g.scores), as_floats(g.scores), rows * c.n_routed_experts);
        });
        run([&] { return g.scores.download(scores.data(), floats(rows * c.n_routed_experts)); });
        if (auto ran = run.take(); !ran) return ran;

        if (observer && layer.ratio == 4 && end / 4 > 0) {
            std::vector<std::uint32_t> picked(static_cast<std::size_t>(rows * c.index_topk));
            std::vector<float> seen(static_cast<std::size_t>(rows * (end / 4)));
            if (auto done = g.selected.download(picked.data(), picked.size() * 4); !done) return done;
            if (auto done = g.index_scores.download(seen.data(), seen.size() * 4); !done) return done;
            report_choices(c, g.first_layer + static_cast<std::int64_t>(index), start, rows, picked, seen,
                           *observer);
        }

        // Routing on the host, exactly as the CPU graph routes.
        route_rows(c, g.host, *layer.host, scores.data(), tokens, g.experts_on_host, routing);
        if (g.experts_on_host) {
            std::vector<float> host_x(static_cast<std::size_t>(rows * dim)), sum(host_x.size(), 0.0f);
            if (auto done = g.x.download(host_x.data(), floats(rows * dim)); !done) return done;
            g.host.routed_experts(*layer.host, host_x.data(), rows, routing.chosen.data(),
                                  routing.gate_weights.data(), sum.data());
            if (auto done = g.routed.upload(sum.data(), floats(rows * dim)); !done) return done;
        } else {
            if (auto done = g.routing.upload(routing.table.data(), routing.table.size() * 4); !done)
                return done;
            run([&] { return cu::copy_rows(as_floats(g.zeros), 0, routed, 0, 1, rows * dim); });
            const auto* table = g.routing.as<std::uint8_t>();
            for (std::int64_t e = 0; e < c.n_routed_experts; ++e) {
                const std::int64_t first = routing.offsets[static_cast<std::size_t>(e)],
                                   count = routing.offsets[static_cast<std::size_t>(e + 1)] - first;
                if (count == 0) continue;
                const std::size_t section = static_cast<std::size_t>(e) * 2 * routing.section;
                const auto* which = reinterpret_cast<const std::uint32_t*>(table + section);
                const auto* gates = reinterpret_cast<const float*>(table + section + routing.section);
                const DeviceExpert& expert = layer.experts[static_cast<std::size_t>(e)];
                const bool quantized = expert.takes_quantized();
                if (quantized) quantize_input();
                run([&] {
                    return cu::gather_rows(quantized ? xq : xs, rows, which, count, dim,
                                           as_floats(g.gathered));
                });
                g.expert(run, expert, as_floats(g.gathered), count, gates, quantized);
                run([&] {
                    return cu::scatter_add_rows(as_floats(g.expert_out), which, count, dim, routed, rows);
                });
            }
        }
        // The shared expert's output is added as the CPU adds it: after every routed one.
        const bool shared_quantized = layer.shared.takes_quantized();
        if (shared_quantized) quantize_input();
        g.expert(run, layer.shared, shared_quantized ? xq : xs, rows, nullptr, shared_quantized);
        run([&] { return cu::add(routed, as_floats(g.expert_out), routed, rows * dim); });
        run([&] { return cu::round_to_bf16(routed, rows * dim); });
        hc_post(routed);
    }

    if (logit_rows > 0) {
        const float* tail = streams[current] + (rows - logit_rows) * h * dim;
        float *head_projections = as_floats(g.head_projections), *head_pre = as_floats(g.head_pre),
              *mixed = as_floats(g.mixed);
        run([&] { return cu::linear(tail, logit_rows, g.bound.hc_head.fn, head_projections); });
        run([&] {
            return cu::hc_coefficients(head_projections, tail, logit_rows, h, dim, eps, g.bound.hc_head.scale,
                                       g.bound.hc_head.base, static_cast<float>(c.hc_eps), head_pre, nullptr,
                                       nullptr);
        });
        run([&] { return cu::hc_pre_mix(head_pre, tail, logit_rows, h, dim, mixed); });
        run([&] { return cu::round_to_bf16(mixed, logit_rows * dim); });
        run([&] { return cu::rms_norm(mixed, g.bound.norm, mixed, logit_rows, dim, eps); });
        run([&] { return cu::round_to_bf16(mixed, logit_rows * dim); });
        run([&] { return cu::linear(mixed, logit_rows, g.bound.head, as_floats(g.logits)); });
    }
    // The caches hold this forward's rows only once its kernels have run.
    run([&] { return cu::synchronize("the DeepSeek-V4 forward"); });
    if (auto ran = run.take(); !ran) return ran;
    static_cast<CudaCaches&>(*state.device).held = end;
    state.device_is_newer = true;
    if (logit_rows == 0) return {};
    return g.logits.download(logits, floats(logit_rows * c.vocab_size));
}

} // namespace lectern::model::v4
