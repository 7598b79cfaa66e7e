// The CUDA graph-level ops (kernels/cuda/graph_ops.h) against the CPU ops (kernels/cpu/graph_ops.h), on
// the inputs and with the tolerances of the Vulkan test (tests/vulkan/vulkan_graph_ops_test.cpp).
// Selections (top_k, moe_route, moe_group) must pick exactly the CPU's indices (inputs with many exact
// ties, NaN, -0/+0 included); bit-exact ops must match in every bit. Outputs start poisoned. Without a
// device the test exits 77 (skipped).

#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/numerics.h"
#include "kernels/cuda/graph_ops.h"
#include "tests/kernels/cuda_buffers.h"
#include "tests/kernels/random_inputs.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace lectern::kernels;
using lectern::test::from_device;
using lectern::test::poisoned;
using lectern::test::qat_input;
using lectern::test::random_floats;
using lectern::test::tied_values;
using lectern::test::to_device;

namespace {

// Checks |actual - expected| <= tolerance[i] everywhere; prints the worst error as a share of its bound.
void expect_within(const std::string& op, const std::vector<float>& actual,
                   const std::vector<float>& expected, const std::vector<double>& tolerance) {
    double worst = 0, worst_abs = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const double error = std::fabs(static_cast<double>(actual[i]) - expected[i]);
        worst = std::max(worst, tolerance[i] > 0 ? error / tolerance[i] : error);
        worst_abs = std::max(worst_abs, error);
        if (!CHECK_CLOSE(actual[i], expected[i], tolerance[i])) {
            std::fprintf(stderr, "  %s: element %zu of %zu\n", op.c_str(), i, expected.size());
            return;
        }
    }
    std::printf("  %-40s max abs error %.3g, %.2f of the tolerance, over %zu values\n", op.c_str(), worst_abs,
                worst, expected.size());
}

std::vector<double> bound(const std::vector<float>& expected, double abs, double rel) {
    std::vector<double> b(expected.size());
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = abs + rel * std::fabs(expected[i]);
    return b;
}

// Whether every bit of every value matches (with any_nan, any NaN matches any NaN: the CPU's NaN from an
// invalid operation has another sign and payload than the device's); prints how many differ.
bool same_bits(const std::string& op, const std::vector<float>& actual, const std::vector<float>& expected,
               bool any_nan = false) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
        differ += std::bit_cast<std::uint32_t>(actual[i]) != std::bit_cast<std::uint32_t>(expected[i]) &&
                  !(any_nan && std::isnan(actual[i]) && std::isnan(expected[i]));
    std::printf("  %-40s %zu of %zu values differ in any bit\n", op.c_str(), differ, expected.size());
    return CHECK(differ == 0);
}

template <typename Index>
bool same_indices(const std::string& op, const std::vector<std::uint32_t>& device,
                  const std::vector<Index>& host) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < host.size(); ++i) differ += device[i] != static_cast<std::uint32_t>(host[i]);
    if (differ) std::fprintf(stderr, "  %s: %zu of %zu indices differ\n", op.c_str(), differ, host.size());
    return CHECK(differ == 0);
}

void elementwise_parity(std::mt19937& rng) {
    auto x = random_floats(5000, rng, 10.0f);
    const std::uint32_t specials[] = {0x7FC01234u, 0x7F800001u /* signalling NaN */,
                                      0x7F800000u, 0x80000000u,
                                      0x00000001u, 0x3F808000u,
                                      0x3F818000u, 0x7F7FFFFFu /* to infinity */};
    for (std::size_t i = 0; i < std::size(specials); ++i) x[i] = std::bit_cast<float>(specials[i]);
    auto rounded = x;
    cpu::round_to_bf16(rounded.data(), static_cast<std::int64_t>(x.size()));
    auto dx = to_device(x);
    CHECK(cuda::round_to_bf16(dx.as<float>(), static_cast<std::int64_t>(x.size())).ok());
    same_bits("round_to_bf16", from_device(dx, x.size()), rounded);

    const auto a = random_floats(3000, rng, 5.0f), b = random_floats(3000, rng, 5.0f);
    std::vector<float> sum(a.size());
    cpu::add(a.data(), b.data(), sum.data(), static_cast<std::int64_t>(a.size()));
    auto da = to_device(a), db = to_device(b), dsum = poisoned(a.size());
    CHECK(cuda::add(da.as<float>(), db.as<float>(), dsum.as<float>(), static_cast<std::int64_t>(a.size()))
              .ok());
    same_bits("add", from_device(dsum, a.size()), sum);

    auto scaled = a;
    const float factor = static_cast<float>(1.0 / (std::sqrt(128.0) * std::sqrt(64.0)));
    cpu::scale(scaled.data(), static_cast<std::int64_t>(a.size()), factor);
    CHECK(cuda::scale(da.as<float>(), static_cast<std::int64_t>(a.size()), factor).ok());
    same_bits("scale", from_device(da, a.size()), scaled);
}

