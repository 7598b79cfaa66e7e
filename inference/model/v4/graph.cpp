#include "inference/model/v4/graph.h"

#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <numeric>

namespace lectern::model::v4 {
namespace {

namespace k = kernels::cpu;
using k::WeightFormat;

// Calls work(first, end) on shares of [0, count) in the pool's threads, for loops whose iterations are
// independent (so any split gives the same results); inline when there is no pool or too little work
// (`cost` multiply-adds per iteration) to be worth waking it.
void split(kernels::quant::ThreadPool* pool, std::int64_t count, std::int64_t cost,
           const std::function<void(std::int64_t, std::int64_t)>& work) {
    constexpr std::int64_t kMinWorkPerThread = 1 << 15;
    if (!pool || pool->size() == 1 || count < 2 || count * cost < kMinWorkPerThread * pool->size()) {
        work(0, count);
        return;
    }
    pool->run([&](int part, int parts) { work(count * part / parts, count * (part + 1) / parts); });
}

// A linear as the reference runs it: FP8/FP4 weights see FP8-quantised activations (1x128 blocks,
// power-of-two scales); the output is bf16. BF16/F32 weights and GGUF block types (a GGUF file's Q8_0,
// Q4_K, IQ2_XXS, F16, ...) see the activations as they are, as llama.cpp runs them: no FP8 QAT.
std::vector<float> linear_bf16_out(const float* x, std::int64_t rows, const k::WeightMatrix& w,
                                   kernels::quant::ThreadPool* pool) {
    std::vector<float> y(static_cast<std::size_t>(rows * w.out_features));
    if (w.format == WeightFormat::F8_E4M3_BLOCK128 || w.format == WeightFormat::FP4_E2M1_BLOCK32) {
        std::vector<float> quantised(x, x + rows * w.in_features);
        for (std::int64_t r = 0; r < rows; ++r)
            k::fp8_qat(quantised.data() + r * w.in_features, w.in_features, 128);
        k::linear(quantised.data(), rows, w, y.data(), pool);
    } else {
        k::linear(x, rows, w, y.data(), pool);
    }
    k::round_to_bf16(y.data(), static_cast<std::int64_t>(y.size()));
    return y;
}

void rms_norm_rows(float* x, const std::vector<float>& weight, std::int64_t rows, std::int64_t n, float eps,
                   bool to_bf16) {
    k::rms_norm(x, weight.empty() ? nullptr : weight.data(), x, rows, n, eps);
    if (to_bf16) k::round_to_bf16(x, rows * n);
}

} // namespace

std::vector<float> rope_frequencies(const Config& c, double theta, bool yarn) {
    const std::int64_t dims = c.rope_head_dim;
    std::vector<float> frequencies(static_cast<std::size_t>(dims / 2));
    const double two_pi = 2.0 * std::numbers::pi;
    const double low =
        std::max(0.0, std::floor(static_cast<double>(dims) *
                                 std::log(static_cast<double>(c.original_seq_len) / (c.beta_fast * two_pi)) /
                                 (2.0 * std::log(theta))));
    const double high =
        std::min(static_cast<double>(dims - 1),
                 std::ceil(static_cast<double>(dims) *
                           std::log(static_cast<double>(c.original_seq_len) / (c.beta_slow * two_pi)) /
                           (2.0 * std::log(theta))));
    for (std::int64_t i = 0; i < dims / 2; ++i) {
        double f = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(dims));
        if (yarn) {
            const double span = high > low ? high - low : 0.001;
            const double ramp = std::clamp((static_cast<double>(i) - low) / span, 0.0, 1.0);
            f = f * (1.0 - ramp) + f / c.rope_factor * ramp;
        }
        frequencies[static_cast<std::size_t>(i)] = static_cast<float>(f);
    }
    return frequencies;
}

