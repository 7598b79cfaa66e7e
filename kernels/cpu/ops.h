#pragma once
// The CPU backend's op set. Every op here has a slow, obvious reference that the fast paths and the
// other backends (cuda/, vulkan/) are tested against; see kernels/README.md.

#include <cstdint>

namespace lectern::kernels::cpu {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * (weight ? weight[i] : 1), for each of `rows` rows of `n` values.
void rms_norm(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n, float eps);

} // namespace lectern::kernels::cpu