void qat_parity(std::mt19937& rng) {
    struct Case {
        std::int64_t rows, stride, count, block;
        cuda::QatFormat format;
        const char* what;
    };
    const Case cases[] = {
        {6, 4096, 4096, 128, cuda::QatFormat::Fp8E4M3, "qat FP8 activations (6 x 4096, block 128)"},
        {5, 512, 448, 64, cuda::QatFormat::Fp8E4M3, "qat FP8 KV nope dims (5 x 448 of 512, block 64)"},
        {7, 128, 128, 32, cuda::QatFormat::Fp4E2M1, "qat FP4 indexer (7 x 128, block 32)"},
        {3, 1000, 1000, 128, cuda::QatFormat::Fp8E4M3, "qat FP8, short last block"},
        {3 * 33 * 61, 128, 128, 128, cuda::QatFormat::Fp8E4M3, "qat FP8 scales near powers of two"},
        {3 * 33 * 61, 32, 32, 32, cuda::QatFormat::Fp4E2M1, "qat FP4 scales near powers of two"},
    };
    for (const Case& c : cases) {
        const bool fp4 = c.format == cuda::QatFormat::Fp4E2M1;
        const auto x = qat_input(c.rows * c.stride, c.block, fp4 ? 6.0f : 448.0f, rng);
        auto expected = x;
        for (std::int64_t r = 0; r < c.rows; ++r) {
            float* row = expected.data() + r * c.stride;
            if (fp4)
                cpu::fp4_qat(row, c.count, c.block);
            else
                cpu::fp8_qat(row, c.count, c.block);
        }
        auto dx = to_device(x);
        CHECK(cuda::qat(dx.as<float>(), c.rows, c.stride, c.count, c.block, c.format).ok());
        same_bits(c.what, from_device(dx, x.size()), expected);
    }

    // A block holding an infinity becomes NaN throughout; a NaN does not count toward its block's amax.
    auto x = random_floats(4 * 64, rng);
    x[5] = std::numeric_limits<float>::infinity();
    x[64 + 40] = -std::numeric_limits<float>::infinity();
    x[128 + 7] = std::numeric_limits<float>::quiet_NaN();
    for (const cuda::QatFormat format : {cuda::QatFormat::Fp8E4M3, cuda::QatFormat::Fp4E2M1}) {
        auto expected = x;
        for (std::int64_t r = 0; r < 4; ++r) {
            if (format == cuda::QatFormat::Fp4E2M1)
                cpu::fp4_qat(expected.data() + r * 64, 64, 32);
            else
                cpu::fp8_qat(expected.data() + r * 64, 64, 32);
        }
        CHECK(std::isnan(expected[0]) && std::isnan(expected[96]) && !std::isnan(expected[64]));
        auto dx = to_device(x);
        CHECK(cuda::qat(dx.as<float>(), 4, 64, 64, 32, format).ok());
        same_bits(format == cuda::QatFormat::Fp4E2M1 ? "qat FP4, infinity and NaN"
                                                     : "qat FP8, infinity and NaN",
                  from_device(dx, x.size()), expected, true);
    }
}

void swiglu_parity(std::mt19937& rng) {
    const std::int64_t rows = 4, n = 3000;
    auto gate = random_floats(static_cast<std::size_t>(rows * n), rng, 8.0f); // past the clamp often
    auto up = random_floats(gate.size(), rng, 8.0f);
    const auto scale = random_floats(static_cast<std::size_t>(rows), rng);
    gate[17] = up[n + 3] = std::numeric_limits<float>::quiet_NaN(); // kept by the clamp, as std::min keeps it
    for (const float limit : {10.0f, std::numeric_limits<float>::infinity()}) {
        for (const bool scaled : {true, false}) {
            std::vector<float> expected(gate.size());
            cpu::swiglu(gate.data(), up.data(), scaled ? scale.data() : nullptr, expected.data(), rows, n,
                        limit);
            auto dg = to_device(gate), du = to_device(up), ds = to_device(scale);
            CHECK(cuda::swiglu(dg.as<float>(), du.as<float>(), scaled ? ds.as<float>() : nullptr,
                               dg.as<float>(), rows, n, limit)
                      .ok());
            const std::string name = std::string("swiglu") +
                                     (std::isinf(limit) ? " unclamped" : " limit 10") +
                                     (scaled ? " scaled" : "");
            auto actual = from_device(dg, gate.size());
            CHECK(std::isnan(actual[17]) && std::isnan(expected[17]) && std::isnan(actual[n + 3]) &&
                  std::isnan(expected[n + 3]));
            actual[17] = expected[17] = actual[n + 3] = expected[n + 3] = 0.0f;
            // silu in double on both sides; the device's exp may differ in a double's last bit, which can
            // move the rounded float by one ulp.
            expect_within(name, actual, expected, bound(expected, 1e-12, 2e-6));
        }
    }
}

void sqrt_softplus_parity(std::mt19937& rng) {
    auto logits = random_floats(4096, rng, 12.0f);
    const float specials[] = {20.0f, -20.0f, 20.000002f, 0.0f, -0.0f, -88.0f, -104.0f, 60.0f, 1e-30f};
    std::copy(std::begin(specials), std::end(specials), logits.begin());
    std::vector<float> expected(logits.size());
    cpu::sqrt_softplus(logits.data(), expected.data(), static_cast<std::int64_t>(logits.size()));
    auto dl = to_device(logits);
    CHECK(cuda::sqrt_softplus(dl.as<float>(), dl.as<float>(), static_cast<std::int64_t>(logits.size())).ok());
    expect_within("sqrt_softplus", from_device(dl, logits.size()), expected, bound(expected, 1e-19, 2e-6));
}

