#include "kernels/cpu/ops.h"

#include <cmath>

namespace lectern::kernels::cpu {

void rms_norm(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n, float eps) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        double sum_sq = 0.0; // double: the reference must not lose precision on long rows
        for (std::int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
        const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
        for (std::int64_t i = 0; i < n; ++i) yr[i] = xr[i] * inv * (weight ? weight[i] : 1.0f);
    }
}

} // namespace lectern::kernels::cpu
