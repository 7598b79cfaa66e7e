// The batched sparse sink attention (kernels/vulkan/attention_ops.h) against a plain loop that builds each
// row's candidate list as inference/model/v4/graph.cpp does and calls cpu::sink_attention per (row, head),
// once on the device's own variants and once with the portable fallback forced. Cases: the window ring
// wrapping inside the chunk, chunks longer than the window, first = 0, selected and prefix entries, rows
// with no entries, counts past k / the capacity (clamped), selected indices past the capacity (skipped), a
// layer without entries; heads 4 and 64, dim 128 and 512. Each case runs again with a bf16 ring and bf16
// entries (Storage::BF16, values rounded to bf16 first), against the same reference and bit for bit against
// the fp32 path on the widened values. Prints each call's device time.

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"
#include "kernels/vulkan/attention_ops.h"
#include "kernels/vulkan/ops.h"
#include "tests/vulkan/device_buffers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace lectern::kernels;
using lectern::test::device_zeros;
using lectern::test::from_device;
using lectern::test::random_floats;
using lectern::test::to_device;
using lectern::test::to_device_bf16;

namespace {

struct Case {
    const char* name;
    std::int64_t rows, heads, dim, window, first, capacity;
    bool selected;
    std::int64_t k;
    bool some_past_capacity = false; // selected indices >= capacity, counts > k or > capacity
};

struct Inputs {
    std::vector<float> queries, ring, fresh, entries, sinks;
    std::vector<std::uint32_t> selected, counts;
};

Inputs make_inputs(const Case& c, std::mt19937& rng) {
    Inputs in;
    in.queries = random_floats(static_cast<std::size_t>(c.rows * c.heads * c.dim), rng, 1.5f);
    in.ring = random_floats(static_cast<std::size_t>(c.window * c.dim), rng);
    in.fresh = random_floats(static_cast<std::size_t>(c.rows * c.dim), rng);
    in.entries = random_floats(static_cast<std::size_t>(std::max<std::int64_t>(c.capacity, 1) * c.dim), rng);
    in.sinks = random_floats(static_cast<std::size_t>(c.heads), rng);
    const std::int64_t most = c.selected ? c.k : c.capacity;
    std::uniform_int_distribution<std::int64_t> count(0, most + (c.some_past_capacity ? 3 : 0));
    for (std::int64_t r = 0; r < c.rows; ++r)
        in.counts.push_back(static_cast<std::uint32_t>(r % 5 == 1 ? 0 : count(rng))); // some rows: none
    if (c.selected) {
        std::uniform_int_distribution<std::int64_t> index(0, c.capacity - 1 + (c.some_past_capacity ? 4 : 0));
        for (std::int64_t i = 0; i < c.rows * c.k; ++i)
            in.selected.push_back(static_cast<std::uint32_t>(index(rng)));
    }
    return in;
}

// Row r's candidates, [count, dim], in the op's order.
std::vector<float> candidates(const Case& c, const Inputs& in, std::int64_t r) {
    std::vector<float> list;
    const auto append = [&](const std::vector<float>& from, std::int64_t row) {
        list.insert(list.end(), from.begin() + row * c.dim, from.begin() + (row + 1) * c.dim);
    };
    const std::int64_t position = c.first + r;
    for (std::int64_t q = std::max<std::int64_t>(0, position - c.window + 1); q <= position; ++q)
        if (q < c.first)
            append(in.ring, q % c.window);
        else
            append(in.fresh, q - c.first);
    const std::int64_t count =
        std::min<std::int64_t>(in.counts[static_cast<std::size_t>(r)], c.selected ? c.k : c.capacity);
    for (std::int64_t i = 0; i < count; ++i) {
        const std::int64_t entry = c.selected ? in.selected[static_cast<std::size_t>(r * c.k + i)] : i;
        if (entry < c.capacity) append(in.entries, entry);
    }
    return list;
}

struct Worst {
    double abs = 0, share = 0;
};

// Runs one case on the device and checks every output against cpu::sink_attention over the row's list.
// Tolerance per output value i of (row, head), from double logits l_e and probabilities p_e:
//   1e-6 + 2 * max_e(p_e |v_e[i]|) / 128 + count * 2^-24 * sum_e p_e |v_e[i]|.
// The fp32 logits (another summation order, fp32 exp) differ from the CPU's in their last bits, so a
// probability can round to the neighbouring bf16 value, one bf16 ulp (at most p * 2^-7) away; two such flips
// on the largest p |v| are allowed (tests/vulkan/vulkan_parity_test.cpp allows two steps of p * 2^-8, which
// one flip just above a power of two can already reach). The last term is the worst case of the fp32
// weighted sum (n * unit roundoff of the sum of |terms|) where the CPU sums in double.
void check_case(vulkan::Context& context, const Case& c, std::mt19937& rng, Worst& worst,
                vulkan::Storage cache) {
    const bool bf16 = cache == vulkan::Storage::BF16;
    Inputs in = make_inputs(c, rng);
    if (bf16)
        for (std::vector<float>* values : {&in.ring, &in.entries})
            for (float& value : *values) value = cpu::round_bf16(value);
    auto dq = to_device(context, in.queries);
    auto dring = to_device(context, in.ring);
    auto dfresh = to_device(context, in.fresh);
    auto dentries = to_device(context, in.entries);
    auto dring_bf16 = to_device_bf16(context, in.ring);
    auto dentries_bf16 = to_device_bf16(context, in.entries);
    auto dsinks = to_device(context, in.sinks);
    auto dcounts = to_device(context, in.counts);
    std::optional<vulkan::Buffer> dselected;
    if (c.selected) dselected = to_device(context, in.selected);
    const std::uint64_t scratch_bytes = vulkan::sparse_attention_scratch_bytes(
        c.rows, c.heads, c.window, c.first, c.capacity, c.selected, c.k);
    auto scratch = device_zeros<float>(context, scratch_bytes / 4);
    const auto outputs = static_cast<std::size_t>(c.rows * c.heads * c.dim);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.dim)));

    // One call with the ring and entries in `storage`; its output, or nothing on failure; `ms` its time.
    const auto run = [&](vulkan::Storage storage, const vulkan::Buffer& ring, const vulkan::Buffer& entries,
                         double& ms) -> std::optional<std::vector<float>> {
        auto out = device_zeros<float>(context, outputs);
        auto stream = context.create_stream();
        if (!CHECK(stream.ok())) return std::nullopt;
        const auto before = stream->timestamp();
        const lectern::Result<void> recorded = vulkan::sparse_attention(
            *stream, dq.span(), c.rows, c.heads, c.dim, ring.span(), c.window, dfresh.span(), c.first,
            c.capacity > 0 ? entries.span() : ring.span(), c.capacity,
            dselected ? std::optional(dselected->span()) : std::nullopt, c.k, dcounts.span(), scale,
            dsinks.span(), scratch.span(), out.span(), storage);
        const auto after = stream->timestamp();
        if (!recorded) std::fprintf(stderr, "%s: %s\n", c.name, recorded.error().c_str());
        if (!CHECK(recorded.ok())) return std::nullopt;
        const lectern::Result<void> submitted = stream->submit();
        if (!submitted) std::fprintf(stderr, "%s: %s\n", c.name, submitted.error().c_str());
        if (!CHECK(submitted.ok())) return std::nullopt;
        ms = -1;
        if (before && after)
            if (const auto elapsed = stream->elapsed_ms(*before, *after)) ms = *elapsed;
        return from_device<float>(context, out, outputs);
    };
    double ms = -1;
    const auto result = bf16 ? run(cache, dring_bf16, dentries_bf16, ms) : run(cache, dring, dentries, ms);
    if (!result) return;
    const std::vector<float>& actual = *result;
    if (bf16) {
        double f32_ms = -1;
        const auto widened = run(vulkan::Storage::F32, dring, dentries, f32_ms);
        if (!widened) return;
        if (!CHECK(std::memcmp(actual.data(), widened->data(), outputs * sizeof(float)) == 0)) {
            std::fprintf(stderr, "  %s: bf16 caches differ from fp32 ones holding the same values\n", c.name);
            return;
        }
    }

    double case_abs = 0, case_share = 0;
    std::int64_t most_candidates = 0;
    std::vector<float> expected(static_cast<std::size_t>(c.dim));
    for (std::int64_t r = 0; r < c.rows; ++r) {
        const std::vector<float> list = candidates(c, in, r);
        const std::int64_t count = static_cast<std::int64_t>(list.size()) / c.dim;
        most_candidates = std::max(most_candidates, count);
        for (std::int64_t h = 0; h < c.heads; ++h) {
            const float* q = in.queries.data() + (r * c.heads + h) * c.dim;
            const float sink = in.sinks[static_cast<std::size_t>(h)];
            cpu::sink_attention(q, list.data(), count, c.dim, scale, sink, expected.data());
            std::vector<double> p(static_cast<std::size_t>(count));
            double top = sink;
            for (std::int64_t e = 0; e < count; ++e) {
                double dot = 0;
                for (std::int64_t i = 0; i < c.dim; ++i)
                    dot += static_cast<double>(q[i]) * list[static_cast<std::size_t>(e * c.dim + i)];
                p[static_cast<std::size_t>(e)] = dot * scale;
                top = std::max(top, dot * scale);
            }
            double denominator = std::exp(sink - top);
            for (double& value : p) denominator += (value = std::exp(value - top));
            for (double& value : p) value /= denominator;
            for (std::int64_t i = 0; i < c.dim; ++i) {
                double step = 0, total = 0;
                for (std::int64_t e = 0; e < count; ++e) {
                    const double term = p[static_cast<std::size_t>(e)] *
                                        std::fabs(list[static_cast<std::size_t>(e * c.dim + i)]);
                    step = std::max(step, term);
                    total += term;
                }
                const double tolerance =
                    1e-6 + 2.0 * step / 128.0 + static_cast<double>(count) * 0x1p-24 * total;
                const std::size_t at = static_cast<std::size_t>((r * c.heads + h) * c.dim + i);
                const double error =
                    std::fabs(static_cast<double>(actual[at]) - expected[static_cast<std::size_t>(i)]);
                case_abs = std::max(case_abs, error);
                case_share = std::max(case_share, error / tolerance);
                if (!CHECK_CLOSE(actual[at], expected[static_cast<std::size_t>(i)], tolerance)) {
                    std::fprintf(stderr, "  %s: row %lld head %lld dim %lld\n", c.name,
                                 static_cast<long long>(r), static_cast<long long>(h),
                                 static_cast<long long>(i));
                    return;
                }
            }
        }
    }
    worst.abs = std::max(worst.abs, case_abs);
    worst.share = std::max(worst.share, case_share);
    std::printf("  %-44s %8.3f ms on the device; up to %lld candidates; max abs error %.3g, %.2f of the "
                "tolerance%s\n",
                c.name, ms, static_cast<long long>(most_candidates), case_abs, case_share,
                bf16 ? " (bf16 caches, equal to fp32)" : "");
}

