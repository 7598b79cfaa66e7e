// The Vulkan graph-level ops (kernels/vulkan/graph_ops.h) against the CPU ops (kernels/cpu/graph_ops.h),
// once on the device's own variants and once with the portable fallback forced. Selections (top_k,
// moe_route) must pick exactly the CPU's indices (inputs with many exact ties, NaN, -0/+0 included);
// every float result has its tolerance stated beside the check. Prints each op's device time.

#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/numerics.h"
#include "kernels/vulkan/graph_ops.h"
#include "tests/kernels/random_inputs.h"
#include "tests/vulkan/device_buffers.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace lectern::kernels;
using lectern::test::device_zeros;
using lectern::test::from_device;
using lectern::test::qat_input;
using lectern::test::random_floats;
using lectern::test::run_timed;
using lectern::test::tied_values;
using lectern::test::to_device;
using lectern::test::to_device_bf16;

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

// abs + rel * |expected| for every value.
std::vector<double> bound(const std::vector<float>& expected, double abs, double rel) {
    std::vector<double> b(expected.size());
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = abs + rel * std::fabs(expected[i]);
    return b;
}

void round_to_bf16_parity(vulkan::Context& context, std::mt19937& rng) {
    auto x = random_floats(5000, rng, 10.0f);
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                              std::numeric_limits<float>::infinity(),
                              -0.0f,
                              std::numeric_limits<float>::denorm_min(),
                              1.0f + std::ldexp(1.0f, -8),
                              1.0f + 3 * std::ldexp(1.0f, -8),
                              3.3895314e38f /* rounds to infinity */};
    std::copy(std::begin(specials), std::end(specials), x.begin());
    auto expected = x;
    cpu::round_to_bf16(expected.data(), static_cast<std::int64_t>(expected.size()));
    vulkan::Buffer dx = to_device(context, x);
    if (!run_timed(context, "round_to_bf16 (5000)", [&](vulkan::Stream& s) {
            return vulkan::round_to_bf16(s, dx.span(), static_cast<std::int64_t>(x.size()));
        }))
        return;
    // Integer work on the bits: identical, NaN payload included.
    const auto actual = from_device<std::uint32_t>(context, dx, x.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        differ += actual[i] != std::bit_cast<std::uint32_t>(expected[i]);
    CHECK(differ == 0);
    std::printf("  %-40s %zu of %zu values differ in any bit\n", "round_to_bf16", differ, x.size());
}

