#include "inference/model/v4/v4_device.h"

#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/ops.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

namespace lectern::model::v4 {
namespace {

namespace k = kernels::cpu;

// Device caches grow in steps of this many positions.
constexpr std::int64_t kCapacityStep = 1024;

} // namespace

std::size_t device_align(std::size_t bytes) {
    return (bytes + kDeviceAlignment - 1) / kDeviceAlignment * kDeviceAlignment;
}

std::size_t floats(std::int64_t count) {
    return static_cast<std::size_t>(count) * sizeof(float);
}

std::int64_t device_cache_capacity(const Config& c, std::int64_t positions) {
    return std::min(c.max_seq_len, (positions + kCapacityStep - 1) / kCapacityStep * kCapacityStep);
}

std::int64_t index_score_floats_for(std::int64_t positions) {
    return kDeviceMaxRows * (positions / 4 + 1);
}

std::array<std::size_t, kWorkingBuffers> working_sizes(const Config& c) {
    const std::int64_t R = kDeviceMaxRows, dim = c.dim, h = c.hc_mult, heads = c.n_heads,
                       head_dim = c.head_dim;
    const std::int64_t index_width = c.index_n_heads * c.index_head_dim;
    const std::int64_t widest_input = std::max(
        {dim, c.q_lora_rank, heads / c.o_groups * head_dim, c.o_groups * c.o_lora_rank, c.moe_inter_dim});
    const std::size_t routing_bytes =
        static_cast<std::size_t>(c.n_routed_experts) * 2 * device_align(floats(R * c.n_activated_experts));
    const std::size_t input_bytes = 4 * device_align(floats((R + 1) * c.rope_head_dim)) +
                                    2 * device_align(floats(R)) + floats(R * h * dim);
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

std::array<CacheShape, kCacheParts> cache_shapes(const Config& c, std::int64_t layer, std::int64_t capacity) {
    std::array<CacheShape, kCacheParts> shapes{};
    const auto set = [&](CachePart part, std::int64_t elements, bool bf16) {
        shapes[static_cast<std::size_t>(part)] = {std::max<std::int64_t>(elements, 1), bf16};
    };
    set(CachePart::Window, c.window_size * c.head_dim, true);
    const std::int64_t ratio = c.ratio(layer);
    if (ratio == 0) return shapes;
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    set(CachePart::Entries, (capacity / ratio) * c.head_dim, true);
    set(CachePart::CompressorKv, lanes * ratio * lanes * c.head_dim, false);
    set(CachePart::CompressorScore, lanes * ratio * lanes * c.head_dim, false);
    if (ratio != 4) return shapes;
    set(CachePart::IndexKeys, (capacity / 4) * c.index_head_dim, true);
    set(CachePart::IndexerKv, lanes * ratio * lanes * c.index_head_dim, false);
    set(CachePart::IndexerScore, lanes * ratio * lanes * c.index_head_dim, false);
    return shapes;
}

Result<void> DeviceLayerCaches::allocate(std::int64_t capacity) {
    capacity = device_cache_capacity(config_, capacity);
    capacity_ = 0;
    if (auto made = make(capacity); !made) return made;
    capacity_ = capacity;
    return {};
}

Result<void> DeviceLayerCaches::upload(const std::vector<LayerCache>& host, std::int64_t position) {
    const Config& c = config_;
    for (std::int64_t layer = first_layer_; layer < c.n_layers; ++layer) {
        const LayerCache& from = host[static_cast<std::size_t>(layer)];
        const auto index = static_cast<std::size_t>(layer - first_layer_);
        const auto put = [&](CachePart part, const auto& values, std::size_t count) -> Result<void> {
            if (count == 0) return {};
            if (values.size() < count) return Error{"the host caches hold fewer entries than positions"};
            return write(index, part, values.data(), count * sizeof(values[0]));
        };
        if (auto done = put(CachePart::Window, from.window, from.window.size()); !done) return done;
        const std::int64_t ratio = c.ratio(layer);
        if (ratio == 0) continue;
        if (auto done = put(CachePart::Entries, from.entries,
                            static_cast<std::size_t>((position / ratio) * c.head_dim));
            !done)
            return done;
        if (auto done = put(CachePart::CompressorKv, from.compressor.kv, from.compressor.kv.size()); !done)
            return done;
        if (auto done = put(CachePart::CompressorScore, from.compressor.score, from.compressor.score.size());
            !done)
            return done;
        if (ratio != 4) continue;
        if (auto done = put(CachePart::IndexKeys, from.index_keys,
                            static_cast<std::size_t>((position / 4) * c.index_head_dim));
            !done)
            return done;
        if (auto done =
                put(CachePart::IndexerKv, from.indexer_compressor.kv, from.indexer_compressor.kv.size());
            !done)
            return done;
        if (auto done = put(CachePart::IndexerScore, from.indexer_compressor.score,
                            from.indexer_compressor.score.size());
            !done)
            return done;
    }
    held = position;
    return {};
}

Result<void> DeviceLayerCaches::read_back(std::vector<LayerCache>& host) const {
    const Config& c = config_;
    for (std::int64_t layer = first_layer_; layer < c.n_layers; ++layer) {
        LayerCache& to = host[static_cast<std::size_t>(layer)];
        const auto index = static_cast<std::size_t>(layer - first_layer_);
        const auto get = [&](CachePart part, auto& values, std::size_t count) -> Result<void> {
            values.resize(count);
            if (count == 0) return {};
            return read(index, part, values.data(), count * sizeof(values[0]));
        };
        if (auto done = get(CachePart::Window, to.window, to.window.size()); !done) return done;
        const std::int64_t ratio = c.ratio(layer);
        if (ratio == 0) continue;
        if (auto done =
                get(CachePart::Entries, to.entries, static_cast<std::size_t>((held / ratio) * c.head_dim));
            !done)
            return done;
        if (auto done = get(CachePart::CompressorKv, to.compressor.kv, to.compressor.kv.size()); !done)
            return done;
        if (auto done = get(CachePart::CompressorScore, to.compressor.score, to.compressor.score.size());
            !done)
            return done;
        if (ratio != 4) continue;
        if (auto done = get(CachePart::IndexKeys, to.index_keys,
                            static_cast<std::size_t>((held / 4) * c.index_head_dim));
            !done)
            return done;
        if (auto done = get(CachePart::IndexerKv, to.indexer_compressor.kv, to.indexer_compressor.kv.size());
            !done)
            return done;
        if (auto done =
                get(CachePart::IndexerScore, to.indexer_compressor.score, to.indexer_compressor.score.size());
            !done)
            return done;
    }
    return {};
}

namespace {

// bind_device_weights' source that lists each tensor's bytes.
struct PieceList {
    struct Weight {};
    struct Vector {};

    Weight matrix(const WeightMatrix& w, const std::string& name, std::int64_t layer) {
        add(w.data, k::weight_data_bytes(w.format, w.out_features, w.in_features, w.gguf_type), name, layer);
        if (const std::uint64_t scales = k::weight_scale_bytes(w.format, w.out_features, w.in_features))
            add(w.scales, scales, name + " scales", layer);
        return {};
    }
    Vector vector(const std::vector<float>& v, const std::string& name, std::int64_t layer) {
        add(v.data(), v.size() * sizeof(float), name, layer);
        return {};
    }
    void add(const void* data, std::uint64_t bytes, const std::string& name, std::int64_t layer) {
        pieces.push_back(
            {{static_cast<const std::byte*>(data), static_cast<std::size_t>(bytes)}, name, layer});
    }

    std::vector<WeightPiece> pieces;
};

// bind_device_weights' source that finds the first GGUF matrix of a type without a kernel.
struct UnsupportedWeight {
    struct Weight {};
    struct Vector {};

    Weight matrix(const WeightMatrix& w, const std::string& name, std::int64_t) {
        if (!found && w.format == k::WeightFormat::GGUF_BLOCK && !supported(w.gguf_type))
            found = std::string(kernels::dtype_info(w.gguf_type).name) + " weights (" + name + ")";
        return {};
    }
    Vector vector(const std::vector<float>&, const std::string&, std::int64_t) { return {}; }

    bool (*supported)(kernels::DType);
    std::optional<std::string> found;
};

} // namespace

std::optional<std::string> unsupported_weight(const Config& c, const Weights& weights,
                                              bool (*supported)(kernels::DType)) {
    UnsupportedWeight search{.supported = supported, .found = std::nullopt};
    bind_device_weights(c, weights, 0, false, search);
    return search.found;
}

std::vector<WeightPiece> weight_pieces(const Config& c, const Weights& weights, std::int64_t first_layer,
                                       bool experts_on_host) {
    PieceList list;
    bind_device_weights(c, weights, first_layer, experts_on_host, list);
    return std::move(list.pieces);
}

backend::DeviceFootprint device_footprint(const Config& c, const Weights& weights, bool experts_on_host,
                                          std::int64_t context, AttentionScratchBytes scratch_bytes) {
    backend::DeviceFootprint footprint;
    footprint.context = context;
    footprint.layer_bytes.assign(static_cast<std::size_t>(c.n_layers), 0);
    const std::int64_t capacity = device_cache_capacity(c, context);
    for (const WeightPiece& piece : weight_pieces(c, weights, 0, experts_on_host))
        (piece.layer < 0 ? footprint.other_bytes
                         : footprint.layer_bytes[static_cast<std::size_t>(piece.layer)]) +=
            device_align(piece.bytes.size());
    std::int64_t widest_entries = 0;
    for (std::int64_t layer = 0; layer < c.n_layers; ++layer) {
        for (const CacheShape& shape : cache_shapes(c, layer, capacity))
            footprint.layer_bytes[static_cast<std::size_t>(layer)] += shape.bytes();
        if (const std::int64_t ratio = c.ratio(layer); ratio != 0 && ratio != 4)
            widest_entries = std::max(widest_entries, capacity / ratio);
    }
    for (const std::size_t bytes : working_sizes(c)) footprint.other_bytes += bytes;
    footprint.other_bytes += floats(index_score_floats_for(capacity));
    // Attention's logits at the longest context; the scratch grows by half again at a time.
    const std::uint64_t scratch = scratch_bytes(kDeviceMaxRows, c.n_heads, c.window_size, capacity,
                                                std::max(widest_entries, c.index_topk), false, 0);
    footprint.other_bytes += scratch * 3 / 2;
    return footprint;
}

void build_inputs(const Config& c, const Graph& host, std::int64_t start, std::int64_t rows,
                  const float* residual, DeviceInputs& out) {
    const std::int64_t end = start + rows, pairs = c.rope_head_dim / 2, table_floats = rows * c.rope_head_dim;
    std::vector<double> token_positions, block_positions[2];
    for (std::int64_t t = 0; t < rows; ++t) token_positions.push_back(static_cast<double>(start + t));
    const std::int64_t ratios[2] = {4, 128};
    for (int r = 0; r < 2; ++r)
        for (std::int64_t b = start / ratios[r]; b < end / ratios[r]; ++b)
            block_positions[r].push_back(static_cast<double>(b * ratios[r]));
    out.plain = 0;
    out.compressed = device_align(floats(table_floats));
    out.blocks[0] = out.compressed + device_align(floats(table_floats));
    out.blocks[1] = out.blocks[0] + device_align(floats((rows / 4 + 1) * c.rope_head_dim));
    out.visible[0] = out.blocks[1] + device_align(floats((rows / 128 + 1) * c.rope_head_dim));
    out.visible[1] = out.visible[0] + device_align(floats(rows));
    out.residual = out.visible[1] + device_align(floats(rows));
    out.bytes = out.residual + floats(rows * c.hc_mult * c.dim);
    std::vector<float>& data = out.data;
    data.assign(out.bytes / sizeof(float), 0.0f);
    const auto place = [&](const std::vector<float>& values, std::size_t offset) {
        std::copy(values.begin(), values.end(),
                  data.begin() + static_cast<std::ptrdiff_t>(offset / sizeof(float)));
    };
    place(k::rope_cos_sin(token_positions, host.frequencies(false).data(), pairs), out.plain);
    place(k::rope_cos_sin(token_positions, host.frequencies(true).data(), pairs), out.compressed);
    for (int r = 0; r < 2; ++r) {
        if (!block_positions[r].empty())
            place(k::rope_cos_sin(block_positions[r], host.frequencies(true).data(), pairs), out.blocks[r]);
        for (std::int64_t t = 0; t < rows; ++t)
            data[out.visible[r] / sizeof(float) + static_cast<std::size_t>(t)] =
                std::bit_cast<float>(static_cast<std::uint32_t>((start + t + 1) / ratios[r]));
    }
    std::copy(residual, residual + rows * c.hc_mult * c.dim,
              data.begin() + static_cast<std::ptrdiff_t>(out.residual / sizeof(float)));
}

void route_rows(const Config& c, const Graph& host, const Layer& layer, const float* scores,
                std::span<const Token> tokens, bool experts_on_host, Routing& out) {
    const auto rows = static_cast<std::int64_t>(tokens.size());
    const std::int64_t experts = c.n_routed_experts, active = c.n_activated_experts;
    out.chosen.resize(static_cast<std::size_t>(rows * active));
    out.gate_weights.resize(out.chosen.size());
    host.route(layer, scores, tokens, out.chosen.data(), out.gate_weights.data());
    if (experts_on_host) return;
    out.offsets.assign(static_cast<std::size_t>(experts + 1), 0);
    std::vector<std::int64_t> routed_rows(out.chosen.size()), slots(out.chosen.size());
    k::moe_group(out.chosen.data(), rows, active, experts, out.offsets.data(), routed_rows.data(),
                 slots.data());
    out.section = device_align(floats(rows * active));
    out.table.assign(static_cast<std::size_t>(experts) * 2 * out.section / 4, 0);
    for (std::int64_t e = 0; e < experts; ++e)
        for (std::int64_t i = out.offsets[static_cast<std::size_t>(e)];
             i < out.offsets[static_cast<std::size_t>(e + 1)]; ++i) {
            const std::size_t at = static_cast<std::size_t>(e) * 2 * out.section / 4 +
                                   static_cast<std::size_t>(i - out.offsets[static_cast<std::size_t>(e)]);
            out.table[at] = static_cast<std::uint32_t>(routed_rows[static_cast<std::size_t>(i)]);
            std::memcpy(&out.table[at + out.section / 4],
                        &out.gate_weights[static_cast<std::size_t>(slots[static_cast<std::size_t>(i)])], 4);
        }
}

void report_choices(const Config& c, std::int64_t layer, std::int64_t start, std::int64_t rows,
                    const std::vector<std::uint32_t>& picked, const std::vector<float>& scores,
                    IndexerObserver& observer) {
    const std::int64_t keys = (start + rows) / 4;
    std::vector<std::int64_t> order;
    for (std::int64_t t = 0; t < rows; ++t) {
        const std::int64_t visible = (start + t + 1) / 4;
        if (visible == 0) continue;
        const std::int64_t keep = std::min(c.index_topk, visible);
        order.assign(picked.begin() + t * c.index_topk, picked.begin() + t * c.index_topk + keep);
        observer.observe({layer, start + t, order,
                          std::span<const float>(scores.data() + t * keys, static_cast<std::size_t>(visible)),
                          4, 4});
    }
}

Result<void> V4DeviceGraph::prepare(V4State& state, std::int64_t start, std::int64_t end) const {
    // The device caches: kept while they are newest and large enough, otherwise (re)made from the host's.
    auto* caches = dynamic_cast<DeviceLayerCaches*>(state.device.get());
    if (!caches || !state.device_is_newer || caches->capacity() < end) {
        if (auto read = state.read_back_from_device(); !read) return read;
        // The host holds the newest values now: the old buffers go before the larger ones are made, and
        // where twice the old capacity does not fit, the least that holds `end` may.
        const std::int64_t held = caches ? caches->capacity() : 0;
        state.device.reset();
        std::unique_ptr<DeviceLayerCaches> fresh = new_caches();
        Result<void> made = fresh->allocate(std::max(end, 2 * held));
        if (!made && 2 * held > end) made = fresh->allocate(end);
        if (!made) return made;
        if (auto uploaded = fresh->upload(state.layers, start); !uploaded) return uploaded;
        caches = fresh.get();
        state.device = std::move(fresh);
        state.device_is_newer = true;
    }
    // The indexer's scores grow with the caches, in their steps.
    return grow_scores(caches->capacity());
}

} // namespace lectern::model::v4
