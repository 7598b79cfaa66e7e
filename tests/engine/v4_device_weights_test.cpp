// The DeepSeek-V4 device halves' weights on the tiny checkpoint: bound to the very bytes weight_pieces lists
// (the host's own, as handles), every role gets its own tensor, so a device half binds what it uploaded
// where the graph reads it; the pieces cover every device tensor once, each counted in its layer, without
// the routed experts when those stay on the host; unsupported_weight names the first matrix of a type a
// backend has no kernel for, the shared expert and the head included.
#include "inference/formats/safetensors.h"
#include "inference/model/v4/device_weights.h"
#include "inference/model/v4/tensor_source.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace lectern;
using namespace lectern::model::v4;
using kernels::cpu::WeightFormat;

using HostBound = DeviceWeightsOf<WeightMatrix, const float*>;

bool same(const WeightMatrix& bound, const WeightMatrix& host) {
    return bound.data == host.data && bound.scales == host.scales && bound.format == host.format &&
           bound.out_features == host.out_features && bound.in_features == host.in_features &&
           bound.gguf_type == host.gguf_type;
}

bool same(const HostBound::Linear& bound, const WeightMatrix& host) {
    const bool qat =
        host.format == WeightFormat::F8_E4M3_BLOCK128 || host.format == WeightFormat::FP4_E2M1_BLOCK32;
    return same(bound.weight, host) && bound.qat == qat;
}

bool same(const HostBound::Hc& bound, const HyperConnection& host, const Config& c) {
    return bound.fn.data == host.fn.data() && bound.fn.format == WeightFormat::F32 &&
           bound.fn.in_features == c.hc_mult * c.dim &&
           bound.fn.out_features * bound.fn.in_features == static_cast<std::int64_t>(host.fn.size()) &&
           bound.base == host.base.data() && bound.scale == host.scale.data();
}

bool same(const HostBound::Compressor& bound, const Compressor& host) {
    return same(bound.wkv, host.wkv) && same(bound.wgate, host.wgate) && bound.ape == host.ape.data() &&
           bound.norm == host.norm.data();
}

bool same(const HostBound::Expert& bound, const Expert& host) {
    return same(bound.w1, host.w1) && same(bound.w2, host.w2) && same(bound.w3, host.w3);
}

void binds_every_role(const Config& c, const Weights& weights, std::int64_t first_layer,
                      bool experts_on_host) {
    const std::vector<WeightPiece> pieces = weight_pieces(c, weights, first_layer, experts_on_host);
    std::vector<const void*> handles;
    for (const WeightPiece& piece : pieces) handles.push_back(piece.bytes.data());
    UploadedPieces<WeightMatrix, const float*, const void*> source(handles);
    const HostBound bound = bind_device_weights(c, weights, first_layer, experts_on_host, source);
    CHECK(source.all_bound());

    CHECK(static_cast<std::int64_t>(bound.layers.size()) == c.n_layers - first_layer);
    for (std::size_t i = 0; i < bound.layers.size(); ++i) {
        const auto& d = bound.layers[i];
        const Layer& host = weights.layers[static_cast<std::size_t>(first_layer) + i];
        CHECK(d.host == &host && d.ratio == host.ratio);
        CHECK(d.attn_norm == host.attn_norm.data() && d.ffn_norm == host.ffn_norm.data());
        CHECK(d.q_norm == host.q_norm.data() && d.kv_norm == host.kv_norm.data() &&
              d.attn_sink == host.attn_sink.data());
        CHECK(same(d.hc_attn, host.hc_attn, c) && same(d.hc_ffn, host.hc_ffn, c));
        CHECK(same(d.wq_a, host.wq_a) && same(d.wq_b, host.wq_b) && same(d.wkv, host.wkv));
        CHECK(same(d.wo_b, host.wo_b) && same(d.gate, host.gate));
        CHECK(static_cast<std::int64_t>(d.wo_a.size()) == c.o_groups);
        for (std::int64_t g = 0; g < static_cast<std::int64_t>(d.wo_a.size()); ++g)
            CHECK(same(d.wo_a[static_cast<std::size_t>(g)],
                       row_slice(host.wo_a, g * c.o_lora_rank, c.o_lora_rank)));
        if (host.ratio != 0) CHECK(same(d.compressor, host.compressor));
        if (host.ratio == 4) {
            CHECK(same(d.indexer_compressor, host.indexer_compressor));
            CHECK(same(d.indexer_wq_b, host.indexer_wq_b) &&
                  same(d.indexer_weights_proj, host.indexer_weights_proj));
        }
        CHECK(d.experts.size() == (experts_on_host ? 0 : host.experts.size()));
        for (std::size_t e = 0; e < d.experts.size(); ++e) CHECK(same(d.experts[e], host.experts[e]));
        CHECK(same(d.shared, host.shared_expert));
    }
    CHECK(same(bound.hc_head, weights.hc_head, c));
    CHECK(bound.norm == weights.norm.data());
    CHECK(same(bound.head, weights.head));
}