void qat_parity(vulkan::Context& context, std::mt19937& rng) {
    struct Case {
        std::int64_t rows, stride, count, block;
        vulkan::QatFormat format;
        const char* what;
    };
    const Case cases[] = {
        {6, 4096, 4096, 128, vulkan::QatFormat::Fp8E4M3, "qat FP8 activations (6 x 4096, block 128)"},
        {5, 512, 448, 64, vulkan::QatFormat::Fp8E4M3, "qat FP8 KV nope dims (5 x 448 of 512, block 64)"},
        {7, 128, 128, 32, vulkan::QatFormat::Fp4E2M1, "qat FP4 indexer (7 x 128, block 32)"},
        {3, 1000, 1000, 128, vulkan::QatFormat::Fp8E4M3, "qat FP8, short last block"},
        {3 * 33 * 61, 128, 128, 128, vulkan::QatFormat::Fp8E4M3, "qat FP8 scales near powers of two"},
        {3 * 33 * 61, 32, 32, 32, vulkan::QatFormat::Fp4E2M1, "qat FP4 scales near powers of two"},
    };
    for (const Case& c : cases) {
        const bool fp4 = c.format == vulkan::QatFormat::Fp4E2M1;
        const auto x = qat_input(c.rows * c.stride, c.block, fp4 ? 6.0f : 448.0f, rng);
        auto expected = x;
        for (std::int64_t r = 0; r < c.rows; ++r) {
            float* row = expected.data() + r * c.stride;
            if (fp4)
                cpu::fp4_qat(row, c.count, c.block);
            else
                cpu::fp8_qat(row, c.count, c.block);
        }
        vulkan::Buffer dx = to_device(context, x);
        if (!run_timed(context, c.what, [&](vulkan::Stream& s) {
                return vulkan::qat(s, dx.span(), c.rows, c.stride, c.count, c.block, c.format);
            }))
            continue;
        // Power-of-two scales and rounding on the bits: identical (untouched values past `count` too).
        const auto actual = from_device<float>(context, dx, x.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            differ += std::bit_cast<std::uint32_t>(actual[i]) != std::bit_cast<std::uint32_t>(expected[i]);
        CHECK(differ == 0);
        std::printf("  %-40s %zu of %zu values differ in any bit\n", c.what, differ, x.size());
    }

    // A block holding an infinity becomes NaN throughout (any NaN: the CPU's from inf / inf has another sign
    // and payload); a NaN does not count toward its block's amax.
    auto x = random_floats(4 * 64, rng);
    x[5] = std::numeric_limits<float>::infinity();
    x[64 + 40] = -std::numeric_limits<float>::infinity();
    x[128 + 7] = std::numeric_limits<float>::quiet_NaN();
    for (const vulkan::QatFormat format : {vulkan::QatFormat::Fp8E4M3, vulkan::QatFormat::Fp4E2M1}) {
        const bool fp4 = format == vulkan::QatFormat::Fp4E2M1;
        auto expected = x;
        for (std::int64_t r = 0; r < 4; ++r) {
            if (fp4)
                cpu::fp4_qat(expected.data() + r * 64, 64, 32);
            else
                cpu::fp8_qat(expected.data() + r * 64, 64, 32);
        }
        vulkan::Buffer dx = to_device(context, x);
        const char* what = fp4 ? "qat FP4, infinity and NaN" : "qat FP8, infinity and NaN";
        if (!run_timed(context, what,
                       [&](vulkan::Stream& s) { return vulkan::qat(s, dx.span(), 4, 64, 64, 32, format); }))
            continue;
        const auto actual = from_device<float>(context, dx, x.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            differ += std::bit_cast<std::uint32_t>(actual[i]) != std::bit_cast<std::uint32_t>(expected[i]) &&
                      !(std::isnan(actual[i]) && std::isnan(expected[i]));
        CHECK(differ == 0 && std::isnan(expected[0]) && std::isnan(expected[96]));
        std::printf("  %-40s %zu of %zu values differ\n", what, differ, x.size());
    }
}

void scale_parity(vulkan::Context& context, std::mt19937& rng) {
    const auto x = random_floats(3000, rng, 5.0f);
    auto expected = x;
    const float factor = static_cast<float>(1.0 / (std::sqrt(128.0) * std::sqrt(64.0)));
    cpu::scale(expected.data(), static_cast<std::int64_t>(x.size()), factor);
    vulkan::Buffer dx = to_device(context, x);
    if (!run_timed(context, "scale (3000)", [&](vulkan::Stream& s) {
            return vulkan::scale(s, dx.span(), static_cast<std::int64_t>(x.size()), factor);
        }))
        return;
    // One fp32 multiply: exact.
    expect_within("scale", from_device<float>(context, dx, x.size()), expected, bound(expected, 0, 0));
}

// copy_rows moves words: NaN payloads and uint32 indices (denormal as floats) arrive bit for bit; with an
// addend it is one fp32 add per element, as cpu::add. Rows at unaligned element offsets and strides, and
// a copy within one buffer.
void copy_rows_parity(vulkan::Context& context, std::mt19937& rng) {
    constexpr std::int64_t rows = 5, n = 37, src_stride = 41, dst_stride = 43, add_stride = 39;
    std::vector<float> src = random_floats(static_cast<std::size_t>(3 + rows * src_stride), rng);
    src[3] = std::bit_cast<float>(0x7FC01234u); // a NaN with a payload
    src[4] = std::bit_cast<float>(7u);          // an index, a denormal as a float
    const std::vector<float> addend = random_floats(static_cast<std::size_t>(1 + rows * add_stride), rng);
    std::vector<float> plain(static_cast<std::size_t>(5 + rows * dst_stride), -1.0f), summed = plain;
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t i = 0; i < n; ++i) {
            const float value = src[static_cast<std::size_t>(3 + r * src_stride + i)];
            plain[static_cast<std::size_t>(5 + r * dst_stride + i)] = value;
            cpu::add(&value, &addend[static_cast<std::size_t>(1 + r * add_stride + i)],
                     &summed[static_cast<std::size_t>(5 + r * dst_stride + i)], 1);
        }
    vulkan::Buffer dsrc = to_device(context, src), dadd = to_device(context, addend);
    vulkan::Buffer dplain = to_device(context, std::vector<float>(plain.size(), -1.0f));
    vulkan::Buffer dsum = to_device(context, std::vector<float>(plain.size(), -1.0f));
    if (!run_timed(context, "copy_rows (5 x 37, strided)", [&](vulkan::Stream& s) {
            if (auto done = vulkan::copy_rows(s, {dsrc.span(), 3, src_stride}, {dplain.span(), 5, dst_stride},
                                              rows, n);
                !done)
                return done;
            return vulkan::copy_rows(s, {dsrc.span(), 3, src_stride}, {dsum.span(), 5, dst_stride}, rows, n,
                                     vulkan::Rows{dadd.span(), 1, add_stride});
        }))
        return;
    const auto bits = [](const std::vector<float>& v) {
        std::vector<std::uint32_t> out(v.size());
        std::transform(v.begin(), v.end(), out.begin(),
                       [](float x) { return std::bit_cast<std::uint32_t>(x); });
        return out;
    };
    CHECK(bits(from_device<float>(context, dplain, plain.size())) == bits(plain));
    CHECK(bits(from_device<float>(context, dsum, summed.size())) == bits(summed));

    // Within one buffer: the second half of each row onto the first (a compressor's block shift).
    std::vector<float> shift = random_floats(64, rng);
    vulkan::Buffer dshift = to_device(context, shift);
    if (!run_timed(context, "copy_rows (in one buffer)", [&](vulkan::Stream& s) {
            return vulkan::copy_rows(s, {dshift.span(), 32, 0}, {dshift.span(), 0, 0}, 1, 32);
        }))
        return;
    std::copy(shift.begin() + 32, shift.end(), shift.begin());
    CHECK(bits(from_device<float>(context, dshift, shift.size())) == bits(shift));
    std::printf("  %-40s bit-exact\n", "copy_rows");
}

// store_bf16 against cpu::f32_to_bf16 bit for bit: ties both ways, NaN payloads (quiet and signalling,
// both signs), infinities, -0, denormals, a value that rounds to infinity; rows at an odd src offset and
// stride and even dst ones, and the bf16 values between dst's rows left as they were.
void store_bf16_parity(vulkan::Context& context, std::mt19937& rng) {
    constexpr std::int64_t rows = 3, n = 38, src_offset = 3, src_stride = 41, dst_offset = 6, dst_stride = 44;
    std::vector<float> src =
        random_floats(static_cast<std::size_t>(src_offset + rows * src_stride), rng, 10.0f);
    const std::uint32_t specials[] = {0x7FC01234u, 0xFFC0ABCDu, 0x7F800001u, 0xFF812345u, 0x7F800000u,
                                      0xFF800000u, 0x80000000u, 0x00000001u, 0x807FFFFFu, 0x3F808000u,
                                      0x3F818000u, 0xBF808000u, 0xBF818000u, 0x3F808001u, 0x7F7FFFFFu};
    for (std::size_t i = 0; i < std::size(specials); ++i)
        src[static_cast<std::size_t>(src_offset) + i] = std::bit_cast<float>(specials[i]);
    constexpr std::uint16_t kUntouched = 0xBEEF;
    std::vector<std::uint16_t> expected(static_cast<std::size_t>(dst_offset + rows * dst_stride), kUntouched);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t i = 0; i < n; ++i)
            expected[static_cast<std::size_t>(dst_offset + r * dst_stride + i)] =
                cpu::f32_to_bf16(src[static_cast<std::size_t>(src_offset + r * src_stride + i)]);
    vulkan::Buffer dsrc = to_device(context, src);
    vulkan::Buffer ddst = to_device(context, std::vector<std::uint16_t>(expected.size(), kUntouched));
    if (!run_timed(context, "store_bf16 (3 x 38, strided)", [&](vulkan::Stream& s) {
            return vulkan::store_bf16(s, {dsrc.span(), src_offset, src_stride},
                                      {ddst.span(), dst_offset, dst_stride}, rows, n);
        }))
        return;
    const auto actual = from_device<std::uint16_t>(context, ddst, expected.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) differ += actual[i] != expected[i];
    CHECK(differ == 0);
    std::printf("  %-40s %zu of %zu bf16 values differ in any bit\n", "store_bf16", differ, expected.size());

    // A row must fill whole words: odd dst offsets, strides (of several rows) and lengths are refused.
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return;
    const auto refused = [&](std::int64_t offset, std::int64_t stride, std::int64_t count,
                             std::int64_t length) {
        const auto result =
            vulkan::store_bf16(*stream, {dsrc.span(), 0, 40}, {ddst.span(), offset, stride}, count, length);
        return !result && result.error().find("must be even") != std::string::npos;
    };
    CHECK(refused(1, 0, 1, 2));
    CHECK(refused(0, 3, 2, 2));
    CHECK(refused(0, 4, 2, 3));
    CHECK(vulkan::store_bf16(*stream, {dsrc.span(), 0, 0}, {ddst.span(), 2, 3}, 1, 4)
              .ok()); // one row: any stride
    const auto past_end = vulkan::store_bf16(
        *stream, {dsrc.span(), 0, 0}, {ddst.span(), static_cast<std::int64_t>(expected.size()), 0}, 1, 2);
    CHECK(!past_end && past_end.error().find("dst holds") != std::string::npos);
}