void top_k_parity(std::mt19937& rng) {
    struct Case {
        std::int64_t rows, n, k;
        cpu::TopKOrder order;
        bool ties;
        const char* what;
    };
    const Case cases[] = {
        {3, 1000, 1000, cpu::TopKOrder::ByValue, true, "all, best first, ties"},
        {3, 1000, 100, cpu::TopKOrder::ByValue, true, "100 of 1000, ties"},
        {2, 20000, 1024, cpu::TopKOrder::ByIndex, true, "indexer 1024 of 20000, index order"},
        {2, 20000, 512, cpu::TopKOrder::ByIndex, false, "indexer 512 of 20000"},
        {9, 256, 6, cpu::TopKOrder::ByValue, true, "6 of 256"},
        {1, 129280, 1, cpu::TopKOrder::ByValue, false, "argmax over a 129280 vocabulary"},
        {1, 129280, 1, cpu::TopKOrder::ByValue, true, "argmax, ties"},
        {1, 129280, 40, cpu::TopKOrder::ByValue, false, "sampling top-40 of 129280"},
        {1, 1, 1, cpu::TopKOrder::ByValue, false, "one value"},
    };
    for (const Case& c : cases) {
        const auto values = c.ties ? tied_values(static_cast<std::size_t>(c.rows * c.n), rng, 40)
                                   : random_floats(static_cast<std::size_t>(c.rows * c.n), rng);
        std::vector<std::int64_t> expected(static_cast<std::size_t>(c.rows * c.k));
        for (std::int64_t r = 0; r < c.rows; ++r)
            cpu::top_k(values.data() + r * c.n, c.n, c.k, c.order, expected.data() + r * c.k);
        auto dv = to_device(values);
        auto di = poisoned<std::uint32_t>(expected.size());
        CHECK(cuda::top_k(dv.as<float>(), c.rows, c.n, c.k, c.order, di.as<std::uint32_t>()).ok());
        if (same_indices(std::string("top_k ") + c.what, from_device<std::uint32_t>(di, expected.size()),
                         expected))
            std::printf("  top_k %-34s same indices\n", c.what);
    }

    // Per-row counts: a prefix of each row, k past some counts (those rows end in 0xFFFFFFFF).
    const std::int64_t rows = 5, n = 3000, k = 512;
    const auto values = tied_values(static_cast<std::size_t>(rows * n), rng, 60);
    const std::vector<std::uint32_t> counts{0, 1, 300, 3000, 4000};
    std::vector<std::uint32_t> expected(static_cast<std::size_t>(rows * k), 0xFFFFFFFFu);
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t considered = std::min<std::int64_t>(counts[static_cast<std::size_t>(r)], n);
        const std::int64_t chosen = std::min(k, considered);
        std::vector<std::int64_t> row(static_cast<std::size_t>(chosen));
        if (chosen > 0)
            cpu::top_k(values.data() + r * n, considered, chosen, cpu::TopKOrder::ByIndex, row.data());
        std::copy(row.begin(), row.end(), expected.begin() + r * k);
    }
    auto dv = to_device(values), dc = to_device(counts);
    // Poisoned with another word than the 0xFFFFFFFF the short rows must end in.
    auto di = to_device(std::vector<std::uint32_t>(expected.size(), 0xAAAAAAAAu));
    CHECK(cuda::top_k(dv.as<float>(), rows, n, k, cpu::TopKOrder::ByIndex, di.as<std::uint32_t>(),
                      dc.as<std::uint32_t>())
              .ok());
    if (same_indices("top_k with counts", from_device<std::uint32_t>(di, expected.size()), expected))
        std::printf("  %-40s same indices\n", "top_k with counts 0, 1, 300, n, past n");
}

void moe_route_parity(std::mt19937& rng) {
    const std::int64_t rows = 37, experts = 256, active = 8;
    const float route_scale = 2.5f;
    const auto logits = random_floats(static_cast<std::size_t>(rows * experts), rng, 2.0f);
    std::vector<float> scores(logits.size());
    cpu::sqrt_softplus(logits.data(), scores.data(), rows * experts);
    auto bias = random_floats(static_cast<std::size_t>(experts), rng, 0.3f);
    bias[11] = bias[200];
    scores[3 * experts + 11] = scores[3 * experts + 200] = 9.0f;        // an exact tie for the best of row 3
    scores[4 * experts + 17] = std::numeric_limits<float>::quiet_NaN(); // ranks last: never chosen
    for (const bool with_bias : {true, false}) {
        std::vector<std::int64_t> chosen(static_cast<std::size_t>(rows * active));
        std::vector<float> weights(chosen.size());
        cpu::moe_route(scores.data(), with_bias ? bias.data() : nullptr, rows, experts, active, route_scale,
                       chosen.data(), weights.data());
        auto ds = to_device(scores), db = to_device(bias);
        auto dc = poisoned<std::uint32_t>(chosen.size()), dw = poisoned(chosen.size());
        CHECK(cuda::moe_route(ds.as<float>(), with_bias ? db.as<float>() : nullptr, rows, experts, active,
                              route_scale, dc.as<std::uint32_t>(), dw.as<float>())
                  .ok());
        const std::string name = std::string("moe_route 37x256, 8 active") + (with_bias ? ", bias" : "");
        same_indices(name, from_device<std::uint32_t>(dc, chosen.size()), chosen);
        // The same fp32 sum and quotient in the same order.
        same_bits(name + " weights", from_device(dw, chosen.size()), weights);
    }
    std::vector<std::int64_t> given(static_cast<std::size_t>(rows * active));
    std::uniform_int_distribution<std::int64_t> expert(0, experts - 1);
    for (std::int64_t& e : given) e = expert(rng);
    const std::vector<std::uint32_t> given32(given.begin(), given.end());
    std::vector<float> weights(given.size());
    scores[4 * experts + 17] = 1.0f; // the table may name any expert
    cpu::moe_route_weights(scores.data(), given.data(), rows, experts, active, route_scale, weights.data());
    auto ds = to_device(scores), dc = to_device(given32);
    auto dw = poisoned(given.size());
    CHECK(cuda::moe_route_weights(ds.as<float>(), dc.as<std::uint32_t>(), rows, experts, active, route_scale,
                                  dw.as<float>())
              .ok());
    same_bits("moe_route_weights (hash layer)", from_device(dw, given.size()), weights);
}

