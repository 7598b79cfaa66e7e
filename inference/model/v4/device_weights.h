#pragma once
// The weights of a DeepSeek-V4 device half, bound in one order for every backend. bind_device_weights
// walks the tensors a device half holds and asks a source for each one's handle: weight_pieces'
// source lists them for upload, UploadedPieces hands out what was uploaded in that same order, so the
// order is written down once. Weight is the backend's DeviceWeight, Vector its handle of an fp32 vector.

#include "inference/model/v4/config.h"
#include "inference/model/v4/weights.h"
#include "kernels/cpu/ops.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lectern::model::v4 {

template <class Weight, class Vector>
struct DeviceWeightsOf {
    // A linear of the graph: the reference feeds FP8/FP4 weights FP8-quantised activations.
    struct Linear {
        Weight weight{};
        bool qat = false;
    };
    struct Hc {
        Weight fn{}; // F32 [P, hc * dim]
        Vector base{}, scale{};
    };
    struct Compressor {
        Linear wkv, wgate;
        Vector ape{}, norm{};
    };
    struct Expert {
        Linear w1, w2, w3;
        // Whether the first two linears take the FP8 QAT of the input: both read the same rows, and QAT
        // works within a row, so one quantised copy of a layer's input serves every such expert and row.
        bool takes_quantized() const { return w1.qat && w3.qat; }
    };
    struct DeviceLayer {
        const Layer* host = nullptr;
        std::int64_t ratio = 0;
        Vector attn_norm{}, ffn_norm{}, q_norm{}, kv_norm{}, attn_sink{};
        Hc hc_attn, hc_ffn;
        Linear wq_a, wq_b, wkv, wo_b, gate;
        std::vector<Linear> wo_a; // one per output group
        Compressor compressor, indexer_compressor;
        Linear indexer_wq_b, indexer_weights_proj;
        std::vector<Expert> experts; // empty when they stay on the host
        Expert shared;
    };

    std::vector<DeviceLayer> layers; // first_layer onwards
    Hc hc_head;
    Vector norm{};
    Weight head{};
};

// The tensors of layers [first_layer, n_layers) (their routed experts unless they stay on the host),
// then the head's, each asked of `source` as source.matrix(w, name, layer) (a Weight) or
// source.vector(v, name, layer) (a Vector); layer is -1 for the head's.
template <class Source>
DeviceWeightsOf<typename Source::Weight, typename Source::Vector>
bind_device_weights(const Config& c, const Weights& weights, std::int64_t first_layer, bool experts_on_host,
                    Source& source) {
    using Bound = DeviceWeightsOf<typename Source::Weight, typename Source::Vector>;
    using kernels::cpu::WeightFormat;
    Bound bound;
    std::int64_t layer_index = -1;
    const auto vector = [&](const std::vector<float>& v, const std::string& name) {
        return source.vector(v, name, layer_index);
    };
    const auto matrix = [&](const WeightMatrix& w, const std::string& name) {
        return typename Bound::Linear{source.matrix(w, name, layer_index),
                                      w.format == WeightFormat::F8_E4M3_BLOCK128 ||
                                          w.format == WeightFormat::FP4_E2M1_BLOCK32};
    };
    const auto hc = [&](const HyperConnection& h, const std::string& name) {
        WeightMatrix fn;
        fn.data = h.fn.data();
        fn.in_features = c.hc_mult * c.dim;
        fn.out_features = static_cast<std::int64_t>(h.fn.size()) / fn.in_features;
        typename Bound::Hc d;
        d.fn = source.matrix(fn, name + ".fn", layer_index);
        d.base = vector(h.base, name + ".base");
        d.scale = vector(h.scale, name + ".scale");
        return d;
    };
    const auto compressor = [&](const Compressor& from, const std::string& name) {
        typename Bound::Compressor d;
        d.wkv = matrix(from.wkv, name + ".wkv");
        d.wgate = matrix(from.wgate, name + ".wgate");
        d.ape = vector(from.ape, name + ".ape");
        d.norm = vector(from.norm, name + ".norm");
        return d;
    };
    const auto expert = [&](const Expert& e, const std::string& name) {
        return typename Bound::Expert{matrix(e.w1, name + ".w1"), matrix(e.w2, name + ".w2"),
                                      matrix(e.w3, name + ".w3")};
    };
    for (std::int64_t l = first_layer; l < c.n_layers; ++l) {
        layer_index = l;
        const Layer& layer = weights.layers[static_cast<std::size_t>(l)];
        const std::string p = "layers." + std::to_string(l) + ".";
        typename Bound::DeviceLayer& d = bound.layers.emplace_back();
        d.host = &layer;
        d.ratio = layer.ratio;
        d.attn_norm = vector(layer.attn_norm, p + "attn_norm");
        d.ffn_norm = vector(layer.ffn_norm, p + "ffn_norm");
        d.q_norm = vector(layer.q_norm, p + "attn.q_norm");
        d.kv_norm = vector(layer.kv_norm, p + "attn.kv_norm");
        d.attn_sink = vector(layer.attn_sink, p + "attn.attn_sink");
        d.hc_attn = hc(layer.hc_attn, p + "hc_attn");
        d.hc_ffn = hc(layer.hc_ffn, p + "hc_ffn");
        d.wq_a = matrix(layer.wq_a, p + "attn.wq_a");
        d.wq_b = matrix(layer.wq_b, p + "attn.wq_b");
        d.wkv = matrix(layer.wkv, p + "attn.wkv");
        d.wo_b = matrix(layer.wo_b, p + "attn.wo_b");
        d.gate = matrix(layer.gate, p + "ffn.gate");
        for (std::int64_t g = 0; g < c.o_groups; ++g)
            d.wo_a.push_back(matrix(row_slice(layer.wo_a, g * c.o_lora_rank, c.o_lora_rank),
                                    p + "attn.wo_a group " + std::to_string(g)));
        if (layer.ratio != 0) d.compressor = compressor(layer.compressor, p + "attn.compressor");
        if (layer.ratio == 4) {
            d.indexer_compressor = compressor(layer.indexer_compressor, p + "attn.indexer.compressor");
            d.indexer_wq_b = matrix(layer.indexer_wq_b, p + "attn.indexer.wq_b");
            d.indexer_weights_proj = matrix(layer.indexer_weights_proj, p + "attn.indexer.weights_proj");
        }
        if (!experts_on_host)
            for (std::size_t e = 0; e < layer.experts.size(); ++e)
                d.experts.push_back(expert(layer.experts[e], p + "ffn.experts." + std::to_string(e)));
        d.shared = expert(layer.shared_expert, p + "ffn.shared_experts");
    }
    layer_index = -1;
    bound.hc_head = hc(weights.hc_head, "hc_head");
    bound.norm = vector(weights.norm, "norm");
    bound.head = matrix(weights.head, "head").weight;
    return bound;
}

