// The CPU reference ops against values worked out by hand.

#include "kernels/cpu/ops.h"
#include "tests/kernels/check.h"

#include <vector>

using namespace lectern::kernels;

static void rms_norm_matches_hand_values() {
    // Row 0: x = (3, 4): mean(x^2) = 12.5, so y = x / sqrt(12.5 + eps) * w.
    // Row 1: x = (0, 0): stays zero (no division by zero thanks to eps).
    const std::vector<float> x = {3.0f, 4.0f, 0.0f, 0.0f};
    const std::vector<float> w = {2.0f, 0.5f};
    std::vector<float> y(4, -1.0f);
    cpu::rms_norm(x.data(), w.data(), y.data(), 2, 2, 1e-6f);
    const double inv = 1.0 / std::sqrt(12.5 + 1e-6);
    CHECK_CLOSE(y[0], 3.0 * inv * 2.0, 1e-6);
    CHECK_CLOSE(y[1], 4.0 * inv * 0.5, 1e-6);
    CHECK_CLOSE(y[2], 0.0, 0.0);
    CHECK_CLOSE(y[3], 0.0, 0.0);

    std::vector<float> unweighted(2);
    cpu::rms_norm(x.data(), nullptr, unweighted.data(), 1, 2, 1e-6f);
    CHECK_CLOSE(unweighted[0], 3.0 * inv, 1e-6);
}

int main() {
    rms_norm_matches_hand_values();
    return lectern::test::finish("kernels_cpu_reference");
}
