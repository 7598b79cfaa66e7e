#include "kernels/cpu/graph_ops.h"

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace lectern::kernels::cpu {
namespace {

// top_k's order as a strict "a ranks above b".
bool ranks_above(const float* values, std::int64_t a, std::int64_t b) {
    const float va = values[a], vb = values[b];
    const bool a_nan = std::isnan(va), b_nan = std::isnan(vb);
    if (a_nan || b_nan) return a_nan == b_nan ? a < b : b_nan;
    return va != vb ? va > vb : a < b;
}

} // namespace

void add(const float* a, const float* b, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void scale(float* x, std::int64_t n, float factor) {
    for (std::int64_t i = 0; i < n; ++i) x[i] *= factor;
}

void round_to_bf16(float* x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) x[i] = round_bf16(x[i]);
}

void swiglu(const float* gate, const float* up, const float* row_scale, float* y, std::int64_t rows,
            std::int64_t n, float limit) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const float scale = row_scale ? row_scale[r] : 1.0f;
        for (std::int64_t i = r * n; i < (r + 1) * n; ++i) {
            const float g = std::min(gate[i], limit);
            const float u = std::clamp(up[i], -limit, limit);
            const auto silu = static_cast<float>(g / (1.0 + std::exp(-static_cast<double>(g))));
            y[i] = silu * u * scale;
        }
    }
}

void sqrt_softplus(const float* logits, float* scores, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const double v = logits[i];
        scores[i] = static_cast<float>(std::sqrt(v > 20.0 ? v : std::log1p(std::exp(v))));
    }
}

void top_k(const float* values, std::int64_t n, std::int64_t k, TopKOrder order, std::int64_t* indices) {
    std::vector<std::int64_t> all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    std::partial_sort(all.begin(), all.begin() + k, all.end(),
                      [&](std::int64_t a, std::int64_t b) { return ranks_above(values, a, b); });
    if (order == TopKOrder::ByIndex) std::sort(all.begin(), all.begin() + k);
    std::copy(all.begin(), all.begin() + k, indices);
}

std::int64_t argmax(const float* values, std::int64_t n) {
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < n; ++i)
        if (ranks_above(values, i, best)) best = i;
    return best;
}

void moe_group(const std::int64_t* chosen, std::int64_t rows, std::int64_t active, std::int64_t experts,
               std::int64_t* offsets, std::int64_t* tokens, std::int64_t* slots) {
    const std::int64_t entries = rows * active;
    std::fill(offsets, offsets + experts + 1, 0);
    for (std::int64_t i = 0; i < entries; ++i) ++offsets[chosen[i] + 1];
    std::partial_sum(offsets, offsets + experts + 1, offsets);
    std::vector<std::int64_t> next(offsets, offsets + experts);
    for (std::int64_t i = 0; i < entries; ++i) { // in row order, so each expert's rows ascend
        const std::int64_t at = next[static_cast<std::size_t>(chosen[i])]++;
        tokens[at] = i / active;
        slots[at] = i;
    }
}

void gather_rows(const float* src, const std::int64_t* rows, std::int64_t count, std::int64_t dim,
                 float* dst) {
    for (std::int64_t i = 0; i < count; ++i)
        std::copy(src + rows[i] * dim, src + (rows[i] + 1) * dim, dst + i * dim);
}

void scatter_add_rows(const float* src, const std::int64_t* rows, std::int64_t count, std::int64_t dim,
                      float* dst) {
    for (std::int64_t i = 0; i < count; ++i)
        add(dst + rows[i] * dim, src + i * dim, dst + rows[i] * dim, dim);
}

void moe_route(const float* scores, const float* bias, std::int64_t rows, std::int64_t experts,
               std::int64_t active, float route_scale, std::int64_t* chosen, float* weights) {
    std::vector<float> keys(static_cast<std::size_t>(experts));
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* s = scores + r * experts;
        if (bias)
            add(s, bias, keys.data(), experts);
        else
            std::copy(s, s + experts, keys.begin());
        top_k(keys.data(), experts, active, TopKOrder::ByValue, chosen + r * active);
    }
    moe_route_weights(scores, chosen, rows, experts, active, route_scale, weights);
}