void moe_group_parity(std::mt19937& rng) {
    for (const auto& [rows, experts, active] :
         {std::tuple<std::int64_t, std::int64_t, std::int64_t>{37, 256, 8}, {300, 64, 6}, {1, 256, 6}}) {
        std::vector<std::int64_t> chosen;
        std::vector<std::int64_t> all(static_cast<std::size_t>(experts));
        std::iota(all.begin(), all.end(), 0);
        for (std::int64_t r = 0; r < rows; ++r) {
            std::shuffle(all.begin(), all.end(), rng);
            chosen.insert(chosen.end(), all.begin(), all.begin() + active);
        }
        std::vector<std::int64_t> offsets(static_cast<std::size_t>(experts + 1)), tokens(chosen.size()),
            slots(chosen.size());
        cpu::moe_group(chosen.data(), rows, active, experts, offsets.data(), tokens.data(), slots.data());
        const std::vector<std::uint32_t> chosen32(chosen.begin(), chosen.end());
        auto dc = to_device(chosen32);
        auto doff = poisoned<std::uint32_t>(offsets.size()), dt = poisoned<std::uint32_t>(tokens.size()),
             ds = poisoned<std::uint32_t>(slots.size());
        CHECK(cuda::moe_group(dc.as<std::uint32_t>(), rows, active, experts, doff.as<std::uint32_t>(),
                              dt.as<std::uint32_t>(), ds.as<std::uint32_t>())
                  .ok());
        const std::string name = "moe_group " + std::to_string(rows) + " rows, " + std::to_string(experts) +
                                 " experts, " + std::to_string(active) + " active";
        if (same_indices(name + " offsets", from_device<std::uint32_t>(doff, offsets.size()), offsets) &&
            same_indices(name + " tokens", from_device<std::uint32_t>(dt, tokens.size()), tokens) &&
            same_indices(name + " slots", from_device<std::uint32_t>(ds, slots.size()), slots))
            std::printf("  %-40s same groups\n", name.c_str());
    }

    // A chosen index at or past `experts` is left out of every group (worked by hand).
    const std::vector<std::uint32_t> chosen{0, 9, 2, 0, 4, 1};
    const std::vector<std::uint32_t> offsets{0, 2, 3, 4, 4}, tokens{0, 1, 2, 1}, slots{0, 3, 5, 2};
    auto dc = to_device(chosen);
    auto doff = poisoned<std::uint32_t>(5), dt = poisoned<std::uint32_t>(6), ds = poisoned<std::uint32_t>(6);
    CHECK(cuda::moe_group(dc.as<std::uint32_t>(), 3, 2, 4, doff.as<std::uint32_t>(), dt.as<std::uint32_t>(),
                          ds.as<std::uint32_t>())
              .ok());
    same_indices("moe_group, indices past the experts: offsets", from_device<std::uint32_t>(doff, 5),
                 offsets);
    same_indices("moe_group, indices past the experts: tokens", from_device<std::uint32_t>(dt, 4), tokens);
    same_indices("moe_group, indices past the experts: slots", from_device<std::uint32_t>(ds, 4), slots);
}