// For comparison: the per-token path this op replaces, one vulkan::sink_attention per row over its
// candidates prepared on the host (so without the per-token candidate copies the graph also records).
void time_per_token(vulkan::Context& context, const Case& c, std::mt19937& rng) {
    const Inputs in = make_inputs(c, rng);
    auto dq = to_device(context, in.queries);
    auto dsinks = to_device(context, in.sinks);
    std::vector<vulkan::Buffer> lists;
    std::vector<std::int64_t> counts;
    for (std::int64_t r = 0; r < c.rows; ++r) {
        lists.push_back(to_device(context, candidates(c, in, r)));
        counts.push_back(static_cast<std::int64_t>(lists.back().size() / 4) / c.dim);
    }
    auto scratch = device_zeros<float>(context, static_cast<std::size_t>(c.heads * (c.window + c.k)));
    auto out = device_zeros<float>(context, static_cast<std::size_t>(c.rows * c.heads * c.dim));
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return;
    const auto before = stream->timestamp();
    const auto row_bytes = static_cast<std::uint64_t>(c.heads * c.dim) * 4;
    for (std::int64_t r = 0; r < c.rows; ++r) {
        const vulkan::BufferSpan q = dq.span(static_cast<std::uint64_t>(r) * row_bytes, row_bytes);
        const vulkan::BufferSpan o = out.span(static_cast<std::uint64_t>(r) * row_bytes, row_bytes);
        if (!CHECK(vulkan::sink_attention(*stream, q, c.heads, lists[static_cast<std::size_t>(r)].span(),
                                          counts[static_cast<std::size_t>(r)], c.dim, 0.05f, dsinks.span(),
                                          scratch.span(), o)
                       .ok()))
            return;
    }
    const auto after = stream->timestamp();
    if (!CHECK(stream->submit().ok())) return;
    if (before && after)
        if (const auto ms = stream->elapsed_ms(*before, *after))
            std::printf("  %-44s %8.3f ms on the device (per-token sink_attention, for comparison)\n", c.name,
                        *ms);
}

