// The batched sparse sink attention (kernels/cuda/attention_ops.h) against a plain loop that builds each
// row's candidate list as inference/model/v4/graph.cpp does and calls cpu::sink_attention per (row, head),
// with the cases and the tolerance of tests/vulkan/vulkan_attention_ops_test.cpp: the window ring wrapping
// inside the chunk, chunks longer than the window, first = 0, selected and prefix entries, rows with no
// entries, counts past k / the capacity (clamped), selected indices past the capacity (skipped), a layer
// without entries (entries null); heads 4 and 64, dim 128 and 512. Each case runs again with a bf16 ring and
// bf16 entries (values rounded to bf16 first), against the same reference and bit for bit against the fp32
// path on the widened values. The output and the scratch start poisoned (NaN), so an output never written,
// or a logit read that was never written, fails. Without a device the test exits 77 (skipped).

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"
#include "kernels/cuda/attention_ops.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/cuda_buffers.h"
#include "tests/kernels/random_inputs.h"

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
using lectern::test::from_device;
using lectern::test::poisoned;
using lectern::test::random_floats;
using lectern::test::to_device;

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

std::vector<std::uint16_t> bf16_bits(const std::vector<float>& values) {
    std::vector<std::uint16_t> bits(values.size());
    std::transform(values.begin(), values.end(), bits.begin(), cpu::f32_to_bf16);
    return bits;
}

struct Worst {
    double abs = 0, share = 0;
};

// Runs one case on the device and checks every output against cpu::sink_attention over the row's list.
// Tolerance per output value i of (row, head), from double logits l_e and probabilities p_e (the Vulkan
// test's):
//   1e-6 + 2 * max_e(p_e |v_e[i]|) / 128 + count * 2^-24 * sum_e p_e |v_e[i]|.
// The fp32 logits (another summation order, fp32 fma) differ from the CPU's double ones in their last bits,
// so a probability can round to the neighbouring bf16 value, one bf16 ulp (at most p * 2^-7) away; two such
// flips on the largest p |v| are allowed. The last term is the worst case of the fp32 weighted sum (n * unit
// roundoff of the sum of |terms|) where the CPU sums in double. The softmax itself is the CPU's, in double.
void check_case(const Case& c, std::mt19937& rng, Worst& worst, bool bf16) {
    Inputs in = make_inputs(c, rng);
    if (bf16)
        for (std::vector<float>* values : {&in.ring, &in.entries})
            for (float& value : *values) value = cpu::round_bf16(value);
    auto dq = to_device(in.queries);
    auto dring = to_device(in.ring);
    auto dfresh = to_device(in.fresh);
    auto dentries = to_device(in.entries);
    auto dring_bf16 = to_device(bf16_bits(in.ring));
    auto dentries_bf16 = to_device(bf16_bits(in.entries));
    auto dsinks = to_device(in.sinks);
    auto dcounts = to_device(in.counts);
    std::optional<cuda::DeviceBuffer> dselected;
    if (c.selected) dselected = to_device(in.selected);
    const std::uint64_t scratch_bytes =
        cuda::sparse_attention_scratch_bytes(c.rows, c.heads, c.window, c.first, c.capacity, c.selected, c.k);
    const auto outputs = static_cast<std::size_t>(c.rows * c.heads * c.dim);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.dim)));

    // One call with the ring and entries as fp32 or bf16; its output, or nothing on failure. A layer
    // without entries passes none.
    const auto run = [&](bool bf16_cache, const cuda::DeviceBuffer& ring,
                         const cuda::DeviceBuffer& entries) -> std::optional<std::vector<float>> {
        auto scratch = poisoned(scratch_bytes / sizeof(float));
        auto out = poisoned(outputs);
        const lectern::Result<void> done = cuda::sparse_attention(
            dq.as<float>(), c.rows, c.heads, c.dim, ring.data(), c.window, dfresh.as<float>(), c.first,
            c.capacity > 0 ? entries.data() : nullptr, c.capacity,
            dselected ? dselected->as<std::uint32_t>() : nullptr, c.k, dcounts.as<std::uint32_t>(), scale,
            dsinks.as<float>(), scratch.as<float>(), out.as<float>(), bf16_cache);
        if (!done) std::fprintf(stderr, "%s: %s\n", c.name, done.error().c_str());
        if (!CHECK(done.ok())) return std::nullopt;
        return from_device<float>(out, outputs);
    };
    const auto result = bf16 ? run(true, dring_bf16, dentries_bf16) : run(false, dring, dentries);
    if (!result) return;
    const std::vector<float>& actual = *result;
    if (bf16) {
        const auto widened = run(false, dring, dentries);
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
    std::printf("  %-44s up to %lld candidates; max abs error %.3g, %.2f of the tolerance%s\n", c.name,
                static_cast<long long>(most_candidates), case_abs, case_share,
                bf16 ? " (bf16 caches, equal to fp32)" : "");
}

bool fails_with(const lectern::Result<void>& result, const std::string& part) {
    if (result) return false;
    if (result.error().find(part) == std::string::npos || result.error().find("sparse_attention") != 0) {
        std::fprintf(stderr, "unexpected error: %s\n", result.error().c_str());
        return false;
    }
    return true;
}

// Shape errors are reported before any launch, naming the op. (The Vulkan test's buffer-size checks have
// no counterpart: raw device pointers carry no size.)
void check_errors() {
    auto index = to_device(std::vector<std::uint32_t>{0});
    const std::uint32_t* some = index.as<std::uint32_t>();
    const auto call = [&](std::int64_t rows, std::int64_t heads, std::int64_t dim, std::int64_t window,
                          std::int64_t first, const std::uint32_t* selected, std::int64_t k) {
        return cuda::sparse_attention(nullptr, rows, heads, dim, nullptr, window, nullptr, first, nullptr, 0,
                                      selected, k, nullptr, 1.0f, nullptr, nullptr, nullptr);
    };
    CHECK(fails_with(call(1, 1, 4096, 2, 0, nullptr, 0), "2048"));
    CHECK(fails_with(call(1, 1, 4, 0, 0, nullptr, 0), "positive"));
    CHECK(fails_with(call(0, 1, 4, 2, 0, nullptr, 0), "positive"));
    CHECK(fails_with(call(1, 1, 4, 2, 0, some, 0), "k must be positive"));
    CHECK(fails_with(call(1, 1, 4, 2, -1, nullptr, 0), "must not be negative"));
    CHECK(fails_with(call(1, 70000, 4, 2, 0, nullptr, 0), "65535"));
    CHECK(fails_with(call(70000, 1, 4, 2, 0, nullptr, 0), "65535"));
}

} // namespace

int main() {
    if (const auto available = cuda::device_available(); !available.ok()) {
        std::printf("kernels_cuda_attention_ops: skipped: %s\n", available.error().c_str());
        return 77;
    }
    std::mt19937 rng(2468);
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
    for (const bool bf16 : {false, true})
        for (const Case& c : cases) check_case(c, rng, worst, bf16);
    check_errors();
    std::printf("  all cases: max abs error %.3g, %.2f of the tolerance\n", worst.abs, worst.share);
    return lectern::test::finish("kernels_cuda_attention_ops");
}