void dispatch_rows_parity(std::mt19937& rng) {
    const std::int64_t tokens = 40, dim = 700, count = 13;
    const auto x = random_floats(static_cast<std::size_t>(tokens * dim), rng);
    const auto y = random_floats(static_cast<std::size_t>(count * dim), rng);
    std::vector<std::int64_t> rows(static_cast<std::size_t>(tokens));
    std::iota(rows.begin(), rows.end(), 0);
    std::shuffle(rows.begin(), rows.end(), rng);
    rows.resize(static_cast<std::size_t>(count));
    const std::vector<std::uint32_t> rows32(rows.begin(), rows.end());
    std::vector<float> gathered(y.size()), accumulated = x;
    cpu::gather_rows(x.data(), rows.data(), count, dim, gathered.data());
    cpu::scatter_add_rows(y.data(), rows.data(), count, dim, accumulated.data());
    auto dx = to_device(x), dy = to_device(y), dr = to_device(rows32);
    auto dg = poisoned(gathered.size());
    CHECK(cuda::gather_rows(dx.as<float>(), tokens, dr.as<std::uint32_t>(), count, dim, dg.as<float>()).ok());
    same_bits("gather_rows (13 of 40 x 700)", from_device(dg, gathered.size()), gathered);
    CHECK(cuda::scatter_add_rows(dy.as<float>(), dr.as<std::uint32_t>(), count, dim, dx.as<float>(), tokens)
              .ok());
    same_bits("scatter_add_rows (13 into 40 x 700)", from_device(dx, x.size()), accumulated);

    // An index past the rows is not followed: gather writes NaN, scatter leaves the rows alone.
    const std::vector<std::uint32_t> bad{3, static_cast<std::uint32_t>(count)};
    auto dbad = to_device(bad), dtwo = poisoned(static_cast<std::size_t>(2 * dim));
    CHECK(cuda::gather_rows(dy.as<float>(), count, dbad.as<std::uint32_t>(), 2, dim, dtwo.as<float>()).ok());
    const auto two = from_device(dtwo, static_cast<std::size_t>(2 * dim));
    CHECK(two[0] == y[static_cast<std::size_t>(3 * dim)] &&
          std::bit_cast<std::uint32_t>(two[static_cast<std::size_t>(dim)]) == 0x7FC00000u); // not the poison
    auto dsmall = to_device(std::vector<float>(static_cast<std::size_t>(count * dim), 0.0f));
    CHECK(
        cuda::scatter_add_rows(dtwo.as<float>(), dbad.as<std::uint32_t>(), 2, dim, dsmall.as<float>(), count)
            .ok());
    const auto small = from_device(dsmall, static_cast<std::size_t>(count * dim));
    CHECK(small[static_cast<std::size_t>(3 * dim)] == y[static_cast<std::size_t>(3 * dim)] &&
          std::count(small.begin(), small.end(), 0.0f) == (count - 1) * dim);
}

void compressor_pool_parity(std::mt19937& rng) {
    for (const bool overlap : {true, false}) {
        const std::int64_t count = 3, ratio = overlap ? 4 : 128, width = overlap ? 128 : 512;
        const std::int64_t state = (overlap ? 4 : 1) * ratio * width;
        const auto kv = random_floats(static_cast<std::size_t>(count * state), rng);
        auto score = random_floats(kv.size(), rng, 4.0f);
        score[5] = -std::numeric_limits<float>::infinity(); // an empty slot of a fresh state
        std::vector<float> expected(static_cast<std::size_t>(count * width));
        for (std::int64_t b = 0; b < count; ++b)
            cpu::compressor_pool(kv.data() + b * state, score.data() + b * state, ratio, width, overlap,
                                 expected.data() + b * width);
        auto dk = to_device(kv), ds = to_device(score), out = poisoned(expected.size());
        CHECK(cuda::compressor_pool(dk.as<float>(), ds.as<float>(), count, ratio, width, overlap,
                                    out.as<float>())
                  .ok());
        // Both in double; only exp's last bit of a double and the fma of the device can differ.
        expect_within(overlap ? "compressor_pool CSA (ratio 4, 3x128)"
                              : "compressor_pool HCA (ratio 128, 3x512)",
                      from_device(out, expected.size()), expected, bound(expected, 1e-7, 1e-6));
    }
}

void indexer_scores_parity(std::mt19937& rng, std::int64_t rows, std::int64_t heads, std::int64_t count,
                           std::int64_t dim) {
    const auto queries = random_floats(static_cast<std::size_t>(rows * heads * dim), rng);
    const auto weights = random_floats(static_cast<std::size_t>(rows * heads), rng, 0.1f);
    const auto keys = random_floats(static_cast<std::size_t>(count * dim), rng);
    std::vector<float> expected(static_cast<std::size_t>(rows * count));
    std::vector<double> tolerance(expected.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        cpu::indexer_scores(queries.data() + r * heads * dim, weights.data() + r * heads, keys.data(), heads,
                            count, dim, expected.data() + r * count);
        // An fp32 dot against the CPU's double one: about dim * 2^-24 of the sum of |products| per head.
        for (std::int64_t j = 0; j < count; ++j) {
            double magnitude = 0;
            for (std::int64_t h = 0; h < heads; ++h) {
                double products = 0;
                for (std::int64_t i = 0; i < dim; ++i)
                    products += std::fabs(
                        static_cast<double>(queries[static_cast<std::size_t>((r * heads + h) * dim + i)]) *
                        keys[static_cast<std::size_t>(j * dim + i)]);
                magnitude += std::fabs(weights[static_cast<std::size_t>(r * heads + h)]) * products;
            }
            tolerance[static_cast<std::size_t>(r * count + j)] = 2e-6 * magnitude;
        }
    }
    auto dq = to_device(queries), dw = to_device(weights), dk = to_device(keys),
         out = poisoned(expected.size());
    CHECK(cuda::indexer_scores(dq.as<float>(), dw.as<float>(), dk.as<float>(), rows, heads, count, dim,
                               out.as<float>())
              .ok());
    expect_within("indexer_scores (" + std::to_string(rows) + " x " + std::to_string(heads) + " heads, " +
                      std::to_string(count) + " keys of " + std::to_string(dim) + ")",
                  from_device(out, expected.size()), expected, tolerance);
}