void swiglu_parity(vulkan::Context& context, std::mt19937& rng) {
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
            vulkan::Buffer dg = to_device(context, gate), du = to_device(context, up),
                           ds = to_device(context, scale);
            const std::string name = std::string("swiglu") +
                                     (std::isinf(limit) ? " unclamped" : " limit 10") +
                                     (scaled ? " scaled" : "") + " (4x3000)";
            // In place on the gate, as the graph does.
            if (!run_timed(context, name, [&](vulkan::Stream& s) {
                    return vulkan::swiglu(s, dg.span(), du.span(),
                                          scaled ? std::optional(ds.span()) : std::nullopt, dg.span(), rows,
                                          n, limit);
                }))
                continue;
            auto actual = from_device<float>(context, dg, gate.size());
            CHECK(std::isnan(actual[17]) && std::isnan(expected[17]) && std::isnan(actual[n + 3]) &&
                  std::isnan(expected[n + 3]));
            actual[17] = expected[17] = actual[n + 3] = expected[n + 3] = 0.0f;
            // fp32 exp and division where the CPU takes silu in double: a few ulp of the result.
            expect_within(name, actual, expected, bound(expected, 1e-12, 2e-6));
        }
    }
}

void sqrt_softplus_parity(vulkan::Context& context, std::mt19937& rng) {
    auto logits = random_floats(4096, rng, 12.0f);
    const float specials[] = {20.0f, -20.0f, 20.000002f, 0.0f, -0.0f, -88.0f, -104.0f, 60.0f, 1e-30f};
    std::copy(std::begin(specials), std::end(specials), logits.begin());
    std::vector<float> expected(logits.size());
    cpu::sqrt_softplus(logits.data(), expected.data(), static_cast<std::int64_t>(logits.size()));
    vulkan::Buffer dl = to_device(context, logits);
    if (!run_timed(context, "sqrt_softplus (4096)", [&](vulkan::Stream& s) {
            return vulkan::sqrt_softplus(s, dl.span(), dl.span(), static_cast<std::int64_t>(logits.size()));
        }))
        return;
    // fp32 exp and a log1p series: a few ulp relative; below e^-87 the device may flush e^v to zero, so
    // allow an absolute 1e-19 (the score of v = -87).
    expect_within("sqrt_softplus", from_device<float>(context, dl, logits.size()), expected,
                  bound(expected, 1e-19, 2e-6));
}