// Size errors are reported, not dispatched.
void check_errors(vulkan::Context& context) {
    auto small = device_zeros<float>(context, 16);
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return;
    const vulkan::BufferSpan s = small.span();
    const auto call = [&](std::int64_t dim, std::int64_t window, std::optional<vulkan::BufferSpan> selected,
                          std::int64_t k, vulkan::Storage cache = vulkan::Storage::F32) {
        return vulkan::sparse_attention(*stream, s, 1, 1, dim, s, window, s, 0, s, 0, selected, k, s, 1.0f, s,
                                        s, s, cache);
    };
    CHECK(call(4, 2, std::nullopt, 0).ok()); // 16 floats suffice for every binding here
    const auto fails_with = [](const lectern::Result<void>& result, const std::string& part) {
        if (result) return false;
        if (result.error().find(part) == std::string::npos) {
            std::fprintf(stderr, "unexpected error: %s\n", result.error().c_str());
            return false;
        }
        return true;
    };
    CHECK(fails_with(call(4096, 2, std::nullopt, 0), "2048"));
    CHECK(fails_with(call(4, 0, std::nullopt, 0), "positive"));
    CHECK(fails_with(call(4, 2, s, 0), "k must be positive"));
    CHECK(fails_with(call(16, 2, std::nullopt, 0), "ring holds 64 bytes but needs 128"));
    CHECK(call(16, 2, std::nullopt, 0, vulkan::Storage::BF16).ok()); // a bf16 ring takes half the bytes
    CHECK(
        fails_with(call(16, 4, std::nullopt, 0, vulkan::Storage::BF16), "ring holds 64 bytes but needs 128"));
    CHECK(fails_with(call(4, 2, s, 20), "selected holds 64 bytes but needs 80"));
}