// Whether every word matches; prints how many differ.
template <typename Word>
bool same_words(const std::string& op, const std::vector<Word>& actual, const std::vector<Word>& expected) {
    std::size_t differ = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) differ += actual[i] != expected[i];
    std::printf("  %-40s %zu of %zu words differ in any bit\n", op.c_str(), differ, expected.size());
    return CHECK(differ == 0);
}

// Row copies: the whole dst allocation is compared, so the gaps between rows (strides past n) and one
// element past the last row must keep their poison.
struct RowsCase {
    std::int64_t rows, src_stride, dst_stride, n;
    const char* what;
};

constexpr RowsCase kRowsCases[] = {
    {5, 700, 700, 700, "5 x 700, contiguous"},
    {7, 1000, 777, 700, "7 x 700, strides 1000 and 777"},
    {3, 64, 129, 33, "3 x 33, strides 64 and 129 (odd)"},
    {4, 0, 130, 128, "4 x 128, src stride 0 (one row repeated)"},
    {1, 5, 5, 1, "one value"},
    {1, 0, 0, 3001, "one row of 3001, strides 0"},
    {300, 9, 11, 9, "300 x 9, more rows than a block's threads"},
};

std::vector<float> rows_source(const RowsCase& c, std::mt19937& rng) {
    auto src = random_floats(static_cast<std::size_t>((c.rows - 1) * c.src_stride + c.n), rng, 3.0f);
    // NaNs with payloads (a signalling one included), infinities, zeros, a subnormal, the bf16 rounding ties
    // (even and odd, either sign), just beside a tie, and the largest finite floats that round to infinity.
    const std::uint32_t specials[] = {0x7FC01234u, 0x7F800001u, 0xFF812345u, 0xFFC00000u, 0x7F800000u,
                                      0xFF800000u, 0x80000000u, 0x00000000u, 0x00000001u, 0x807F8000u,
                                      0x3F808000u, 0x3F818000u, 0xBF808000u, 0xBF818000u, 0x3F808001u,
                                      0x3F807FFFu, 0x7F7FFFFFu, 0x7F7F8000u, 0xFF7F8000u, 0x7F7E8000u,
                                      0x00008000u, 0x00018000u};
    for (std::size_t i = 0; i < std::size(specials) && i < src.size(); ++i)
        src[(i * 7919) % src.size()] = std::bit_cast<float>(specials[i]);
    return src;
}

void copy_rows_parity(std::mt19937& rng) {
    for (const RowsCase& c : kRowsCases) {
        const auto src = rows_source(c, rng);
        const auto dst_size = static_cast<std::size_t>((c.rows - 1) * c.dst_stride + c.n + 1);
        std::vector<float> expected(dst_size, std::bit_cast<float>(0xFFFFFFFFu));
        for (std::int64_t r = 0; r < c.rows; ++r)
            for (std::int64_t i = 0; i < c.n; ++i)
                expected[static_cast<std::size_t>(r * c.dst_stride + i)] =
                    src[static_cast<std::size_t>(r * c.src_stride + i)];
        auto ds = to_device(src), dd = poisoned(dst_size);
        CHECK(cuda::copy_rows(ds.as<float>(), c.src_stride, dd.as<float>(), c.dst_stride, c.rows, c.n).ok());
        same_bits(std::string("copy_rows ") + c.what, from_device(dd, dst_size), expected);
    }
}

void store_bf16_parity(std::mt19937& rng) {
    for (const RowsCase& c : kRowsCases) {
        const auto src = rows_source(c, rng);
        const auto dst_size = static_cast<std::size_t>((c.rows - 1) * c.dst_stride + c.n + 1);
        std::vector<std::uint16_t> expected(dst_size, 0xFFFFu);
        for (std::int64_t r = 0; r < c.rows; ++r)
            for (std::int64_t i = 0; i < c.n; ++i)
                expected[static_cast<std::size_t>(r * c.dst_stride + i)] =
                    cpu::f32_to_bf16(src[static_cast<std::size_t>(r * c.src_stride + i)]);
        auto ds = to_device(src);
        auto dd = poisoned<std::uint16_t>(dst_size);
        CHECK(
            cuda::store_bf16(ds.as<float>(), c.src_stride, dd.as<std::uint16_t>(), c.dst_stride, c.rows, c.n)
                .ok());
        same_words(std::string("store_bf16 ") + c.what, from_device<std::uint16_t>(dd, dst_size), expected);
    }

    // The specials by hand: the CPU's rounding as the test means it, not only as f32_to_bf16 computes it.
    const std::vector<float> src{std::bit_cast<float>(0x3F808000u),
                                 std::bit_cast<float>(0x3F818000u),
                                 std::bit_cast<float>(0xBF818000u),
                                 std::bit_cast<float>(0x7F7FFFFFu),
                                 std::bit_cast<float>(0x7F800001u),
                                 std::bit_cast<float>(0xFF812345u),
                                 -0.0f,
                                 -std::numeric_limits<float>::infinity()};
    const std::vector<std::uint16_t> by_hand{0x3F80u, 0x3F82u, 0xBF82u, 0x7F80u,
                                             0x7FC0u, 0xFFC1u, 0x8000u, 0xFF80u};
    for (std::size_t i = 0; i < src.size(); ++i) CHECK(cpu::f32_to_bf16(src[i]) == by_hand[i]);
    auto ds = to_device(src);
    auto dd = poisoned<std::uint16_t>(src.size());
    CHECK(cuda::store_bf16(ds.as<float>(), 0, dd.as<std::uint16_t>(), 0, 1,
                           static_cast<std::int64_t>(src.size()))
              .ok());
    same_words("store_bf16 ties, NaN, inf, -0 by hand", from_device<std::uint16_t>(dd, src.size()), by_hand);

    // Nothing to do is no launch (null pointers are never followed).
    CHECK(cuda::copy_rows(nullptr, 4, nullptr, 4, 0, 4).ok());
    CHECK(cuda::copy_rows(nullptr, 4, nullptr, 4, 3, 0).ok());
    CHECK(cuda::store_bf16(nullptr, 4, nullptr, 4, 0, 4).ok());
    CHECK(cuda::store_bf16(nullptr, 4, nullptr, 4, 3, 0).ok());
}