Graph::Graph(const Config& config, const Weights& weights, kernels::quant::ThreadPool* pool)
    : config_(config), weights_(weights), pool_(pool),
      plain_frequencies_(rope_frequencies(config, config.rope_theta, false)),
      compressed_frequencies_(rope_frequencies(config, config.compress_rope_theta, true)) {}

std::vector<float> Graph::run(V4State& state, std::span<const Token> tokens, IndexerObserver* observer,
                              std::int64_t layers) const {
    const std::int64_t rows = static_cast<std::int64_t>(tokens.size());
    const std::int64_t dim = config_.dim, hc = config_.hc_mult;
    std::vector<float> residual(static_cast<std::size_t>(rows * hc * dim));
    std::vector<float> embedding(static_cast<std::size_t>(dim));
    for (std::int64_t t = 0; t < rows; ++t) {
        k::dequantize_row(weights_.embed, tokens[static_cast<std::size_t>(t)], embedding.data());
        for (std::int64_t j = 0; j < hc; ++j)
            std::copy(embedding.begin(), embedding.end(), residual.begin() + (t * hc + j) * dim);
    }
    const std::size_t end = layers < 0 ? weights_.layers.size() : static_cast<std::size_t>(layers);
    for (std::size_t i = 0; i < end; ++i) {
        const Layer& layer = weights_.layers[i];
        block(layer, state.layers[i], state.position_, tokens, residual,
              layer.ratio == 0 ? plain_frequencies_ : compressed_frequencies_, observer,
              static_cast<std::int64_t>(i));
    }
    state.position_ += rows;
    return residual;
}

void Graph::logits(const float* residual, std::int64_t rows, float* out) const {
    head(weights_.hc_head, weights_.norm, residual, rows, out);
}

void Graph::mtp_logits(const float* residual, std::int64_t rows, float* out) const {
    const Mtp& mtp = weights_.mtp.at(0);
    head(mtp.hc_head, mtp.norm, residual, rows, out);
}

void Graph::head(const HyperConnection& mix, const std::vector<float>& norm, const float* residual,
                 std::int64_t rows, float* out) const {
    const std::int64_t dim = config_.dim, hc = config_.hc_mult;
    std::vector<float> mixed(static_cast<std::size_t>(rows * dim), 0.0f);
    std::vector<float> pre(static_cast<std::size_t>(hc)), projections(pre.size());
    for (std::int64_t t = 0; t < rows; ++t) {
        const float* v = residual + t * hc * dim;
        for (std::int64_t j = 0; j < hc; ++j)
            projections[static_cast<std::size_t>(j)] = k::dot(mix.fn.data() + j * hc * dim, v, hc * dim);
        k::hc_coefficients(projections.data(), v, hc, dim, static_cast<float>(config_.norm_eps),
                           mix.scale.data(), mix.base.data(), static_cast<float>(config_.hc_eps), pre.data(),
                           nullptr, nullptr);
        k::hc_pre_mix(pre.data(), v, hc, dim, mixed.data() + t * dim);
    }
    k::round_to_bf16(mixed.data(), rows * dim);
    rms_norm_rows(mixed.data(), norm, rows, dim, static_cast<float>(config_.norm_eps), true);
    k::linear(mixed.data(), rows, weights_.head, out, pool_);
}

