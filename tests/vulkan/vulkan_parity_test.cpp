// Every Vulkan op against the CPU reference (kernels/cpu/ops.h), once with the shader variants the device
// allows and once with the portable fallbacks forced. Tolerances are stated per op, with the reason.

#include "kernels/cpu/ops.h"
#include "kernels/vulkan/ops.h"
#include "tests/vulkan/device_buffers.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

using namespace lectern::kernels;
using lectern::test::device_zeros;
using lectern::test::from_device;
using lectern::test::to_device;

namespace {

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float sigma = 2.0f) {
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Records, submits and reports a failed op as a check failure (with its message).
template <typename Record>
bool run(vulkan::Context& context, const char* op, Record record) {
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return false;
    const lectern::Result<void> recorded = record(*stream);
    if (!recorded) std::fprintf(stderr, "%s: %s\n", op, recorded.error().c_str());
    const lectern::Result<void> submitted = recorded ? stream->submit() : lectern::Result<void>();
    if (!submitted) std::fprintf(stderr, "%s: %s\n", op, submitted.error().c_str());
    return CHECK(recorded.ok() && submitted.ok());
}

// Reports the first element out of tolerance (tolerance = abs + rel * |expected|) and the largest error.
void expect_close(const char* op, const std::vector<float>& actual, const std::vector<float>& expected,
                  double abs, double rel) {
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - expected[i]));
        if (!CHECK_CLOSE(actual[i], expected[i], abs + rel * std::fabs(expected[i]))) {
            std::fprintf(stderr, "  %s: element %zu of %zu\n", op, i, expected.size());
            return;
        }
    }
    std::printf("  %-28s max abs error %.3g over %zu values\n", op, worst, expected.size());
}

void rms_norm_parity(vulkan::Context& context, std::mt19937& rng) {
    for (const auto& [rows, n] : {std::pair<int, int>{1, 1}, {3, 255}, {7, 4096}, {2, 10000}}) {
        for (const bool with_weight : {true, false}) {
            const auto x = random_floats(static_cast<std::size_t>(rows) * n, rng);
            const auto w = random_floats(static_cast<std::size_t>(n), rng);
            std::vector<float> expected(x.size());
            cpu::rms_norm(x.data(), with_weight ? w.data() : nullptr, expected.data(), rows, n, 1e-6f);
            vulkan::Buffer dx = to_device(context, x), dw = to_device(context, w);
            vulkan::Buffer dy = device_zeros<float>(context, x.size());
            if (!run(context, "rms_norm", [&](vulkan::Stream& s) {
                    return vulkan::rms_norm(s, dx.span(),
                                            with_weight ? std::optional(dw.span()) : std::nullopt, dy.span(),
                                            rows, n, 1e-6f);
                }))
                continue;
            // fp32 sums in another order than the double reference: relative error well under 1e-5.
            expect_close("rms_norm", from_device<float>(context, dy, x.size()), expected, 1e-5, 1e-5);
        }
    }
}

void all_ops(vulkan::Context& context, std::mt19937& rng) {
    rms_norm_parity(context, rng);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_parity", {});
    const vulkan::Features& f = context->features();
    std::printf("device: %s (%s); subgroup arithmetic %d, float16 %d, 16-bit storage %d, 8-bit storage %d\n",
                context->device().name.c_str(), context->device().type.c_str(), f.subgroup_arithmetic,
                f.shader_float16, f.storage_16bit, f.storage_8bit);
    std::mt19937 rng(1234);
    std::printf("shader variants for this device:\n");
    all_ops(*context, rng);
    context.reset();

    vulkan::ContextOptions fallback;
    fallback.force_fallback = true;
    auto portable = lectern::test::open_context_or_skip("vulkan_parity", fallback);
    std::printf("portable fallback variants:\n");
    all_ops(*portable, rng);
    return lectern::test::finish("vulkan_parity");
}