// bf16 keys against the fp32 call on the same (bf16-rounded) keys: the same bits.
void indexer_scores_bf16_keys(std::mt19937& rng, std::int64_t rows, std::int64_t heads, std::int64_t count,
                              std::int64_t dim) {
    const auto queries = random_floats(static_cast<std::size_t>(rows * heads * dim), rng);
    const auto weights = random_floats(static_cast<std::size_t>(rows * heads), rng, 0.1f);
    auto keys = random_floats(static_cast<std::size_t>(count * dim), rng);
    keys[1] = -0.0f;
    keys[2] = std::bit_cast<float>(0x00010000u); // a bf16 subnormal
    std::vector<std::uint16_t> bits(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        bits[i] = cpu::f32_to_bf16(keys[i]);
        keys[i] = cpu::bf16_to_f32(bits[i]);
    }
    const auto size = static_cast<std::size_t>(rows * count);
    auto dq = to_device(queries), dw = to_device(weights), dk = to_device(keys), db = to_device(bits);
    auto fp32 = poisoned(size), bf16 = poisoned(size);
    CHECK(cuda::indexer_scores(dq.as<float>(), dw.as<float>(), dk.as<float>(), rows, heads, count, dim,
                               fp32.as<float>())
              .ok());
    CHECK(cuda::indexer_scores(dq.as<float>(), dw.as<float>(), db.as<std::uint16_t>(), rows, heads, count,
                               dim, bf16.as<float>(), true)
              .ok());
    const auto expected = from_device(fp32, size);
    CHECK(std::none_of(expected.begin(), expected.end(), [](float v) { return std::isnan(v); }));
    same_bits("indexer_scores bf16 keys (" + std::to_string(rows) + " x " + std::to_string(heads) +
                  " heads, " + std::to_string(count) + " keys of " + std::to_string(dim) + ")",
              from_device(bf16, size), expected);
}

void hc_mix_parity(std::mt19937& rng) {
    const std::int64_t rows = 5, hc = 4, dim = 1000;
    const auto streams = random_floats(static_cast<std::size_t>(rows * hc * dim), rng);
    const auto y = random_floats(static_cast<std::size_t>(rows * dim), rng);
    const auto pre = random_floats(static_cast<std::size_t>(rows * hc), rng);
    const auto post = random_floats(static_cast<std::size_t>(rows * hc), rng);
    const auto comb = random_floats(static_cast<std::size_t>(rows * hc * hc), rng);
    std::vector<float> expected_u(static_cast<std::size_t>(rows * dim)), expected_out(streams.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* s = streams.data() + r * hc * dim;
        cpu::hc_pre_mix(pre.data() + r * hc, s, hc, dim, expected_u.data() + r * dim);
        cpu::hc_post_mix(post.data() + r * hc, comb.data() + r * hc * hc, y.data() + r * dim, s, hc, dim,
                         expected_out.data() + r * hc * dim);
    }
    auto ds = to_device(streams), dy = to_device(y), dpre = to_device(pre), dpost = to_device(post),
         dcomb = to_device(comb);
    auto du = poisoned(expected_u.size()), dout = poisoned(expected_out.size());
    CHECK(cuda::hc_pre_mix(dpre.as<float>(), ds.as<float>(), rows, hc, dim, du.as<float>()).ok());
    CHECK(cuda::hc_post_mix(dpost.as<float>(), dcomb.as<float>(), dy.as<float>(), ds.as<float>(), rows, hc,
                            dim, dout.as<float>())
              .ok());
    // Sums in double in the CPU's order, rounded once. A float times a float is exact in double, so a fused
    // multiply-add on the device rounds as the CPU's multiply then add: the same bits.
    same_bits("hc_pre_mix (5 tokens x 4 streams x 1000)", from_device(du, expected_u.size()), expected_u);
    same_bits("hc_post_mix (5 tokens x 4 streams x 1000)", from_device(dout, expected_out.size()),
              expected_out);
}

