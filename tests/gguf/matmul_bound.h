#pragma once
// The error bound kernels/cpu/quant/matmul.h states for one output of quant::matmul against the exact
// product (quant::dot_reference), for the tests that check it.

#include "kernels/cpu/quant/half.h"
#include "kernels/dtype.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lectern::test {

// `row` is the weight row as stored, `w` its decoded values, `x` the activations.
inline double matmul_bound(kernels::DType type, const std::byte* row, const float* w, const float* x,
                           std::int64_t cols) {
    using kernels::DType;
    double abs_products = 0.0;
    for (std::int64_t i = 0; i < cols; ++i) abs_products += std::fabs(static_cast<double>(w[i]) * x[i]);
    double limit = static_cast<double>(cols) * std::ldexp(1.0, -23) * abs_products + 1e-30;
    if (type != DType::Q4_0 && type != DType::Q8_0 && type != DType::Q4_1) return limit;
    const auto& info = kernels::dtype_info(type);
    for (std::int64_t b = 0; b < cols / 32; ++b) {
        double amax = 0.0, abs_w = 0.0, abs_x = 0.0;
        for (std::int64_t i = 32 * b; i < 32 * (b + 1); ++i) {
            amax = std::max(amax, static_cast<double>(std::fabs(x[i])));
            abs_w += std::fabs(w[i]);
            abs_x += std::fabs(x[i]);
        }
        limit += abs_w * 0.6 * amax / 127.0;
        if (type == DType::Q4_1) {
            std::uint16_t m;
            std::memcpy(&m, row + b * info.block_bytes + 2, 2);
            limit += std::ldexp(1.0, -10) * std::fabs(kernels::quant::half_to_float(m)) * abs_x;
        }
    }
    return limit;
}

} // namespace lectern::test
