// The batched compressor (kernels/cuda/compressor_ops.h compressor_chunk) against a copy of the CPU's
// per-token state machine (inference/model/v4/graph.cpp Graph::compress up to the pool, with
// cpu::compressor_pool and cpu::add), on the cases of tests/vulkan/vulkan_compressor_ops_test.cpp (its
// top_k-with-counts cases are in cuda_graph_ops_test.cpp). The state must match bit for bit after every
// chunk; pooled entries within the tolerance stated beside the check. Pooled starts poisoned. Without a
// device the test exits 77 (skipped).

#include "kernels/cpu/graph_ops.h"
#include "kernels/cuda/compressor_ops.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/cuda_buffers.h"
#include "tests/kernels/random_inputs.h"

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
using lectern::test::from_device;
using lectern::test::poisoned;
using lectern::test::random_floats;
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
void compressor_chunk_parity(std::mt19937& rng, std::int64_t ratio, std::int64_t width, std::int64_t first,
                             bool random_state, const std::vector<std::int64_t>& sizes,
                             double& worst_pooled) {
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
    auto dkv = to_device(cpu_state.kv), dscore = to_device(cpu_state.score), dape = to_device(ape);
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
        auto da = to_device(a), dz = to_device(z);
        auto dpooled = poisoned(std::max<std::size_t>(expected.size(), 1));
        const std::string name = "compressor_chunk ratio " + std::to_string(ratio) + " width " +
                                 std::to_string(width) + ": " + std::to_string(rows) + " at " +
                                 std::to_string(position) + " (" + std::to_string(blocks) + " blocks)";
        const lectern::Result<void> done =
            cuda::compressor_chunk(da.as<float>(), dz.as<float>(), dape.as<float>(), rows, position, ratio,
                                   width, dkv.as<float>(), dscore.as<float>(), dpooled.as<float>());
        position += rows;
        if (!done) std::fprintf(stderr, "%s: %s\n", name.c_str(), done.error().c_str());
        if (!CHECK(done.ok())) return;
        // Copies and one fp32 add per score element: the same bits.
        const bool kv_same = CHECK(same_bits(from_device<float>(dkv, state_size), cpu_state.kv));
        const bool score_same = CHECK(same_bits(from_device<float>(dscore, state_size), cpu_state.score));
        if (!kv_same || !score_same) {
            std::fprintf(stderr, "  %s: state differs\n", name.c_str());
            return;
        }
        // Tighter than the Vulkan test's 1e-5 + 1e-5 |expected| (its pool is fp32): the kernel is
        // cpu::compressor_pool's double arithmetic on the same fp32 inputs, so only the last bit of a double
        // exp differs and the fp32 results are at most an ulp apart; the bound of cuda::compressor_pool's
        // parity test (cuda_graph_ops_test.cpp), 1e-7 + 1e-6 |expected|.
        const auto actual = from_device<float>(dpooled, expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const double error = std::fabs(static_cast<double>(actual[i]) - expected[i]);
            worst_pooled = std::max(worst_pooled, error);
            if (!CHECK_CLOSE(actual[i], expected[i], 1e-7 + 1e-6 * std::fabs(expected[i]))) {
                std::fprintf(stderr, "  %s: pooled value %zu of %zu\n", name.c_str(), i, expected.size());
                return;
            }
        }
        std::printf("  %-52s same state bits, pooled within tolerance\n", name.c_str());
    }
}

void compressor_chunks(std::mt19937& rng) {
    double worst = 0;
    for (const std::int64_t ratio : {4, 128})
        for (const std::int64_t width : {128, 512}) {
            const std::vector<std::int64_t> sizes{1, 3, ratio - 1, ratio, 32, 129, 1, ratio + 1};
            compressor_chunk_parity(rng, ratio, width, 0, false, sizes, worst);
            // Mid-block starts on a random state (positions before `first` come from it).
            compressor_chunk_parity(rng, ratio, width, 5 * ratio + ratio / 2 + 1, true, sizes, worst);
        }
    std::printf("  compressor_chunk pooled: max abs error %.3g (tolerance 1e-7 + 1e-6 |x|)\n", worst);
}

// Shape errors are reported before any launch, naming the op. (The Vulkan test's buffer-size checks have
// no counterpart: raw device pointers carry no size.)
void errors() {
    const auto fails = [](const lectern::Result<void>& result) {
        return !result && result.error().find("compressor_chunk") == 0;
    };
    CHECK(fails(cuda::compressor_chunk(nullptr, nullptr, nullptr, 0, 0, 4, 8, nullptr, nullptr, nullptr)));
    CHECK(fails(cuda::compressor_chunk(nullptr, nullptr, nullptr, 1, 0, 0, 8, nullptr, nullptr, nullptr)));
    CHECK(fails(cuda::compressor_chunk(nullptr, nullptr, nullptr, 1, -1, 4, 8, nullptr, nullptr, nullptr)));
    // 4 rows from 0 complete a block: pooled is needed.
    const auto no_pooled =
        cuda::compressor_chunk(nullptr, nullptr, nullptr, 4, 0, 4, 8, nullptr, nullptr, nullptr);
    CHECK(fails(no_pooled) && no_pooled.error().find("pooled") != std::string::npos);
}

} // namespace

int main() {
    if (const auto available = cuda::device_available(); !available.ok()) {
        std::printf("kernels_cuda_compressor_ops: skipped: %s\n", available.error().c_str());
        return 77;
    }
    std::mt19937 rng(2468);
    compressor_chunks(rng);
    errors();
    return lectern::test::finish("kernels_cuda_compressor_ops");
}