void top_k_parity(vulkan::Context& context, std::mt19937& rng) {
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
        vulkan::Buffer dv = to_device(context, values);
        vulkan::Buffer di = device_zeros<std::uint32_t>(context, expected.size());
        const std::string name = std::string("top_k ") + c.what;
        if (!run_timed(context, name, [&](vulkan::Stream& s) {
                return vulkan::top_k(s, dv.span(), c.rows, c.n, c.k, c.order, di.span());
            }))
            continue;
        const auto actual = from_device<std::uint32_t>(context, di, expected.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < expected.size(); ++i)
            differ += actual[i] != static_cast<std::uint32_t>(expected[i]);
        // The same order and tie rule: the same indices, in the same places.
        CHECK(differ == 0);
        if (differ)
            std::fprintf(stderr, "  %s: %zu of %zu indices differ\n", name.c_str(), differ, expected.size());
    }
}

void moe_route_parity(vulkan::Context& context, std::mt19937& rng) {
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
        vulkan::Buffer ds = to_device(context, scores), db = to_device(context, bias);
        vulkan::Buffer dc = device_zeros<std::uint32_t>(context, chosen.size());
        vulkan::Buffer dw = device_zeros<float>(context, chosen.size());
        const std::string name = std::string("moe_route 37x256, 8 active") + (with_bias ? ", bias" : "");
        if (!run_timed(context, name, [&](vulkan::Stream& s) {
                return vulkan::moe_route(s, ds.span(), with_bias ? std::optional(db.span()) : std::nullopt,
                                         rows, experts, active, route_scale, dc.span(), dw.span());
            }))
            continue;
        const auto actual = from_device<std::uint32_t>(context, dc, chosen.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < chosen.size(); ++i)
            differ += actual[i] != static_cast<std::uint32_t>(chosen[i]);
        CHECK(differ == 0); // the same keys (fp32 adds) and order: the same experts
        // fp32 sum in the same order; the division may differ by an ulp on real GPUs (exact on lavapipe).
        expect_within(name, from_device<float>(context, dw, chosen.size()), weights, bound(weights, 0, 4e-7));
    }
    // Hash layers: the choices come from a table; only the weights are computed.
    std::vector<std::int64_t> given(static_cast<std::size_t>(rows * active));
    std::uniform_int_distribution<std::int64_t> expert(0, experts - 1);
    for (std::int64_t& e : given) e = expert(rng);
    std::vector<std::uint32_t> given32(given.begin(), given.end());
    std::vector<float> weights(given.size());
    scores[4 * experts + 17] = 1.0f; // the table may name any expert
    cpu::moe_route_weights(scores.data(), given.data(), rows, experts, active, route_scale, weights.data());
    vulkan::Buffer ds = to_device(context, scores), dc = to_device(context, given32);
    vulkan::Buffer dw = device_zeros<float>(context, given.size());
    if (!run_timed(context, "moe_route_weights (hash layer)", [&](vulkan::Stream& s) {
            return vulkan::moe_route_weights(s, ds.span(), dc.span(), rows, experts, active, route_scale,
                                             dw.span());
        }))
        return;
    expect_within("moe_route_weights", from_device<float>(context, dw, given.size()), weights,
                  bound(weights, 0, 4e-7));
}