// A tensor a device half holds: its bytes in the mapped file, a name for errors, its layer (-1: the
// head's).
struct WeightPiece {
    std::span<const std::byte> bytes;
    std::string name;
    std::int64_t layer = -1;
};

// Every tensor bind_device_weights asks for, in its order; a matrix is its data, then its scales where its
// format has them. A device half uploads these, then binds them with UploadedPieces.
std::vector<WeightPiece> weight_pieces(const Config& config, const Weights& weights, std::int64_t first_layer,
                                       bool experts_on_host);

// The first matrix a device half with every layer and expert would hold whose GGUF type `supported` has
// no kernel for, as "TYPE weights (NAME)".
std::optional<std::string> unsupported_weight(const Config& config, const Weights& weights,
                                              bool (*supported)(kernels::DType));

// The source that binds weight_pieces' uploads: handles[i] is where piece i went on the device. Handle
// converts (static_cast) to Vector and to Weight's data and scales members.
template <class WeightT, class VectorT, class Handle>
class UploadedPieces {
public:
    using Weight = WeightT;
    using Vector = VectorT;

    explicit UploadedPieces(std::span<const Handle> handles) : handles_(handles) {}

    Weight matrix(const WeightMatrix& w, const std::string&, std::int64_t) {
        Weight d;
        d.format = w.format;
        d.out_features = w.out_features;
        d.in_features = w.in_features;
        d.gguf_type = w.gguf_type;
        d.data = next();
        if (kernels::cpu::weight_scale_bytes(w.format, w.out_features, w.in_features))
            d.scales = static_cast<decltype(d.scales)>(next());
        return d;
    }
    Vector vector(const std::vector<float>&, const std::string&, std::int64_t) {
        return static_cast<Vector>(next());
    }
    // Whether every handle was bound.
    bool all_bound() const { return at_ == handles_.size(); }

private:
    Handle next() {
        const std::size_t i = at_++;
        return i < handles_.size() ? handles_[i] : Handle{};
    }

    std::span<const Handle> handles_;
    std::size_t at_ = 0;
};

} // namespace lectern::model::v4