std::vector<float> Graph::mtp(LayerCache& cache, std::int64_t start, const std::vector<float>& main_residual,
                              std::span<const Token> next_tokens) const {
    const Mtp& mtp = weights_.mtp.at(0);
    const std::int64_t rows = static_cast<std::int64_t>(next_tokens.size()), dim = config_.dim,
                       hc = config_.hc_mult;
    const float eps = static_cast<float>(config_.norm_eps);
    std::vector<float> embedded(static_cast<std::size_t>(rows * dim));
    for (std::int64_t t = 0; t < rows; ++t)
        k::dequantize_row(weights_.embed, next_tokens[static_cast<std::size_t>(t)],
                          embedded.data() + t * dim);
    rms_norm_rows(embedded.data(), mtp.enorm, rows, dim, eps, true);
    const std::vector<float> from_token = linear_bf16_out(embedded.data(), rows, mtp.e_proj, pool_);
    std::vector<float> hidden(main_residual.begin(), main_residual.begin() + rows * hc * dim);
    rms_norm_rows(hidden.data(), mtp.hnorm, rows * hc, dim, eps, true);
    std::vector<float> residual = linear_bf16_out(hidden.data(), rows * hc, mtp.h_proj, pool_);
    for (std::int64_t t = 0; t < rows; ++t)
        for (std::int64_t j = 0; j < hc; ++j) {
            float* stream = residual.data() + (t * hc + j) * dim;
            k::add(stream, from_token.data() + t * dim, stream, dim);
        }
    k::round_to_bf16(residual.data(), rows * hc * dim);
    block(mtp.block, cache, start, next_tokens, residual, plain_frequencies_);
    return residual;
}

Graph::HcMix Graph::hc_pre(const HyperConnection& hc_weights, const std::vector<float>& residual,
                           std::int64_t rows, std::vector<float>& mixed) const {
    const std::int64_t dim = config_.dim, hc = config_.hc_mult;
    const float eps = static_cast<float>(config_.hc_eps);
    HcMix mix;
    mix.pre.resize(static_cast<std::size_t>(rows * hc));
    mix.post.resize(static_cast<std::size_t>(rows * hc));
    mix.comb.resize(static_cast<std::size_t>(rows * hc * hc));
    mixed.assign(static_cast<std::size_t>(rows * dim), 0.0f);
    std::vector<float> projections(static_cast<std::size_t>((2 + hc) * hc));
    for (std::int64_t t = 0; t < rows; ++t) {
        const float* v = residual.data() + t * hc * dim;
        for (std::size_t r = 0; r < projections.size(); ++r)
            projections[r] =
                k::dot(hc_weights.fn.data() + static_cast<std::int64_t>(r) * hc * dim, v, hc * dim);
        float* pre = mix.pre.data() + t * hc;
        float* post = mix.post.data() + t * hc;
        float* comb = mix.comb.data() + t * hc * hc;
        k::hc_coefficients(projections.data(), v, hc, dim, static_cast<float>(config_.norm_eps),
                           hc_weights.scale.data(), hc_weights.base.data(), eps, pre, post, comb);
        k::sinkhorn(comb, hc, config_.hc_sinkhorn_iters, eps);
        k::hc_pre_mix(pre, v, hc, dim, mixed.data() + t * dim);
    }
    k::round_to_bf16(mixed.data(), rows * dim);
    return mix;
}

void Graph::hc_post(const HcMix& mix, const std::vector<float>& output, std::int64_t rows,
                    std::vector<float>& residual) const {
    const std::int64_t dim = config_.dim, hc = config_.hc_mult;
    std::vector<float> next(static_cast<std::size_t>(hc * dim));
    for (std::int64_t t = 0; t < rows; ++t) {
        float* x = residual.data() + t * hc * dim;
        const float* y = output.data() + t * dim;
        const float* post = mix.post.data() + t * hc;
        const float* comb = mix.comb.data() + t * hc * hc;
        k::hc_post_mix(post, comb, y, x, hc, dim, next.data());
        k::round_to_bf16(next.data(), hc * dim);
        std::copy(next.begin(), next.end(), x);
    }
}

void Graph::block(const Layer& layer, LayerCache& cache, std::int64_t start, std::span<const Token> tokens,
                  std::vector<float>& residual, const std::vector<float>& frequencies,
                  IndexerObserver* observer, std::int64_t layer_index) const {
    const std::int64_t rows = static_cast<std::int64_t>(tokens.size());
    const float eps = static_cast<float>(config_.norm_eps);
    std::vector<float> x;
    HcMix mix = hc_pre(layer.hc_attn, residual, rows, x);
    rms_norm_rows(x.data(), layer.attn_norm, rows, config_.dim, eps, true);
    hc_post(mix, attention(layer, cache, start, x, rows, frequencies, observer, layer_index), rows, residual);

    mix = hc_pre(layer.hc_ffn, residual, rows, x);
    rms_norm_rows(x.data(), layer.ffn_norm, rows, config_.dim, eps, true);
    hc_post(mix, moe(layer, x, tokens), rows, residual);
}