void moe_route_weights(const float* scores, const std::int64_t* chosen, std::int64_t rows,
                       std::int64_t experts, std::int64_t active, float route_scale, float* weights) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* s = scores + r * experts;
        const std::int64_t* c = chosen + r * active;
        float total = 0.0f;
        for (std::int64_t j = 0; j < active; ++j) total += s[c[j]];
        for (std::int64_t j = 0; j < active; ++j) weights[r * active + j] = s[c[j]] / total * route_scale;
    }
}

void compressor_pool(const float* kv, const float* score, std::int64_t ratio, std::int64_t width,
                     bool overlap, float* out) {
    const std::int64_t row_width = (overlap ? 2 : 1) * width;
    const std::int64_t candidates = overlap ? 2 * ratio : ratio;
    // Candidate r of channel c: lane 1 for this block's rows of an overlapping (CSA) state, else lane 0.
    const auto at = [&](std::int64_t r, std::int64_t c) {
        return r * row_width + (overlap && r >= ratio ? width : 0) + c;
    };
    for (std::int64_t c = 0; c < width; ++c) {
        float top = -std::numeric_limits<float>::infinity();
        for (std::int64_t r = 0; r < candidates; ++r) top = std::max(top, score[at(r, c)]);
        double sum = 0.0, weighted = 0.0;
        for (std::int64_t r = 0; r < candidates; ++r) {
            const double e = std::exp(static_cast<double>(score[at(r, c)]) - top);
            sum += e;
            weighted += e * kv[at(r, c)];
        }
        out[c] = static_cast<float>(weighted / sum);
    }
}

void indexer_scores(const float* queries, const float* weights, const float* keys, std::int64_t heads,
                    std::int64_t count, std::int64_t dim, float* scores) {
    for (std::int64_t j = 0; j < count; ++j) {
        float score = 0.0f;
        for (std::int64_t h = 0; h < heads; ++h)
            score += weights[h] * std::max(0.0f, dot(queries + h * dim, keys + j * dim, dim));
        scores[j] = score;
    }
}

void hc_coefficients(const float* projections, const float* streams, std::int64_t hc, std::int64_t dim,
                     float norm_eps, const float* scale, const float* base, float hc_eps, float* pre,
                     float* post, float* comb) {
    const std::int64_t n = hc * dim;
    const float inverse_rms =
        1.0f / std::sqrt(dot_reference(streams, streams, n) / static_cast<float>(n) + norm_eps);
    const auto sigmoid = [](float v) {
        return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
    };
    const auto m = [&](std::int64_t r) { return projections[r] * inverse_rms; };
    for (std::int64_t j = 0; j < hc; ++j) pre[j] = sigmoid(scale[0] * m(j) + base[j]) + hc_eps;
    if (!post) return;
    for (std::int64_t j = 0; j < hc; ++j) post[j] = 2.0f * sigmoid(scale[1] * m(hc + j) + base[hc + j]);
    for (std::int64_t i = 0; i < hc * hc; ++i) comb[i] = scale[2] * m(2 * hc + i) + base[2 * hc + i];
}

void hc_pre_mix(const float* weights, const float* streams, std::int64_t count, std::int64_t dim, float* u) {
    for (std::int64_t i = 0; i < dim; ++i) {
        double sum = 0.0;
        for (std::int64_t j = 0; j < count; ++j)
            sum += static_cast<double>(weights[j]) * streams[j * dim + i];
        u[i] = static_cast<float>(sum);
    }
}

void hc_post_mix(const float* post, const float* comb, const float* y, const float* streams, std::int64_t hc,
                 std::int64_t dim, float* out) {
    for (std::int64_t k = 0; k < hc; ++k) {
        for (std::int64_t i = 0; i < dim; ++i) {
            double sum = static_cast<double>(post[k]) * y[i];
            for (std::int64_t j = 0; j < hc; ++j)
                sum += static_cast<double>(comb[j * hc + k]) * streams[j * dim + i];
            out[k * dim + i] = static_cast<float>(sum);
        }
    }
}

} // namespace lectern::kernels::cpu