void hc_coefficients_parity(std::mt19937& rng) {
    const std::int64_t rows = 6, hc = 4, dim = 1024, count = (2 + hc) * hc;
    const float norm_eps = 1e-6f, hc_eps = 1e-6f;
    const auto streams = random_floats(static_cast<std::size_t>(rows * hc * dim), rng);
    const auto projections = random_floats(static_cast<std::size_t>(rows * count), rng, 3.0f);
    const auto base = random_floats(static_cast<std::size_t>(count), rng);
    const std::vector<float> scale{0.8f, -1.1f, 0.5f};
    for (const bool layer : {true, false}) {
        const std::int64_t per_token = layer ? count : hc;
        std::vector<float> used;
        for (std::int64_t r = 0; r < rows; ++r)
            used.insert(used.end(), projections.begin() + r * count,
                        projections.begin() + r * count + per_token);
        std::vector<float> pre(static_cast<std::size_t>(rows * hc)), post(pre.size()),
            comb(static_cast<std::size_t>(rows * hc * hc));
        for (std::int64_t r = 0; r < rows; ++r)
            cpu::hc_coefficients(used.data() + r * per_token, streams.data() + r * hc * dim, hc, dim,
                                 norm_eps, scale.data(), base.data(), hc_eps, pre.data() + r * hc,
                                 layer ? post.data() + r * hc : nullptr,
                                 layer ? comb.data() + r * hc * hc : nullptr);
        auto dp = to_device(used), ds = to_device(streams), dscale = to_device(scale),
             dbase = to_device(base);
        auto dpre = poisoned(pre.size()), dpost = poisoned(post.size()), dcomb = poisoned(comb.size());
        CHECK(cuda::hc_coefficients(dp.as<float>(), ds.as<float>(), rows, hc, dim, norm_eps,
                                    dscale.as<float>(), dbase.as<float>(), hc_eps, dpre.as<float>(),
                                    layer ? dpost.as<float>() : nullptr, layer ? dcomb.as<float>() : nullptr)
                  .ok());
        const std::string name = layer ? "hc_coefficients layer (6 x 4 x 1024)" : "hc_coefficients head";
        // The mean square is a double sum in another order, so the inverse rms may differ by an ulp; the
        // rest is the CPU's fp32 arithmetic and a double sigmoid.
        expect_within(name + " pre", from_device(dpre, pre.size()), pre, bound(pre, 1e-6, 1e-6));
        if (!layer) continue;
        expect_within(name + " post", from_device(dpost, post.size()), post, bound(post, 1e-6, 1e-6));
        expect_within(name + " comb", from_device(dcomb, comb.size()), comb, bound(comb, 1e-6, 1e-6));
    }
}

void errors_are_reported() {
    const auto too_many = cuda::top_k(nullptr, 1, 8, 9, cpu::TopKOrder::ByValue, nullptr);
    CHECK(!too_many.ok() && too_many.error().find("top_k") != std::string::npos);
    CHECK(!cuda::top_k(nullptr, 1, 5000, cuda::kMaxTopK + 1, cpu::TopKOrder::ByValue, nullptr).ok());
    CHECK(!cuda::moe_route(nullptr, nullptr, 1, 8, 9, 1.0f, nullptr, nullptr).ok());
    CHECK(!cuda::moe_group(nullptr, 1, 6, 5000, nullptr, nullptr, nullptr).ok());
    CHECK(!cuda::hc_coefficients(nullptr, nullptr, 1, 17, 4, 1e-6f, nullptr, nullptr, 1e-6f, nullptr, nullptr,
                                 nullptr)
               .ok());
    CHECK(!cuda::indexer_scores(nullptr, nullptr, nullptr, 1, 128, 10, 128, nullptr).ok());
    CHECK(!cuda::qat(nullptr, 1, 64, 128, 32, cuda::QatFormat::Fp8E4M3).ok());
    const auto negative = cuda::copy_rows(nullptr, -1, nullptr, 8, 2, 8);
    CHECK(!negative.ok() && negative.error().find("copy_rows") != std::string::npos);
    CHECK(!cuda::copy_rows(nullptr, 8, nullptr, 7, 2, 8).ok()); // dst rows would overlap
    const auto overlapping = cuda::store_bf16(nullptr, 8, nullptr, 7, 2, 8);
    CHECK(!overlapping.ok() && overlapping.error().find("store_bf16") != std::string::npos);
    CHECK(!cuda::store_bf16(nullptr, 8, nullptr, -8, 2, 8).ok());
}

} // namespace

int main() {
    if (const auto available = cuda::device_available(); !available.ok()) {
        std::printf("kernels_cuda_graph_ops: skipped: %s\n", available.error().c_str());
        return 77;
    }
    std::mt19937 rng(4321);
    elementwise_parity(rng);
    qat_parity(rng);
    swiglu_parity(rng);
    sqrt_softplus_parity(rng);
    top_k_parity(rng);
    moe_route_parity(rng);
    moe_group_parity(rng);
    dispatch_rows_parity(rng);
    compressor_pool_parity(rng);
    indexer_scores_parity(rng, 3, 16, 700, 128);
    indexer_scores_parity(rng, 2, 21, 130, 100);  // dims that fill no warp evenly
    indexer_scores_parity(rng, 1, 64, 4100, 128); // DeepSeek-V4-Flash's indexer shape
    hc_mix_parity(rng);
    hc_coefficients_parity(rng);
    copy_rows_parity(rng);
    store_bf16_parity(rng);
    indexer_scores_bf16_keys(rng, 3, 16, 700, 128);
    indexer_scores_bf16_keys(rng, 2, 21, 130, 100);
    indexer_scores_bf16_keys(rng, 1, 64, 1100, 128); // the Flash indexer's heads and dim
    errors_are_reported();
    return lectern::test::finish("kernels_cuda_graph_ops");
}