void Graph::compress(const Compressor& compressor, CompressorState& state, std::int64_t ratio,
                     std::int64_t width, const float* a, const float* z, std::int64_t position, bool indexer,
                     std::vector<std::uint16_t>& out, const std::vector<float>& frequencies) const {
    const bool overlap = ratio == 4;
    const std::int64_t lanes = overlap ? 2 : 1;
    const std::int64_t row_width = lanes * width;
    const std::int64_t slot = (overlap ? ratio : 0) + position % ratio;
    const float* ape = compressor.ape.data() + (position % ratio) * row_width;
    std::copy(a, a + row_width, state.kv.begin() + slot * row_width);
    k::add(z, ape, state.score.data() + slot * row_width, row_width);
    if ((position + 1) % ratio != 0) return;

    std::vector<float> pooled(static_cast<std::size_t>(width));
    k::compressor_pool(state.kv.data(), state.score.data(), ratio, width, overlap, pooled.data());
    if (overlap) {
        std::copy(state.kv.begin() + ratio * row_width, state.kv.end(), state.kv.begin());
        std::copy(state.score.begin() + ratio * row_width, state.score.end(), state.score.begin());
    }

    rms_norm_rows(pooled.data(), compressor.norm, 1, width, static_cast<float>(config_.norm_eps), false);
    const std::int64_t rope = config_.rope_head_dim;
    k::rope_interleaved(pooled.data() + width - rope, rope / 2, frequencies.data(),
                        static_cast<double>(position + 1 - ratio), false);
    if (indexer) {
        k::hadamard(pooled.data(), width);
        k::fp4_qat(pooled.data(), width, 32);
    } else {
        k::fp8_qat(pooled.data(), width - rope, 64);
    }
    for (const float value : pooled) out.push_back(k::f32_to_bf16(value));
}

