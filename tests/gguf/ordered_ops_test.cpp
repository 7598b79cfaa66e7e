// kernels/cpu/quant/ordered_ops.h: the portable path gives the AVX2 path's bits (on an AVX2 machine; the
// comparison is trivial elsewhere), and every operation stays within its float rounding of an exact double
// computation. That they equal llama.cpp's own operations is checked end to end by gguf_smollm2.

#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/matmul.h"
#include "kernels/cpu/quant/ordered_ops.h"
#include "tests/kernels/check.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

using namespace lectern;
namespace quant = kernels::quant;
using quant::SumOrder;

namespace {

std::mt19937 rng(2024);

// Normal values rounded to fp16, as the attention's operands are.
std::vector<float> random_halves(std::int64_t n, float sigma) {
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = quant::half_to_float(quant::float_to_half(normal(rng)));
    return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return false;
    return true;
}

void check_swiglu() {
    // Every range of the exp: ordinary, past 2^126 (scaled in two steps), past 2^192 (saturated), and the
    // specials; 1003 elements so that a tail shorter than a vector takes libm's expf.
    std::vector<float> gate, up;
    for (int i = 0; i < 1003; ++i) {
        gate.push_back(-250.0f + 0.5f * static_cast<float>(i));
        up.push_back(1.0f + 0.001f * static_cast<float>(i));
    }
    gate[5] = std::numeric_limits<float>::infinity();
    gate[6] = -std::numeric_limits<float>::infinity();
    gate[7] = 0.0f;
    gate[8] = -0.0f;
    std::vector<float> fast(gate.size()), portable(gate.size());
    quant::swiglu(gate.data(), up.data(), fast.data(), static_cast<std::int64_t>(gate.size()));
    quant::swiglu(gate.data(), up.data(), portable.data(), static_cast<std::int64_t>(gate.size()), false);
    CHECK(same_bits(fast, portable));
    double worst = 0.0;
    for (std::size_t i = 0; i < gate.size(); ++i) {
        const double g = gate[i];
        if (!std::isfinite(g)) continue;
        const double exact = g / (1.0 + std::exp(-g)) * up[i];
        worst = std::max(worst, std::fabs(fast[i] - exact) / std::max(std::fabs(exact), 1e-30));
    }
    std::printf("swiglu: relative error %.3g (bound 1e-6)\n", worst);
    CHECK(worst < 1e-6); // the exp's 1.95 ulp, a division and a product
    CHECK(fast[5] == std::numeric_limits<float>::infinity());
    CHECK(std::isnan(fast[6])); // -inf / (1 + inf), as in ggml
}

void check_softmax() {
    double worst = 0.0;
    for (const std::int64_t n : {1, 7, 8, 9, 31, 64, 255, 300}) {
        std::vector<float> scores = random_halves(n, 4.0f);
        scores[0] = -std::numeric_limits<float>::infinity(); // masked inside the row
        if (n == 1) scores[0] = 3.0f;
        std::vector<float> fast = scores, portable = scores;
        quant::softmax(fast.data(), n);
        quant::softmax(portable.data(), n, false);
        CHECK(same_bits(fast, portable));
        double max = -INFINITY, total = 0.0;
        for (const float s : scores) max = std::max(max, static_cast<double>(s));
        for (const float s : scores) total += std::exp(s - max);
        for (std::int64_t i = 0; i < n; ++i) {
            const double exact = std::exp(scores[static_cast<std::size_t>(i)] - max) / total;
            worst = std::max(worst, std::fabs(fast[static_cast<std::size_t>(i)] - exact));
        }
    }
    std::printf("softmax: absolute error %.3g (bound 1e-6)\n", worst);
    CHECK(worst < 1e-6);
}

void check_products() {
    std::vector<float> scratch(32 * 72);
    double worst = 0.0;
    for (const SumOrder order : {SumOrder::Batch, SumOrder::Single}) {
        // Dot products: whole vectors, a length Batch hands to Single's order, and a leftover past 32.
        for (const std::int64_t n : {64, 128, 36, 80}) {
            const std::vector<float> a = random_halves(n, 1.0f), b = random_halves(n, 1.0f);
            const float fast = quant::dot_ordered(a.data(), b.data(), n, order);
            const float portable = quant::dot_ordered(a.data(), b.data(), n, order, false);
            CHECK(std::bit_cast<std::uint32_t>(fast) == std::bit_cast<std::uint32_t>(portable));
            double exact = 0.0, magnitude = 0.0;
            for (std::int64_t i = 0; i < n; ++i) {
                exact += static_cast<double>(a[static_cast<std::size_t>(i)]) * b[static_cast<std::size_t>(i)];
                magnitude += std::fabs(static_cast<double>(a[static_cast<std::size_t>(i)]) *
                                       b[static_cast<std::size_t>(i)]);
            }
            worst = std::max(worst, std::fabs(fast - exact) / (static_cast<double>(n) * 0x1p-24 * magnitude));
        }
        // Probability-weighted sums of value rows: counts around the accumulator widths, widths with a tail.
        for (const std::int64_t d : {64, 72}) {
            for (const std::int64_t count : {1, 8, 9, 32, 33, 257}) {
                const std::int64_t stride = d + 8;
                const std::vector<float> p = random_halves(count, 0.2f),
                                         v = random_halves(count * stride, 1.0f);
                std::vector<float> fast(static_cast<std::size_t>(d)), portable(fast.size());
                quant::weighted_sum(p.data(), v.data(), stride, count, d, fast.data(), order, scratch.data());
                quant::weighted_sum(p.data(), v.data(), stride, count, d, portable.data(), order,
                                    scratch.data(), false);
                CHECK(same_bits(fast, portable));
                for (std::int64_t i = 0; i < d; ++i) {
                    double exact = 0.0, magnitude = 0.0;
                    for (std::int64_t j = 0; j < count; ++j) {
                        const double term = static_cast<double>(p[static_cast<std::size_t>(j)]) *
                                            v[static_cast<std::size_t>(j * stride + i)];
                        exact += term;
                        magnitude += std::fabs(term);
                    }
                    worst = std::max(worst, std::fabs(fast[static_cast<std::size_t>(i)] - exact) /
                                                (static_cast<double>(count) * 0x1p-24 * magnitude + 1e-30));
                }
            }
        }
    }
    // Float summation of n terms: |error| <= n * 2^-24 * sum |terms| (to first order).
    std::printf("dot / weighted sum: error %.3g of the float summation bound\n", worst);
    CHECK(worst <= 1.0);
}

void check_norm_and_rope() {
    const std::int64_t n = 576;
    const std::vector<float> x = random_halves(2 * n, 3.0f), weight = random_halves(n, 1.0f);
    std::vector<float> y(x.size());
    quant::rms_norm_ordered(x.data(), weight.data(), y.data(), 2, n, 1e-5f);
    double worst = 0.0;
    for (std::int64_t r = 0; r < 2; ++r) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < n; ++i)
            sum += static_cast<double>(x[static_cast<std::size_t>(r * n + i)]) *
                   x[static_cast<std::size_t>(r * n + i)];
        const double scale = 1.0 / std::sqrt(sum / static_cast<double>(n) + 1e-5);
        for (std::int64_t i = 0; i < n; ++i) {
            const std::size_t k = static_cast<std::size_t>(r * n + i);
            const double exact = x[k] * scale * weight[static_cast<std::size_t>(i)];
            worst = std::max(worst, std::fabs(y[k] - exact) / std::max(std::fabs(exact), 1e-30));
        }
    }
    std::printf("rms_norm: relative error %.3g (bound 1e-6)\n", worst);
    CHECK(worst < 1e-6);

    // RoPE: position 0 is the identity; a rotation keeps each pair's length; pair 0 turns by the position.
    std::vector<float> angles(64);
    quant::rope_angles(100000.0f, 32, 0, angles.data());
    std::vector<float> pairs = random_halves(64, 1.0f), rotated = pairs;
    quant::rope_rotate(rotated.data(), angles.data(), 32);
    CHECK(same_bits(rotated, pairs));
    quant::rope_angles(100000.0f, 32, 1000, angles.data());
    CHECK(angles[0] == std::cos(1000.0f) && angles[1] == std::sin(1000.0f));
    quant::rope_rotate(rotated.data(), angles.data(), 32);
    for (std::size_t i = 0; i < 64; i += 2) {
        const double before = std::hypot(pairs[i], pairs[i + 1]),
                     after = std::hypot(rotated[i], rotated[i + 1]);
        CHECK(std::fabs(before - after) <= 1e-6 * std::max(before, 1.0));
    }
}

} // namespace

int main() {
    std::printf("AVX2 path %s\n", quant::cpu_has_avx2() ? "present: compared with the portable one"
                                                        : "absent: the portable path alone");
    check_swiglu();
    check_softmax();
    check_products();
    check_norm_and_rope();
    return test::finish("gguf_ordered_ops");
}
