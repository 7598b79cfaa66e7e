// The batched compressor (kernels/vulkan/compressor_ops.h compressor_chunk) against a copy of the CPU's
// per-token state machine (inference/model/v4/graph.cpp Graph::compress up to the pool, with
// cpu::compressor_pool and cpu::add), and top_k with per-row counts (kernels/vulkan/graph_ops.h) against
// cpu::top_k on each row's prefix. The state must match bit for bit after every chunk; pooled entries within
// the tolerance stated beside the check; top_k's indices exactly. Prints each op's device time.

#include "kernels/cpu/graph_ops.h"
#include "kernels/vulkan/compressor_ops.h"
#include "kernels/vulkan/graph_ops.h"
#include "tests/vulkan/device_buffers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace lectern::kernels;
using lectern::test::device_zeros;
using lectern::test::from_device;
using lectern::test::random_floats;
using lectern::test::run_timed;
using lectern::test::tied_values;
using lectern::test::to_device;

namespace {

// The CPU's compressor state (inference/model/v4/state.h CompressorState): slots x lanes * width.
struct CompressorState {
    std::vector<float> kv, score;
};

// Graph::compress for one token up to the pool: the pooled entry (before norm and RoPE) goes to `pooled`.
void cpu_compress(CompressorState& state, std::int64_t ratio, std::int64_t width, const float* a,
                  const float* z, const float* ape_table, std::int64_t position, std::vector<float>& pooled) {
    const bool overlap = ratio == 4;
    const std::int64_t lanes = overlap ? 2 : 1;
    const std::int64_t row_width = lanes * width;
    const std::int64_t slot = (overlap ? ratio : 0) + position % ratio;
    const float* ape = ape_table + (position % ratio) * row_width;
    std::copy(a, a + row_width, state.kv.begin() + slot * row_width);
    cpu::add(z, ape, state.score.data() + slot * row_width, row_width);
    if ((position + 1) % ratio != 0) return;
    const std::size_t at = pooled.size();
    pooled.resize(at + static_cast<std::size_t>(width));
    cpu::compressor_pool(state.kv.data(), state.score.data(), ratio, width, overlap, pooled.data() + at);
    if (overlap) {
        std::copy(state.kv.begin() + ratio * row_width, state.kv.end(), state.kv.begin());
        std::copy(state.score.begin() + ratio * row_width, state.score.end(), state.score.begin());
    }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Chunks of `sizes` tokens in a row from position `first`, on a fresh engine state (kv 0, score -inf, as
// state.cpp empty_compressor) or a random one (some score slots -inf); the device state is compared bit for
// bit after each chunk, pooled within tolerance.
void compressor_chunk_parity(vulkan::Context& context, std::mt19937& rng, std::int64_t ratio,
                             std::int64_t width, std::int64_t first, bool random_state,
                             const std::vector<std::int64_t>& sizes, double& worst_pooled) {
    const bool overlap = ratio == 4;
    const std::int64_t lanes = overlap ? 2 : 1, row_width = lanes * width, slots = lanes * ratio;
    const auto state_size = static_cast<std::size_t>(slots * row_width);
    CompressorState cpu_state{std::vector<float>(state_size, 0.0f),
                              std::vector<float>(state_size, -std::numeric_limits<float>::infinity())};
    if (random_state) {
        cpu_state.kv = random_floats(state_size, rng);
        cpu_state.score = random_floats(state_size, rng, 4.0f);
        for (std::size_t i = 0; i < state_size; i += 7)
            cpu_state.score[i] = -std::numeric_limits<float>::infinity();
    }
    const auto ape = random_floats(static_cast<std::size_t>(ratio * row_width), rng, 2.0f);
    vulkan::Buffer dkv = to_device(context, cpu_state.kv), dscore = to_device(context, cpu_state.score);
    vulkan::Buffer dape = to_device(context, ape);
    std::int64_t position = first;
    for (const std::int64_t rows : sizes) {
        const auto a = random_floats(static_cast<std::size_t>(rows * row_width), rng);
        const auto z = random_floats(a.size(), rng, 4.0f);
        std::vector<float> expected;
        for (std::int64_t t = 0; t < rows; ++t)
            cpu_compress(cpu_state, ratio, width, a.data() + t * row_width, z.data() + t * row_width,
                         ape.data(), position + t, expected);
        const std::int64_t blocks = (position + rows) / ratio - position / ratio;
        CHECK(static_cast<std::int64_t>(expected.size()) == blocks * width);
        vulkan::Buffer da = to_device(context, a), dz = to_device(context, z);
        vulkan::Buffer dpooled = device_zeros<float>(context, std::max<std::size_t>(expected.size(), 1));
        const std::string name = "compressor_chunk ratio " + std::to_string(ratio) + " width " +
                                 std::to_string(width) + ": " + std::to_string(rows) + " at " +
                                 std::to_string(position) + " (" + std::to_string(blocks) + " blocks)";
        const bool ran = run_timed(context, name, [&](vulkan::Stream& s) {
            return vulkan::compressor_chunk(s, da.span(), dz.span(), dape.span(), rows, position, ratio,
                                            width, dkv.span(), dscore.span(), dpooled.span());
        });
        position += rows;
        if (!ran) return;
        // Copies and one fp32 add per score element: the same bits.
        const bool kv_same = CHECK(same_bits(from_device<float>(context, dkv, state_size), cpu_state.kv));
        const bool score_same =
            CHECK(same_bits(from_device<float>(context, dscore, state_size), cpu_state.score));
        if (!kv_same || !score_same) {
            std::fprintf(stderr, "  %s: state differs\n", name.c_str());
            return;
        }
        // fp32 exp and sums over at most 128 candidates of |kv| ~ 1 where the CPU sums in double (the
        // tolerance of compressor_pool's parity test in vulkan_graph_ops): 1e-5 + 1e-5 |expected|.
        const auto actual = from_device<float>(context, dpooled, expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const double error = std::fabs(static_cast<double>(actual[i]) - expected[i]);
            worst_pooled = std::max(worst_pooled, error);
            if (!CHECK_CLOSE(actual[i], expected[i], 1e-5 + 1e-5 * std::fabs(expected[i]))) {
                std::fprintf(stderr, "  %s: pooled value %zu of %zu\n", name.c_str(), i, expected.size());
                return;
            }
        }
    }
}

void compressor_chunks(vulkan::Context& context, std::mt19937& rng) {
    double worst = 0;
    for (const std::int64_t ratio : {4, 128})
        for (const std::int64_t width : {128, 512}) {
            const std::vector<std::int64_t> sizes{1, 3, ratio - 1, ratio, 32, 129, 1, ratio + 1};
            compressor_chunk_parity(context, rng, ratio, width, 0, false, sizes, worst);
            // Mid-block starts on a random state (positions before `first` come from it).
            compressor_chunk_parity(context, rng, ratio, width, 5 * ratio + ratio / 2 + 1, true, sizes,
                                    worst);
        }
    std::printf("  compressor_chunk pooled: max abs error %.3g (tolerance 1e-5 + 1e-5 |x|)\n", worst);
}

void top_k_counts_parity(vulkan::Context& context, std::mt19937& rng) {
    struct Case {
        std::int64_t n, k;
        cpu::TopKOrder order;
        bool ties;
        const char* what;
    };
    const Case cases[] = {
        {300, 40, cpu::TopKOrder::ByValue, true, "40 of up to 300, best first, ties"},
        {300, 40, cpu::TopKOrder::ByIndex, true, "40 of up to 300, index order, ties"},
        {5000, 512, cpu::TopKOrder::ByIndex, false, "indexer 512 of up to 5000"},
        {5000, 1024, cpu::TopKOrder::ByValue, true, "1024 of up to 5000, best first, ties"},
        {64, 100, cpu::TopKOrder::ByIndex, true, "k 100 past n 64"},
    };
    for (const Case& c : cases) {
        // Counts 0, 1, < k, = k, k + 1, > k, n, past n, and random.
        std::vector<std::uint32_t> counts{0,
                                          1,
                                          static_cast<std::uint32_t>(c.k / 2),
                                          static_cast<std::uint32_t>(c.k),
                                          static_cast<std::uint32_t>(c.k + 1),
                                          static_cast<std::uint32_t>(c.n - 3),
                                          static_cast<std::uint32_t>(c.n),
                                          static_cast<std::uint32_t>(c.n + 50)};
        std::uniform_int_distribution<std::uint32_t> count(0, static_cast<std::uint32_t>(c.n));
        for (int i = 0; i < 4; ++i) counts.push_back(count(rng));
        const auto rows = static_cast<std::int64_t>(counts.size());
        const auto values = c.ties ? tied_values(static_cast<std::size_t>(rows * c.n), rng, 40)
                                   : random_floats(static_cast<std::size_t>(rows * c.n), rng);
        std::vector<std::uint32_t> expected(static_cast<std::size_t>(rows * c.k), 0xFFFFFFFFu);
        std::vector<std::int64_t> chosen(static_cast<std::size_t>(c.k));
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::int64_t m = std::min<std::int64_t>(counts[static_cast<std::size_t>(r)], c.n);
            const std::int64_t k = std::min(c.k, m);
            if (k == 0) continue;
            cpu::top_k(values.data() + r * c.n, m, k, c.order, chosen.data());
            for (std::int64_t j = 0; j < k; ++j)
                expected[static_cast<std::size_t>(r * c.k + j)] =
                    static_cast<std::uint32_t>(chosen[static_cast<std::size_t>(j)]);
        }
        vulkan::Buffer dv = to_device(context, values), dc = to_device(context, counts);
        vulkan::Buffer di = device_zeros<std::uint32_t>(context, expected.size());
        const std::string name = std::string("top_k counts ") + c.what;
        if (!run_timed(context, name, [&](vulkan::Stream& s) {
                return vulkan::top_k(s, dv.span(), rows, c.n, c.k, c.order, di.span(), dc.span());
            }))
            continue;
        const auto actual = from_device<std::uint32_t>(context, di, expected.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < expected.size(); ++i) differ += actual[i] != expected[i];
        // The same order and tie rule on each prefix: the same indices in the same places, 0xFFFFFFFF past
        // k_r.
        CHECK(differ == 0);
        if (differ)
            std::fprintf(stderr, "  %s: %zu of %zu indices differ\n", name.c_str(), differ, expected.size());
    }
}

void errors(vulkan::Context& context) {
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return;
    vulkan::Buffer small = device_zeros<float>(context, 8);
    vulkan::Buffer state = device_zeros<float>(context, 8 * 8 * 2);
    // ratio 4, width 8: rows of 16, state 8 x 16; 4 rows complete a block that needs 8 pooled floats.
    vulkan::Buffer rows = device_zeros<float>(context, 4 * 16);
    vulkan::Buffer ape = device_zeros<float>(context, 4 * 16);
    const auto short_pooled =
        vulkan::compressor_chunk(*stream, rows.span(), rows.span(), ape.span(), 4, 0, 4, 8, state.span(),
                                 state.span(), vulkan::BufferSpan{small.span().buffer, 0, 16});
    CHECK(!short_pooled &&
          short_pooled.error().find("pooled holds 16 bytes but needs 32") != std::string::npos);
    const auto short_state = vulkan::compressor_chunk(*stream, rows.span(), rows.span(), ape.span(), 1, 0, 4,
                                                      8, small.span(), state.span(), small.span());
    CHECK(!short_state && short_state.error().find("state_kv holds 32 bytes") != std::string::npos);
    const auto no_rows = vulkan::compressor_chunk(*stream, rows.span(), rows.span(), ape.span(), 0, 0, 4, 8,
                                                  state.span(), state.span(), small.span());
    CHECK(!no_rows);
    const auto short_counts = vulkan::top_k(*stream, small.span(), 2, 4, 2, cpu::TopKOrder::ByIndex,
                                            small.span(), vulkan::BufferSpan{small.span().buffer, 0, 4});
    CHECK(!short_counts &&
          short_counts.error().find("counts holds 4 bytes but needs 8") != std::string::npos);
    const auto too_many =
        vulkan::top_k(*stream, small.span(), 1, 8, 9, cpu::TopKOrder::ByValue, small.span());
    CHECK(!too_many && too_many.error().find("more than the 8 values") != std::string::npos);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_compressor_ops", {});
    std::printf("device: %s (%s)\n", context->device().name.c_str(), context->device().type.c_str());
    std::mt19937 rng(2468);
    compressor_chunks(*context, rng);
    top_k_counts_parity(*context, rng);
    errors(*context);
    return lectern::test::finish("vulkan_compressor_ops");
}