std::vector<float> Graph::attention(const Layer& layer, LayerCache& cache, std::int64_t start,
                                    const std::vector<float>& x, std::int64_t rows,
                                    const std::vector<float>& frequencies, IndexerObserver* observer,
                                    std::int64_t layer_index) const {
    const Config& c = config_;
    const std::int64_t heads = c.n_heads, head_dim = c.head_dim, rope = c.rope_head_dim,
                       nope = c.nope_head_dim();
    const float eps = static_cast<float>(c.norm_eps);
    const float* freq = frequencies.data();

    std::vector<float> q_latent = linear_bf16_out(x.data(), rows, layer.wq_a, pool_);
    rms_norm_rows(q_latent.data(), layer.q_norm, rows, c.q_lora_rank, eps, true);
    std::vector<float> q = linear_bf16_out(q_latent.data(), rows, layer.wq_b, pool_);
    rms_norm_rows(q.data(), {}, rows * heads, head_dim, eps, false);
    for (std::int64_t t = 0; t < rows; ++t)
        for (std::int64_t h = 0; h < heads; ++h)
            k::rope_interleaved(q.data() + (t * heads + h) * head_dim + nope, rope / 2, freq,
                                static_cast<double>(start + t), false);
    k::round_to_bf16(q.data(), rows * heads * head_dim);

    std::vector<float> kv = linear_bf16_out(x.data(), rows, layer.wkv, pool_);
    rms_norm_rows(kv.data(), layer.kv_norm, rows, head_dim, eps, true);
    for (std::int64_t t = 0; t < rows; ++t) {
        float* entry = kv.data() + t * head_dim;
        k::rope_interleaved(entry + nope, rope / 2, freq, static_cast<double>(start + t), false);
        k::fp8_qat(entry, nope, 64);
        k::round_to_bf16(entry, head_dim);
    }

    const std::int64_t ratio = layer.ratio;
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    std::vector<float> comp_a, comp_z, index_a, index_z, index_q, index_w;
    const std::int64_t index_heads = c.index_n_heads, index_dim = c.index_head_dim;
    if (ratio != 0) {
        comp_a.assign(static_cast<std::size_t>(rows * lanes * head_dim), 0.0f);
        comp_z.assign(comp_a.size(), 0.0f);
        k::linear(x.data(), rows, layer.compressor.wkv, comp_a.data(), pool_);
        k::linear(x.data(), rows, layer.compressor.wgate, comp_z.data(), pool_);
    }
    if (ratio == 4) {
        index_a.assign(static_cast<std::size_t>(rows * 2 * index_dim), 0.0f);
        index_z.assign(index_a.size(), 0.0f);
        k::linear(x.data(), rows, layer.indexer_compressor.wkv, index_a.data(), pool_);
        k::linear(x.data(), rows, layer.indexer_compressor.wgate, index_z.data(), pool_);
        index_q = linear_bf16_out(q_latent.data(), rows, layer.indexer_wq_b, pool_);
        for (std::int64_t t = 0; t < rows; ++t) {
            for (std::int64_t h = 0; h < index_heads; ++h) {
                float* head = index_q.data() + (t * index_heads + h) * index_dim;
                k::rope_interleaved(head + index_dim - rope, rope / 2, freq, static_cast<double>(start + t),
                                    false);
                k::hadamard(head, index_dim);
                k::fp4_qat(head, index_dim, 32);
            }
        }
        index_w = linear_bf16_out(x.data(), rows, layer.indexer_weights_proj, pool_);
        const auto weight_scale = static_cast<float>(
            1.0 / (std::sqrt(static_cast<double>(index_dim)) * std::sqrt(static_cast<double>(index_heads))));
        k::scale(index_w.data(), static_cast<std::int64_t>(index_w.size()), weight_scale);
    }

    const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    const std::int64_t window = c.window_size;
    std::vector<float> output(static_cast<std::size_t>(rows * heads * head_dim));
    std::vector<float> candidates;
    std::vector<float> index_keys;
    std::vector<float> index_scores;
    std::vector<std::int64_t> order;
    for (std::int64_t t = 0; t < rows; ++t) {
        const std::int64_t position = start + t;
        std::transform(kv.begin() + t * head_dim, kv.begin() + (t + 1) * head_dim,
                       cache.window.begin() + (position % window) * head_dim, k::f32_to_bf16);
        if (ratio == 4)
            compress(layer.indexer_compressor, cache.indexer_compressor, ratio, index_dim,
                     index_a.data() + t * 2 * index_dim, index_z.data() + t * 2 * index_dim, position, true,
                     cache.index_keys, frequencies);
        if (ratio != 0)
            compress(layer.compressor, cache.compressor, ratio, head_dim,
                     comp_a.data() + t * lanes * head_dim, comp_z.data() + t * lanes * head_dim, position,
                     false, cache.entries, frequencies);

        // The caches hold bf16 (the values are bf16 already); attention reads them as fp32.
        auto append = [&candidates](const std::uint16_t* begin, std::int64_t count) {
            for (std::int64_t i = 0; i < count; ++i) candidates.push_back(k::bf16_to_f32(begin[i]));
        };
        candidates.clear();
        for (std::int64_t tau = std::max<std::int64_t>(0, position - window + 1); tau <= position; ++tau)
            append(cache.window.data() + (tau % window) * head_dim, head_dim);
        const std::int64_t visible = ratio ? (position + 1) / ratio : 0;
        if (ratio == 128) {
            append(cache.entries.data(), visible * head_dim);
        } else if (ratio == 4 && visible > 0) {
            index_keys.resize(static_cast<std::size_t>(visible * index_dim));
            std::transform(cache.index_keys.begin(), cache.index_keys.begin() + visible * index_dim,
                           index_keys.begin(), k::bf16_to_f32);
            index_scores.resize(static_cast<std::size_t>(visible));
            split(pool_, visible, index_heads * index_dim, [&](std::int64_t first, std::int64_t end) {
                k::indexer_scores(index_q.data() + t * index_heads * index_dim,
                                  index_w.data() + t * index_heads, index_keys.data() + first * index_dim,
                                  index_heads, end - first, index_dim, index_scores.data() + first);
            });
            const auto keep = static_cast<std::size_t>(std::min(c.index_topk, visible));
            order.resize(keep);
            k::top_k(index_scores.data(), visible, static_cast<std::int64_t>(keep), k::TopKOrder::ByIndex,
                     order.data());
            if (observer) // CSA entry j pools lane A of block j - 1 and lane B of block j (§3.3)
                observer->observe(
                    {layer_index, position, std::span(order).first(keep), index_scores, ratio, ratio});
            for (std::size_t i = 0; i < keep; ++i)
                append(cache.entries.data() + order[i] * head_dim, head_dim);
        }
        const std::int64_t count = static_cast<std::int64_t>(candidates.size()) / head_dim;
        split(pool_, heads, 2 * count * head_dim, [&](std::int64_t first, std::int64_t end) {
            for (std::int64_t h = first; h < end; ++h) {
                float* o = output.data() + (t * heads + h) * head_dim;
                k::sink_attention(q.data() + (t * heads + h) * head_dim, candidates.data(), count, head_dim,
                                  scale, layer.attn_sink[static_cast<std::size_t>(h)], o);
                k::rope_interleaved(o + nope, rope / 2, freq, static_cast<double>(position), true);
            }
        });
    }
    k::round_to_bf16(output.data(), rows * heads * head_dim);

    // Grouped low-rank output: group g's heads (contiguous) through its own rows of wo_a.
    const std::int64_t groups = c.o_groups, group_in = heads / groups * head_dim, rank = c.o_lora_rank;
    std::vector<float> group_input(static_cast<std::size_t>(rows * group_in));
    std::vector<float> low_rank(static_cast<std::size_t>(rows * groups * rank));
    for (std::int64_t g = 0; g < groups; ++g) {
        for (std::int64_t t = 0; t < rows; ++t)
            std::copy(output.begin() + t * heads * head_dim + g * group_in,
                      output.begin() + t * heads * head_dim + (g + 1) * group_in,
                      group_input.begin() + t * group_in);
        const std::vector<float> z =
            linear_bf16_out(group_input.data(), rows, row_slice(layer.wo_a, g * rank, rank), pool_);
        for (std::int64_t t = 0; t < rows; ++t)
            std::copy(z.begin() + t * rank, z.begin() + (t + 1) * rank,
                      low_rank.begin() + (t * groups + g) * rank);
    }
    return linear_bf16_out(low_rank.data(), rows, layer.wo_b, pool_);
}

