// The graph-level CPU ops (kernels/cpu/graph_ops.h) against hand-computed values and brute-force
// references written independently of the implementation: elementwise, SwiGLU with clamp, the router's
// scores and choice, top-k and its tie rule, compressor pooling (HCA and overlapping CSA), indexer scores and
// the mHC mixes.
#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/numerics.h"
#include "tests/kernels/check.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace {

using namespace lectern::kernels::cpu;

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// The expected order by sorting: larger first, ties kept in index order by a stable sort, NaN last.
std::vector<std::int64_t> sorted_order(const std::vector<float>& values) {
    std::vector<std::int64_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        const float va = values[static_cast<std::size_t>(a)], vb = values[static_cast<std::size_t>(b)];
        if (std::isnan(vb)) return !std::isnan(va);
        return !std::isnan(va) && va > vb;
    });
    return order;
}

void elementwise() {
    const std::vector<float> a{1.0f, -2.5f, 1e30f}, b{0.5f, 2.5f, -1e30f};
    std::vector<float> y(3);
    add(a.data(), b.data(), y.data(), 3);
    CHECK(y[0] == 1.5f && y[1] == 0.0f && y[2] == 0.0f);
    std::vector<float> scaled{1.0f, -3.0f, 0.1f};
    scale(scaled.data(), 3, 0.5f);
    CHECK(scaled[0] == 0.5f && scaled[1] == -1.5f && scaled[2] == 0.1f * 0.5f);
    std::vector<float> x{1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), -3.0f};
    round_to_bf16(x.data(), 3);
    CHECK(x[0] == 1.0f && x[1] == 1.0f + std::ldexp(1.0f, -6) && x[2] == -3.0f);
}

void swiglu_clamped() {
    const float limit = 10.0f;
    const std::vector<float> gate{0.0f, 1.0f, 25.0f, -30.0f, 3.0f, -1.0f};
    const std::vector<float> up{5.0f, 2.0f, 1.0f, 1.0f, -40.0f, 12.0f};
    const std::vector<float> row_scale{0.5f, 2.0f};
    std::vector<float> y(6);
    swiglu(gate.data(), up.data(), row_scale.data(), y.data(), 2, 3, limit);
    const auto silu = [](long double g) { return static_cast<float>(g / (1.0L + std::exp(-g))); };
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == silu(1) * 2.0f * 0.5f);
    CHECK(y[2] == silu(10) * 1.0f * 0.5f);  // the gate is clamped from above
    CHECK(y[3] == silu(-30) * 1.0f * 2.0f); // ... but not from below
    CHECK(y[4] == silu(3) * -10.0f * 2.0f); // the up projection both ways
    CHECK(y[5] == silu(-1) * 10.0f * 2.0f);
    // Without a clamp and without row scales: the plain SwiGLU, in place.
    std::vector<float> plain = gate;
    swiglu(plain.data(), up.data(), nullptr, plain.data(), 1, 6, std::numeric_limits<float>::infinity());
    CHECK(plain[2] == silu(25) * 1.0f && plain[4] == silu(3) * -40.0f);
}

void router_scores() {
    const std::vector<float> logits{0.0f, 30.0f, -30.0f, 20.0f, 2.0f};
    std::vector<float> s(5);
    sqrt_softplus(logits.data(), s.data(), 5);
    CHECK_CLOSE(s[0], std::sqrt(std::log(2.0)), 1e-7);
    CHECK(s[1] == std::sqrt(30.0f));
    CHECK_CLOSE(s[2], std::exp(-15.0), 1e-12); // log1p keeps tiny values
    CHECK_CLOSE(s[3], std::sqrt(std::log(1.0 + std::exp(20.0))), 1e-6);
    CHECK_CLOSE(s[4], std::sqrt(std::log(1.0 + std::exp(2.0))), 1e-6);
}