void all_cases(vulkan::Context& context, std::mt19937& rng) {
    const Case cases[] = {
        // name                                    rows heads dim window first capacity selected k
        {"wrap, rows > window, selected", 24, 4, 128, 16, 40, 20, true, 8, true},
        {"first 0, rows > window, prefix", 20, 4, 128, 8, 0, 12, false, 0, true},
        {"first 0, one row, prefix", 1, 4, 128, 8, 0, 4, false, 0},
        {"first < window, prefix, heads 64", 6, 64, 128, 16, 5, 30, false, 0},
        {"no entries (capacity 0)", 12, 4, 128, 8, 3, 0, false, 0},
        {"decode, dim 512, selected", 1, 4, 512, 128, 300, 90, true, 64, true},
        {"V4-like: heads 64, dim 512, window 128", 8, 64, 512, 128, 250, 70, true, 32},
        {"heads 64, dim 512, wrap, prefix", 6, 64, 512, 16, 29, 10, false, 0, true},
    };
    Worst worst;
    for (const vulkan::Storage cache : {vulkan::Storage::F32, vulkan::Storage::BF16})
        for (const Case& c : cases) check_case(context, c, rng, worst, cache);
    time_per_token(context, cases[6], rng);
    check_errors(context);
    std::printf("  all cases: max abs error %.3g, %.2f of the tolerance\n", worst.abs, worst.share);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_attention_ops", {});
    std::printf("device: %s (%s); subgroup arithmetic %d\n", context->device().name.c_str(),
                context->device().type.c_str(), context->features().subgroup_arithmetic);
    std::mt19937 rng(2468);
    std::printf("shader variants for this device:\n");
    all_cases(*context, rng);
    context.reset();

    vulkan::ContextOptions fallback;
    fallback.force_fallback = true;
    auto portable = lectern::test::open_context_or_skip("vulkan_attention_ops", fallback);
    std::printf("portable fallback variants:\n");
    all_cases(*portable, rng);
    return lectern::test::finish("vulkan_attention_ops");
}