void Graph::expert(const Expert& e, const float* x, std::int64_t rows, const std::vector<float>& gates,
                   float* accumulate, const std::vector<std::int64_t>& row_of) const {
    const std::int64_t inter = config_.moe_inter_dim, dim = config_.dim;
    const float limit = static_cast<float>(config_.swiglu_limit);
    std::vector<float> h1 = linear_bf16_out(x, rows, e.w1, pool_);
    const std::vector<float> h3 = linear_bf16_out(x, rows, e.w3, pool_);
    k::swiglu(h1.data(), h3.data(), gates.data(), h1.data(), rows, inter, limit);
    k::round_to_bf16(h1.data(), rows * inter);
    const std::vector<float> y = linear_bf16_out(h1.data(), rows, e.w2, pool_);
    k::scatter_add_rows(y.data(), row_of.data(), rows, dim, accumulate);
}

void Graph::route(const Layer& layer, const float* scores, std::span<const Token> tokens,
                  std::int64_t* chosen, float* weights) const {
    const Config& c = config_;
    const std::int64_t rows = static_cast<std::int64_t>(tokens.size()), experts = c.n_routed_experts,
                       active = c.n_activated_experts;
    const auto route_scale = static_cast<float>(c.route_scale);
    if (!layer.tid2eid.empty()) {
        for (std::int64_t t = 0; t < rows; ++t) {
            const auto token = static_cast<std::int64_t>(tokens[static_cast<std::size_t>(t)]);
            std::copy(layer.tid2eid.begin() + token * active, layer.tid2eid.begin() + (token + 1) * active,
                      chosen + t * active);
        }
        k::moe_route_weights(scores, chosen, rows, experts, active, route_scale, weights);
    } else {
        k::moe_route(scores, layer.gate_bias.data(), rows, experts, active, route_scale, chosen, weights);
    }
}