void top_k_and_ties(std::mt19937& rng) {
    std::uniform_int_distribution<int> small(0, 9);
    for (const std::int64_t n : {1, 7, 300, 5000}) {
        std::vector<float> values(static_cast<std::size_t>(n));
        for (float& v : values) v = static_cast<float>(small(rng)) * 0.25f; // many exact ties
        if (n > 7) {
            values[3] = std::numeric_limits<float>::quiet_NaN();
            values[5] = -0.0f; // equal to +0: ties by index
            values[6] = -std::numeric_limits<float>::infinity();
        }
        const auto expected = sorted_order(values);
        for (const std::int64_t k : {std::int64_t{1}, std::min<std::int64_t>(n, 5), n}) {
            std::vector<std::int64_t> by_value(static_cast<std::size_t>(k)), by_index(by_value.size());
            top_k(values.data(), n, k, TopKOrder::ByValue, by_value.data());
            top_k(values.data(), n, k, TopKOrder::ByIndex, by_index.data());
            CHECK(std::equal(by_value.begin(), by_value.end(), expected.begin()));
            std::vector<std::int64_t> ascending(expected.begin(), expected.begin() + k);
            std::sort(ascending.begin(), ascending.end());
            CHECK(by_index == ascending);
        }
        CHECK(argmax(values.data(), n) == expected[0]);
    }
    const std::vector<float> with_nan{std::numeric_limits<float>::quiet_NaN(), -1.0f,
                                      std::numeric_limits<float>::quiet_NaN()};
    std::vector<std::int64_t> all(3);
    top_k(with_nan.data(), 3, 3, TopKOrder::ByValue, all.data());
    CHECK(all == (std::vector<std::int64_t>{1, 0, 2}));
}

void grouping() {
    // 3 rows, 2 active each, 4 experts: row 0 -> {2, 0}, row 1 -> {0, 3}, row 2 -> {2, 3}.
    const std::vector<std::int64_t> chosen{2, 0, 0, 3, 2, 3};
    std::vector<std::int64_t> offsets(5), tokens(6), slots(6);
    moe_group(chosen.data(), 3, 2, 4, offsets.data(), tokens.data(), slots.data());
    CHECK(offsets == (std::vector<std::int64_t>{0, 2, 2, 4, 6}));
    CHECK(tokens == (std::vector<std::int64_t>{0, 1, 0, 2, 1, 2}));
    CHECK(slots == (std::vector<std::int64_t>{1, 2, 0, 4, 3, 5}));
}

void dispatch_rows() {
    const std::vector<float> x{0, 1, 10, 11, 20, 21, 30, 31}; // 4 rows of 2
    const std::vector<std::int64_t> rows{2, 0, 3};
    std::vector<float> gathered(6);
    gather_rows(x.data(), rows.data(), 3, 2, gathered.data());
    CHECK(gathered == (std::vector<float>{20, 21, 0, 1, 30, 31}));
    std::vector<float> accumulate(8, 0.5f);
    scatter_add_rows(gathered.data(), rows.data(), 3, 2, accumulate.data());
    CHECK(accumulate == (std::vector<float>{0.5f, 1.5f, 0.5f, 0.5f, 20.5f, 21.5f, 30.5f, 31.5f}));
}

void routing(std::mt19937& rng) {
    const std::int64_t rows = 5, experts = 64, active = 6;
    const float route_scale = 2.5f;
    std::vector<float> logits = random_floats(static_cast<std::size_t>(rows * experts), rng, 2.0f);
    std::vector<float> bias = random_floats(static_cast<std::size_t>(experts), rng, 0.5f);
    bias[7] = bias[9];
    std::vector<float> scores(logits.size());
    sqrt_softplus(logits.data(), scores.data(), rows * experts);
    scores[2 * experts + 7] = scores[2 * experts + 9] = 10.0f; // an exact tie for the best in row 2
    for (const bool with_bias : {true, false}) {
        std::vector<std::int64_t> chosen(static_cast<std::size_t>(rows * active));
        std::vector<float> weights(chosen.size());
        moe_route(scores.data(), with_bias ? bias.data() : nullptr, rows, experts, active, route_scale,
                  chosen.data(), weights.data());
        for (std::int64_t r = 0; r < rows; ++r) {
            std::vector<float> keys(static_cast<std::size_t>(experts));
            for (std::int64_t e = 0; e < experts; ++e)
                keys[static_cast<std::size_t>(e)] = scores[static_cast<std::size_t>(r * experts + e)] +
                                                    (with_bias ? bias[static_cast<std::size_t>(e)] : 0.0f);
            const auto expected = sorted_order(keys);
            double total = 0;
            for (std::int64_t j = 0; j < active; ++j) {
                CHECK(chosen[static_cast<std::size_t>(r * active + j)] ==
                      expected[static_cast<std::size_t>(j)]);
                total +=
                    scores[static_cast<std::size_t>(r * experts + expected[static_cast<std::size_t>(j)])];
            }
            for (std::int64_t j = 0; j < active; ++j) {
                const double s =
                    scores[static_cast<std::size_t>(r * experts + expected[static_cast<std::size_t>(j)])];
                CHECK_CLOSE(weights[static_cast<std::size_t>(r * active + j)], s / total * route_scale, 1e-6);
            }
        }
    }
    // Given choices (hash layers): the weights follow the order given.
    const std::vector<std::int64_t> given{3, 1};
    const std::vector<float> s{0.1f, 0.2f, 0.3f, 0.6f};
    std::vector<float> w(2);
    moe_route_weights(s.data(), given.data(), 1, 4, 2, 1.5f, w.data());
    CHECK(w[0] == 0.6f / (0.6f + 0.2f) * 1.5f && w[1] == 0.2f / (0.6f + 0.2f) * 1.5f);
}