void moe_group_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const auto& [rows, experts, active] :
         {std::tuple<std::int64_t, std::int64_t, std::int64_t>{37, 256, 8}, {300, 64, 6}, {1, 256, 6}}) {
        // Choices as routing makes them: `active` distinct experts per row.
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
        vulkan::Buffer dc = to_device(context, chosen32);
        vulkan::Buffer doff = device_zeros<std::uint32_t>(context, offsets.size()),
                       dt = device_zeros<std::uint32_t>(context, tokens.size()),
                       ds = device_zeros<std::uint32_t>(context, slots.size());
        const std::string name = "moe_group " + std::to_string(rows) + " rows, " + std::to_string(experts) +
                                 " experts, " + std::to_string(active) + " active";
        if (!run_timed(context, name, [&](vulkan::Stream& s) {
                return vulkan::moe_group(s, dc.span(), rows, active, experts, doff.span(), dt.span(),
                                         ds.span());
            }))
            continue;
        // Counting and listing in row order: the same groups, entry for entry.
        const auto same = [](const std::vector<std::uint32_t>& device,
                             const std::vector<std::int64_t>& host) {
            return std::equal(
                device.begin(), device.end(), host.begin(),
                [](std::uint32_t a, std::int64_t b) { return static_cast<std::int64_t>(a) == b; });
        };
        CHECK(same(from_device<std::uint32_t>(context, doff, offsets.size()), offsets));
        CHECK(same(from_device<std::uint32_t>(context, dt, tokens.size()), tokens));
        CHECK(same(from_device<std::uint32_t>(context, ds, slots.size()), slots));
    }
}

void dispatch_rows_parity(vulkan::Context& context, std::mt19937& rng) {
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
    vulkan::Buffer dx = to_device(context, x), dy = to_device(context, y), dr = to_device(context, rows32);
    vulkan::Buffer dg = device_zeros<float>(context, gathered.size());
    // Copies and one fp32 add per value: exact.
    if (run_timed(context, "gather_rows (13 of 40 x 700)", [&](vulkan::Stream& s) {
            return vulkan::gather_rows(s, dx.span(), tokens, dr.span(), count, dim, dg.span());
        }))
        expect_within("gather_rows", from_device<float>(context, dg, gathered.size()), gathered,
                      bound(gathered, 0, 0));
    if (run_timed(context, "scatter_add_rows (13 into 40 x 700)", [&](vulkan::Stream& s) {
            return vulkan::scatter_add_rows(s, dy.span(), dr.span(), count, dim, dx.span(), tokens);
        }))
        expect_within("scatter_add_rows", from_device<float>(context, dx, x.size()), accumulated,
                      bound(accumulated, 0, 0));
    // An index past the source is not followed: its gathered row is NaN, the others are intact.
    const std::vector<std::uint32_t> bad{3, static_cast<std::uint32_t>(tokens)};
    vulkan::Buffer dbad = to_device(context, bad),
                   dtwo = device_zeros<float>(context, static_cast<std::size_t>(2 * dim));
    if (run_timed(context, "gather_rows, an index out of range", [&](vulkan::Stream& s) {
            return vulkan::gather_rows(s, dy.span(), count, dbad.span(), 2, dim, dtwo.span());
        })) {
        const auto two = from_device<float>(context, dtwo, static_cast<std::size_t>(2 * dim));
        CHECK(two[0] == y[static_cast<std::size_t>(3 * dim)] &&
              std::isnan(two[static_cast<std::size_t>(dim)]));
    }
}