std::uint64_t bytes_of(const std::vector<WeightPiece>& pieces, std::int64_t layer) {
    std::uint64_t total = 0;
    for (const WeightPiece& piece : pieces)
        if (piece.layer == layer) total += piece.bytes.size();
    return total;
}

std::uint64_t expert_bytes(const Layer& layer) {
    std::uint64_t total = 0;
    for (const Expert& e : layer.experts)
        for (const WeightMatrix* w : {&e.w1, &e.w2, &e.w3})
            total +=
                kernels::cpu::weight_data_bytes(w->format, w->out_features, w->in_features, w->gguf_type) +
                kernels::cpu::weight_scale_bytes(w->format, w->out_features, w->in_features);
    return total;
}

void pieces_cover_each_layer(const Config& c, const Weights& weights) {
    const auto all = weight_pieces(c, weights, 0, false);
    const auto host_experts = weight_pieces(c, weights, 0, true);
    const auto last_two = weight_pieces(c, weights, c.n_layers - 2, false);
    for (const WeightPiece& piece : all) CHECK(!piece.name.empty() && !piece.bytes.empty());
    for (std::int64_t l = 0; l < c.n_layers; ++l) {
        const Layer& layer = weights.layers[static_cast<std::size_t>(l)];
        CHECK(expert_bytes(layer) > 0);
        CHECK(bytes_of(all, l) == bytes_of(host_experts, l) + expert_bytes(layer));
        CHECK(bytes_of(last_two, l) == (l >= c.n_layers - 2 ? bytes_of(all, l) : 0));
    }
    CHECK(bytes_of(all, -1) > 0 && bytes_of(all, -1) == bytes_of(last_two, -1));
    std::uint64_t head = weights.norm.size() * sizeof(float);
    for (const auto* v : {&weights.hc_head.fn, &weights.hc_head.base, &weights.hc_head.scale})
        head += v->size() * sizeof(float);
    head += kernels::cpu::weight_data_bytes(weights.head.format, weights.head.out_features,
                                            weights.head.in_features, weights.head.gguf_type) +
            kernels::cpu::weight_scale_bytes(weights.head.format, weights.head.out_features,
                                             weights.head.in_features);
    CHECK(bytes_of(all, -1) == head);
}

void names_the_first_unsupported_matrix(const Config& c, Weights weights) {
    const auto none = [](kernels::DType) { return false; };
    const auto all = [](kernels::DType) { return true; };
    // The tiny checkpoint's matrices are FP8, FP4, BF16 and F32, none in a GGUF block type.
    CHECK(!unsupported_weight(c, weights, none));

    const std::int64_t last = c.n_layers - 1;
    WeightMatrix& shared_w2 = weights.layers[static_cast<std::size_t>(last)].shared_expert.w2;
    shared_w2.format = WeightFormat::GGUF_BLOCK;
    shared_w2.gguf_type = kernels::DType::Q4_K;
    const std::optional<std::string> found = unsupported_weight(c, weights, none);
    const std::string expected = "Q4_K weights (layers." + std::to_string(last) + ".ffn.shared_experts.w2)";
    CHECK(found && *found == expected);
    if (found) std::printf("unsupported: %s\n", found->c_str());
    CHECK(!unsupported_weight(c, weights, all));

    weights.head.format = WeightFormat::GGUF_BLOCK;
    weights.head.gguf_type = kernels::DType::Q6_K;
    CHECK(unsupported_weight(c, weights, none) == found); // the first in binding order
    CHECK(unsupported_weight(c, weights, [](kernels::DType type) { return type != kernels::DType::Q6_K; }) ==
          std::optional<std::string>("Q6_K weights (head)"));
}

} // namespace

int main() {
    const std::string folder = test::tiny_v4_folder();
    auto config = load_config(folder + "/config.json");
    auto checkpoint = formats::SafetensorsCheckpoint::open_folder(folder);
    if (!CHECK(config.ok() && checkpoint.ok())) return 1;
    auto source = safetensors_source(std::move(*checkpoint), folder);
    auto weights = bind_weights(*config, *source);
    if (!CHECK(weights.ok())) return 1;

    for (const bool experts_on_host : {false, true})
        for (const std::int64_t first_layer : {std::int64_t{0}, config->n_layers - 1})
            binds_every_role(*config, *weights, first_layer, experts_on_host);
    pieces_cover_each_layer(*config, *weights);
    names_the_first_unsupported_matrix(*config, *weights);
    return test::finish("engine_v4_device_weights");
}