void pooling(std::mt19937& rng) {
    // Equal scores pool to the mean; one dominant score picks its value.
    {
        const std::vector<float> kv{1.0f, 10.0f, 3.0f, 20.0f}, score{0.0f, 0.0f, 0.0f, 200.0f};
        std::vector<float> out(2);
        compressor_pool(kv.data(), score.data(), 2, 2, false, out.data());
        CHECK_CLOSE(out[0], 2.0, 1e-6);
        CHECK_CLOSE(out[1], 20.0, 1e-6);
    }
    for (const bool overlap : {false, true}) {
        const std::int64_t ratio = overlap ? 4 : 16, width = 24, lanes = overlap ? 2 : 1;
        const std::int64_t slots = overlap ? 2 * ratio : ratio, row_width = lanes * width;
        const auto kv = random_floats(static_cast<std::size_t>(slots * row_width), rng);
        const auto score = random_floats(static_cast<std::size_t>(slots * row_width), rng, 3.0f);
        std::vector<float> out(static_cast<std::size_t>(width));
        compressor_pool(kv.data(), score.data(), ratio, width, overlap, out.data());
        for (std::int64_t c = 0; c < width; ++c) {
            // Collect the candidates explicitly: every row's lane 0, except a CSA block's own rows: lane 1.
            std::vector<std::size_t> at;
            for (std::int64_t r = 0; r < slots; ++r)
                at.push_back(
                    static_cast<std::size_t>(r * row_width + (overlap && r >= ratio ? width : 0) + c));
            long double top = -INFINITY, sum = 0, weighted = 0;
            for (const std::size_t i : at) top = std::max<long double>(top, score[i]);
            for (const std::size_t i : at) {
                sum += std::exp(score[i] - top);
                weighted += std::exp(score[i] - top) * kv[i];
            }
            CHECK_CLOSE(out[static_cast<std::size_t>(c)], static_cast<double>(weighted / sum), 1e-6);
        }
    }
}

void indexer(std::mt19937& rng) {
    const std::int64_t heads = 8, count = 40, dim = 32;
    const auto q = random_floats(static_cast<std::size_t>(heads * dim), rng);
    const auto keys = random_floats(static_cast<std::size_t>(count * dim), rng);
    const auto w = random_floats(static_cast<std::size_t>(heads), rng);
    std::vector<float> scores(static_cast<std::size_t>(count));
    indexer_scores(q.data(), w.data(), keys.data(), heads, count, dim, scores.data());
    for (std::int64_t j = 0; j < count; ++j) {
        long double expected = 0, magnitude = 0;
        for (std::int64_t h = 0; h < heads; ++h) {
            long double logit = 0;
            for (std::int64_t i = 0; i < dim; ++i)
                logit += static_cast<long double>(q[static_cast<std::size_t>(h * dim + i)]) *
                         keys[static_cast<std::size_t>(j * dim + i)];
            expected += w[static_cast<std::size_t>(h)] * std::max<long double>(0, logit);
            magnitude += std::fabs(w[static_cast<std::size_t>(h)] * logit);
        }
        // fp32 products and head sum: a few ulp of the terms' magnitude.
        CHECK_CLOSE(scores[static_cast<std::size_t>(j)], static_cast<double>(expected),
                    static_cast<double>(magnitude) * 1e-6);
    }
}