void compressor_pool_parity(vulkan::Context& context, std::mt19937& rng) {
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
        vulkan::Buffer dk = to_device(context, kv), ds = to_device(context, score);
        vulkan::Buffer out = device_zeros<float>(context, expected.size());
        const std::string name =
            overlap ? "compressor_pool CSA (ratio 4, 3x128)" : "compressor_pool HCA (ratio 128, 3x512)";
        if (!run_timed(context, name, [&](vulkan::Stream& s) {
                return vulkan::compressor_pool(s, dk.span(), ds.span(), count, ratio, width, overlap,
                                               out.span());
            }))
            continue;
        // fp32 exp and sums over at most 128 candidates of |kv| ~ 1: well under 1e-5.
        expect_within(name, from_device<float>(context, out, expected.size()), expected,
                      bound(expected, 1e-5, 1e-5));
    }
}

// With `keys_storage` BF16 the keys are rounded to bf16 first, checked against the same reference and bit
// for bit against the F32 path on the widened keys.
void indexer_scores_parity(vulkan::Context& context, std::mt19937& rng, std::int64_t rows, std::int64_t heads,
                           std::int64_t count, std::int64_t dim, vulkan::Storage keys_storage) {
    const bool bf16 = keys_storage == vulkan::Storage::BF16;
    const auto queries = random_floats(static_cast<std::size_t>(rows * heads * dim), rng);
    const auto weights = random_floats(static_cast<std::size_t>(rows * heads), rng, 0.1f);
    auto keys = random_floats(static_cast<std::size_t>(count * dim), rng);
    if (bf16)
        for (float& key : keys) key = cpu::round_bf16(key);
    std::vector<float> expected(static_cast<std::size_t>(rows * count));
    std::vector<double> tolerance(expected.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        cpu::indexer_scores(queries.data() + r * heads * dim, weights.data() + r * heads, keys.data(), heads,
                            count, dim, expected.data() + r * count);
        // fp32 dots of 128 products in another order than the double ones: bounded by a few ulp of the sum
        // of |products|, times each head's |weight|; the head sum adds a few ulp of the result.
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
    vulkan::Buffer dq = to_device(context, queries), dw = to_device(context, weights),
                   dk = bf16 ? to_device_bf16(context, keys) : to_device(context, keys);
    vulkan::Buffer out = device_zeros<float>(context, expected.size());
    const std::string name = "indexer_scores (" + std::to_string(rows) + " queries x " +
                             std::to_string(heads) + " heads, " + std::to_string(count) +
                             (bf16 ? " bf16" : "") + " keys of " + std::to_string(dim) + ")";
    if (!run_timed(context, name, [&](vulkan::Stream& s) {
            return vulkan::indexer_scores(s, dq.span(), dw.span(), dk.span(), rows, heads, count, dim,
                                          out.span(), keys_storage);
        }))
        return;
    const std::vector<float> actual = from_device<float>(context, out, expected.size());
    expect_within(name, actual, expected, tolerance);
    if (!bf16) return;
    vulkan::Buffer dk_f32 = to_device(context, keys), out_f32 = device_zeros<float>(context, expected.size());
    if (!run_timed(context, name + " fp32", [&](vulkan::Stream& s) {
            return vulkan::indexer_scores(s, dq.span(), dw.span(), dk_f32.span(), rows, heads, count, dim,
                                          out_f32.span());
        }))
        return;
    const std::vector<float> widened = from_device<float>(context, out_f32, expected.size());
    CHECK(std::memcmp(actual.data(), widened.data(), actual.size() * sizeof(float)) == 0);
}

void hc_mix_parity(vulkan::Context& context, std::mt19937& rng) {
    const std::int64_t rows = 5, hc = 4, dim = 1000;
    const auto streams = random_floats(static_cast<std::size_t>(rows * hc * dim), rng);
    const auto y = random_floats(static_cast<std::size_t>(rows * dim), rng);
    const auto pre = random_floats(static_cast<std::size_t>(rows * hc), rng);
    const auto post = random_floats(static_cast<std::size_t>(rows * hc), rng);
    const auto comb = random_floats(static_cast<std::size_t>(rows * hc * hc), rng);
    std::vector<float> expected_u(static_cast<std::size_t>(rows * dim)), expected_out(streams.size());
    std::vector<double> tolerance_u(expected_u.size()), tolerance_out(expected_out.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* s = streams.data() + r * hc * dim;
        cpu::hc_pre_mix(pre.data() + r * hc, s, hc, dim, expected_u.data() + r * dim);
        cpu::hc_post_mix(post.data() + r * hc, comb.data() + r * hc * hc, y.data() + r * dim, s, hc, dim,
                         expected_out.data() + r * hc * dim);
        // fp32 sums of hc + 1 products: a few ulp of the sum of |products|.
        for (std::int64_t i = 0; i < dim; ++i) {
            double m = 0;
            for (std::int64_t j = 0; j < hc; ++j)
                m += std::fabs(pre[static_cast<std::size_t>(r * hc + j)] * s[j * dim + i]);
            tolerance_u[static_cast<std::size_t>(r * dim + i)] = 4e-7 * m;
            for (std::int64_t k = 0; k < hc; ++k) {
                double mk = std::fabs(post[static_cast<std::size_t>(r * hc + k)] *
                                      y[static_cast<std::size_t>(r * dim + i)]);
                for (std::int64_t j = 0; j < hc; ++j)
                    mk += std::fabs(comb[static_cast<std::size_t>((r * hc + j) * hc + k)] * s[j * dim + i]);
                tolerance_out[static_cast<std::size_t>((r * hc + k) * dim + i)] = 4e-7 * mk;
            }
        }
    }
    vulkan::Buffer ds = to_device(context, streams), dy = to_device(context, y),
                   dpre = to_device(context, pre), dpost = to_device(context, post),
                   dcomb = to_device(context, comb);
    vulkan::Buffer du = device_zeros<float>(context, expected_u.size());
    vulkan::Buffer dout = device_zeros<float>(context, expected_out.size());
    if (run_timed(context, "hc_pre_mix (5 tokens x 4 streams x 1000)", [&](vulkan::Stream& s) {
            return vulkan::hc_pre_mix(s, dpre.span(), ds.span(), rows, hc, dim, du.span());
        }))
        expect_within("hc_pre_mix", from_device<float>(context, du, expected_u.size()), expected_u,
                      tolerance_u);
    if (run_timed(context, "hc_post_mix (5 tokens x 4 streams x 1000)", [&](vulkan::Stream& s) {
            return vulkan::hc_post_mix(s, dpost.span(), dcomb.span(), dy.span(), ds.span(), rows, hc, dim,
                                       dout.span());
        }))
        expect_within("hc_post_mix", from_device<float>(context, dout, expected_out.size()), expected_out,
                      tolerance_out);
}

void hc_coefficients_parity(vulkan::Context& context, std::mt19937& rng) {
    const std::int64_t rows = 6, hc = 4, dim = 1024, count = (2 + hc) * hc;
    const float norm_eps = 1e-6f, hc_eps = 1e-6f;
    const auto streams = random_floats(static_cast<std::size_t>(rows * hc * dim), rng);
    const auto projections = random_floats(static_cast<std::size_t>(rows * count), rng, 3.0f);
    const auto base = random_floats(static_cast<std::size_t>(count), rng);
    const std::vector<float> scale{0.8f, -1.1f, 0.5f};
    for (const bool layer : {true, false}) {
        const std::int64_t per_token = layer ? count : hc;
        std::vector<float> head_projections;
        for (std::int64_t r = 0; r < rows; ++r)
            head_projections.insert(head_projections.end(), projections.begin() + r * count,
                                    projections.begin() + r * count + per_token);
        const std::vector<float>& used = layer ? projections : head_projections;
        std::vector<float> pre(static_cast<std::size_t>(rows * hc)), post(pre.size()),
            comb(static_cast<std::size_t>(rows * hc * hc));
        for (std::int64_t r = 0; r < rows; ++r)
            cpu::hc_coefficients(used.data() + r * per_token, streams.data() + r * hc * dim, hc, dim,
                                 norm_eps, scale.data(), base.data(), hc_eps, pre.data() + r * hc,
                                 layer ? post.data() + r * hc : nullptr,
                                 layer ? comb.data() + r * hc * hc : nullptr);
        vulkan::Buffer dp = to_device(context, used), ds = to_device(context, streams),
                       dscale = to_device(context, scale), dbase = to_device(context, base);
        vulkan::Buffer dpre = device_zeros<float>(context, pre.size()),
                       dpost = device_zeros<float>(context, post.size()),
                       dcomb = device_zeros<float>(context, comb.size());
        const std::string name =
            layer ? "hc_coefficients layer (6 x 4 x 1024)" : "hc_coefficients head (6 x 4 x 1024)";
        if (!run_timed(context, name, [&](vulkan::Stream& s) {
                return vulkan::hc_coefficients(s, dp.span(), ds.span(), rows, hc, dim, norm_eps,
                                               dscale.span(), dbase.span(), hc_eps, dpre.span(),
                                               layer ? std::optional(dpost.span()) : std::nullopt,
                                               layer ? std::optional(dcomb.span()) : std::nullopt);
            }))
            continue;
        // The mean square summed in fp32 (relative error ~1e-6, halved by the square root), then fp32
        // exp: sigmoids within 2e-6, comb within 2e-6 of its size.
        expect_within(name + " pre", from_device<float>(context, dpre, pre.size()), pre, bound(pre, 2e-6, 0));
        if (!layer) continue;
        expect_within(name + " post", from_device<float>(context, dpost, post.size()), post,
                      bound(post, 4e-6, 0));
        expect_within(name + " comb", from_device<float>(context, dcomb, comb.size()), comb,
                      bound(comb, 2e-6, 2e-6));
    }
}

void errors(vulkan::Context& context) {
    vulkan::Buffer small = device_zeros<float>(context, 8);
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return;
    const auto too_many =
        vulkan::top_k(*stream, small.span(), 1, 8, 9, cpu::TopKOrder::ByValue, small.span());
    CHECK(!too_many && too_many.error().find("more than the 8 values") != std::string::npos);
    const auto short_buffer =
        vulkan::swiglu(*stream, small.span(), small.span(), std::nullopt, small.span(), 2, 8, 10);
    CHECK(!short_buffer &&
          short_buffer.error().find("gate holds 32 bytes but needs 64") != std::string::npos);
    const auto empty = vulkan::hc_pre_mix(*stream, small.span(), small.span(), 0, 4, 2, small.span());
    CHECK(!empty);
    const auto past_end = vulkan::copy_rows(*stream, {small.span(), 4, 0}, {small.span(), 0, 0}, 1, 5);
    CHECK(!past_end && past_end.error().find("src holds 32 bytes but needs 36") != std::string::npos);
}

void all_ops(vulkan::Context& context, std::mt19937& rng) {
    round_to_bf16_parity(context, rng);
    qat_parity(context, rng);
    scale_parity(context, rng);
    copy_rows_parity(context, rng);
    store_bf16_parity(context, rng);
    swiglu_parity(context, rng);
    sqrt_softplus_parity(context, rng);
    top_k_parity(context, rng);
    moe_route_parity(context, rng);
    moe_group_parity(context, rng);
    dispatch_rows_parity(context, rng);
    compressor_pool_parity(context, rng);
    for (const vulkan::Storage keys : {vulkan::Storage::F32, vulkan::Storage::BF16}) {
        indexer_scores_parity(context, rng, 3, 16, 700, 128, keys);
        indexer_scores_parity(context, rng, 2, 21, 130, 100, keys); // partial head and dim tiles
    }
    indexer_scores_parity(context, rng, 1, 3, 5, 7, vulkan::Storage::BF16); // odd keys: a padded last word
    hc_mix_parity(context, rng);
    hc_coefficients_parity(context, rng);
    errors(context);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_graph_ops", {});
    std::printf("device: %s (%s)\n", context->device().name.c_str(), context->device().type.c_str());
    std::mt19937 rng(4321);
    std::printf("shader variants for this device:\n");
    all_ops(*context, rng);
    context.reset();

    vulkan::ContextOptions fallback;
    fallback.force_fallback = true;
    auto portable = lectern::test::open_context_or_skip("vulkan_graph_ops", fallback);
    std::printf("portable fallback variants:\n");
    all_ops(*portable, rng);
    return lectern::test::finish("vulkan_graph_ops");
}