void Graph::routed_experts(const Layer& layer, const float* x, std::int64_t rows, const std::int64_t* chosen,
                           const float* weights, float* accumulate) const {
    const Config& c = config_;
    const std::int64_t dim = c.dim, experts = c.n_routed_experts, active = c.n_activated_experts;
    // Per expert: the rows routed to it (ascending) and their gate weights.
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(experts + 1)),
        routed_rows(static_cast<std::size_t>(rows * active)), routed_slots(routed_rows.size());
    k::moe_group(chosen, rows, active, experts, offsets.data(), routed_rows.data(), routed_slots.data());
    std::vector<float> gathered;
    for (std::int64_t e = 0; e < experts; ++e) {
        const auto first = offsets[static_cast<std::size_t>(e)],
                   end = offsets[static_cast<std::size_t>(e + 1)];
        if (first == end) continue;
        const std::vector<std::int64_t> which(routed_rows.begin() + first, routed_rows.begin() + end);
        std::vector<float> gates;
        for (std::int64_t i = first; i < end; ++i)
            gates.push_back(weights[routed_slots[static_cast<std::size_t>(i)]]);
        gathered.resize(which.size() * static_cast<std::size_t>(dim));
        k::gather_rows(x, which.data(), end - first, dim, gathered.data());
        expert(layer.experts[static_cast<std::size_t>(e)], gathered.data(), end - first, gates, accumulate,
               which);
    }
}

std::vector<float> Graph::moe(const Layer& layer, const std::vector<float>& x,
                              std::span<const Token> tokens) const {
    const Config& c = config_;
    const std::int64_t rows = static_cast<std::int64_t>(tokens.size()), dim = c.dim,
                       experts = c.n_routed_experts, active = c.n_activated_experts;
    std::vector<float> scores(static_cast<std::size_t>(rows * experts));
    k::linear(x.data(), rows, layer.gate, scores.data(), pool_);
    k::sqrt_softplus(scores.data(), scores.data(), rows * experts);
    std::vector<std::int64_t> chosen(static_cast<std::size_t>(rows * active));
    std::vector<float> gate_weights(chosen.size());
    route(layer, scores.data(), tokens, chosen.data(), gate_weights.data());

    std::vector<float> routed(static_cast<std::size_t>(rows * dim), 0.0f);
    routed_experts(layer, x.data(), rows, chosen.data(), gate_weights.data(), routed.data());
    std::vector<float> shared(static_cast<std::size_t>(rows * dim), 0.0f);
    std::vector<std::int64_t> all_rows(static_cast<std::size_t>(rows));
    std::iota(all_rows.begin(), all_rows.end(), 0);
    expert(layer.shared_expert, x.data(), rows, std::vector<float>(static_cast<std::size_t>(rows), 1.0f),
           shared.data(), all_rows);
    k::add(routed.data(), shared.data(), routed.data(), rows * dim);
    k::round_to_bf16(routed.data(), rows * dim);
    return routed;
}

} // namespace lectern::model::v4