void hc_mixes(std::mt19937& rng) {
    const std::int64_t hc = 4, dim = 50;
    const auto streams = random_floats(static_cast<std::size_t>(hc * dim), rng);
    const auto y = random_floats(static_cast<std::size_t>(dim), rng);
    const auto pre = random_floats(static_cast<std::size_t>(hc), rng);
    const auto post = random_floats(static_cast<std::size_t>(hc), rng);
    const auto comb = random_floats(static_cast<std::size_t>(hc * hc), rng);
    std::vector<float> u(static_cast<std::size_t>(dim)), out(static_cast<std::size_t>(hc * dim));
    hc_pre_mix(pre.data(), streams.data(), hc, dim, u.data());
    hc_post_mix(post.data(), comb.data(), y.data(), streams.data(), hc, dim, out.data());
    for (std::int64_t i = 0; i < dim; ++i) {
        long double sum = 0;
        for (std::int64_t j = 0; j < hc; ++j)
            sum += static_cast<long double>(pre[static_cast<std::size_t>(j)]) *
                   streams[static_cast<std::size_t>(j * dim + i)];
        // Rounded once: within an ulp of the exact sum.
        CHECK_CLOSE(u[static_cast<std::size_t>(i)], static_cast<double>(sum),
                    std::fabs(static_cast<double>(sum)) * 1.2e-7);
        for (std::int64_t k = 0; k < hc; ++k) {
            long double mixed =
                static_cast<long double>(post[static_cast<std::size_t>(k)]) * y[static_cast<std::size_t>(i)];
            for (std::int64_t j = 0; j < hc; ++j)
                mixed += static_cast<long double>(comb[static_cast<std::size_t>(j * hc + k)]) *
                         streams[static_cast<std::size_t>(j * dim + i)];
            CHECK_CLOSE(out[static_cast<std::size_t>(k * dim + i)], static_cast<double>(mixed),
                        std::fabs(static_cast<double>(mixed)) * 1.2e-7);
        }
    }
}

void hc_coefficient_values(std::mt19937& rng) {
    const std::int64_t hc = 4, dim = 64, count = (2 + hc) * hc;
    const auto streams = random_floats(static_cast<std::size_t>(hc * dim), rng, 3.0f);
    const auto projections = random_floats(static_cast<std::size_t>(count), rng, 20.0f);
    const auto base = random_floats(static_cast<std::size_t>(count), rng);
    const std::vector<float> scale{0.7f, -1.3f, 0.4f};
    const float norm_eps = 1e-6f, hc_eps = 1e-6f;
    std::vector<float> pre(static_cast<std::size_t>(hc)), post(pre.size()),
        comb(static_cast<std::size_t>(hc * hc));
    hc_coefficients(projections.data(), streams.data(), hc, dim, norm_eps, scale.data(), base.data(), hc_eps,
                    pre.data(), post.data(), comb.data());
    long double squares = 0;
    for (const float v : streams) squares += static_cast<long double>(v) * v;
    const long double inverse_rms = 1.0L / std::sqrt(squares / (hc * dim) + norm_eps);
    const auto sigmoid = [](long double v) { return 1.0L / (1.0L + std::exp(-v)); };
    const auto m = [&](std::int64_t r) { return projections[static_cast<std::size_t>(r)] * inverse_rms; };
    for (std::int64_t j = 0; j < hc; ++j) {
        CHECK_CLOSE(
            pre[static_cast<std::size_t>(j)],
            static_cast<double>(sigmoid(scale[0] * m(j) + base[static_cast<std::size_t>(j)]) + hc_eps), 1e-6);
        CHECK_CLOSE(
            post[static_cast<std::size_t>(j)],
            static_cast<double>(2 * sigmoid(scale[1] * m(hc + j) + base[static_cast<std::size_t>(hc + j)])),
            1e-6);
    }
    for (std::int64_t i = 0; i < hc * hc; ++i) {
        const long double expected = scale[2] * m(2 * hc + i) + base[static_cast<std::size_t>(2 * hc + i)];
        CHECK_CLOSE(comb[static_cast<std::size_t>(i)], static_cast<double>(expected),
                    1e-6 * (1 + std::fabs(static_cast<double>(expected))));
    }
    // The head's pre mix alone: the same pre values, nothing else read or written.
    std::vector<float> head_pre(static_cast<std::size_t>(hc));
    hc_coefficients(projections.data(), streams.data(), hc, dim, norm_eps, scale.data(), base.data(), hc_eps,
                    head_pre.data(), nullptr, nullptr);
    CHECK(head_pre == pre);
}

} // namespace

int main() {
    std::mt19937 rng(77);
    elementwise();
    swiglu_clamped();
    router_scores();
    top_k_and_ties(rng);
    routing(rng);
    dispatch_rows();
    grouping();
    pooling(rng);
    indexer(rng);
    hc_mixes(rng);
    hc_coefficient_values(rng);
    return lectern::test::finish("kernels_graph_ops");
}
