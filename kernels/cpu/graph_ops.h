#pragma once
// The CPU backend's graph-level ops beside ops.h: elementwise, SwiGLU, MoE routing, compressor pooling, the
// indexer's scores, top-k selection and the mHC stream mixes. Slow and obvious, each states where it rounds:
// the V4 graph's results depend bit for bit on these points (tests/engine compares chunked and one-pass
// runs exactly, and the golden file to 1e-3), and every other backend implements the same meaning.

#include <cstdint>

namespace lectern::kernels::cpu {

// y[i] = a[i] + b[i] in fp32; y may be a or b.
void add(const float* a, const float* b, float* y, std::int64_t n);

// x[i] *= factor in fp32, in place.
void scale(float* x, std::int64_t n, float factor);

// Each x[i] rounded to the nearest bf16 value (ties to even), in place.
void round_to_bf16(float* x, std::int64_t n);

// SwiGLU with DeepSeek-V4's clamp, on `rows` rows of n values:
// y = silu(min(gate, limit)) * clamp(up, -limit, limit) * (row_scale ? row_scale[r] : 1).
// silu(g) = g / (1 + e^-g) runs in double and rounds to fp32; the two products are fp32, in that order.
// limit = +infinity is the plain (unclamped) SwiGLU. y may be gate or up.
void swiglu(const float* gate, const float* up, const float* row_scale, float* y, std::int64_t rows,
            std::int64_t n, float limit);

// The MoE router's scores: s = sqrt(softplus(v)), softplus(v) = v above 20, else log1p(e^v); in double.
// scores may be logits.
void sqrt_softplus(const float* logits, float* scores, std::int64_t n);

// Top-k order: a value ranks above another when it is larger, or equal with the lower index; NaN ranks
// below every number (and -0 equals +0). Every backend selects by exactly this order.
enum class TopKOrder : std::uint8_t {
    ByValue, // best first
    ByIndex, // the same k indices, ascending
};

// The k best of values[0, n) (1 <= k <= n) into indices[0, k).
void top_k(const float* values, std::int64_t n, std::int64_t k, TopKOrder order, std::int64_t* indices);

// The greedy choice: top_k with k = 1.
std::int64_t argmax(const float* values, std::int64_t n);

// A routing [rows, active] (from moe_route, or a hash layer's table) grouped by expert, for dispatch:
// expert e's entries are [offsets[e], offsets[e + 1]) (offsets has experts + 1 values); entry i routes row
// tokens[i] with the gate weight at slots[i] (= r * active + j, its place in chosen and weights). Within an
// expert the rows ascend. Every chosen index must lie in [0, experts).
void moe_group(const std::int64_t* chosen, std::int64_t rows, std::int64_t active, std::int64_t experts,
               std::int64_t* offsets, std::int64_t* tokens, std::int64_t* slots);

// Expert dispatch: dst[i] = src[rows[i]] for `count` rows of `dim` values (the tokens routed to one expert).
void gather_rows(const float* src, const std::int64_t* rows, std::int64_t count, std::int64_t dim,
                 float* dst);

// The way back: dst[rows[i]] += src[i] (fp32) for `count` rows of `dim` values; the rows are distinct.
void scatter_add_rows(const float* src, const std::int64_t* rows, std::int64_t count, std::int64_t dim,
                      float* dst);

// MoE routing for `rows` rows of `experts` scores (from sqrt_softplus): each row chooses the `active` best
// experts by score + bias (bias may be null; it steers the choice only), in top_k's ByValue order, into
// chosen [rows, active]; then moe_route_weights.
void moe_route(const float* scores, const float* bias, std::int64_t rows, std::int64_t experts,
               std::int64_t active, float route_scale, std::int64_t* chosen, float* weights);

// The gate weights of already chosen experts (hash layers take theirs from a token table):
// weights[r, j] = scores[r, chosen[r, j]] / total * route_scale, with `total` the fp32 sum of the chosen
// scores in the order given.
void moe_route_weights(const float* scores, const std::int64_t* chosen, std::int64_t rows,
                       std::int64_t experts, std::int64_t active, float route_scale, float* weights);

// One compressed entry from a full block of compressor state: per channel c < width, a softmax over the
// candidate rows' scores (fp32 maximum subtracted; exp and both sums in double) weighting their kv values.
// kv and score hold `slots` rows of lanes * width values (kv = the compressed projection, score = the gate
// plus the block-position embedding, APE). HCA (overlap false): lanes 1, slots = ratio, candidates rows
// [0, ratio). CSA (overlap true): lanes 2, slots = 2 * ratio, candidates lane 0 (channels [0, width)) of
// rows [0, ratio) (the previous block) then lane 1 of rows [ratio, 2 ratio) (this block).
void compressor_pool(const float* kv, const float* score, std::int64_t ratio, std::int64_t width,
                     bool overlap, float* out);

// The lightning indexer's score of each of `count` keys [count, dim] for one query [heads, dim]:
// scores[j] = sum_h weights[h] * max(0, q_h . key_j). Each dot as `dot` (double, rounded once); the products
// and the sum over heads are fp32 in head order, as the reference model does.
void indexer_scores(const float* queries, const float* weights, const float* keys, std::int64_t heads,
                    std::int64_t count, std::int64_t dim, float* scores);

// mHC: one token's mixing coefficients from its hc streams [hc, dim] and the raw projections p = fn . streams
// (one per row of the hc fn weight: hc for a head's pre mix alone, else (2 + hc) * hc). With m = p *
// inverse_rms, inverse_rms = 1 / sqrt(mean square of the streams (a double sum, rounded) + norm_eps) in fp32:
// pre[j] = sigmoid(scale[0] m[j] + base[j]) + hc_eps; unless post is null, post[j] = 2 sigmoid(scale[1]
// m[hc + j] + base[hc + j]) and comb[i] = scale[2] m[2 hc + i] + base[2 hc + i] (hc x hc, row-major; the
// layer then runs sinkhorn on it). sigmoid runs in double and rounds to fp32; the rest is fp32.
void hc_coefficients(const float* projections, const float* streams, std::int64_t hc, std::int64_t dim,
                     float norm_eps, const float* scale, const float* base, float hc_eps, float* pre,
                     float* post, float* comb);

// mHC: the pre mix of `count` residual streams [count, dim] into one: u[i] = sum_j weights[j] s_j[i].
void hc_pre_mix(const float* weights, const float* streams, std::int64_t count, std::int64_t dim, float* u);

// mHC: the post mix of `hc` streams [hc, dim] and the block's output y [dim] into hc new streams:
// out[k, i] = post[k] y[i] + sum_j comb[j, k] s_j[i] (comb is hc x hc, row-major). out must not alias.
void hc_post_mix(const float* post, const float* comb, const float* y, const float* streams, std::int64_t hc,
                 std::int64_t dim, float* out);

// Both mixes sum in double and round once to fp32.

} // namespace lectern::kernels::cpu
