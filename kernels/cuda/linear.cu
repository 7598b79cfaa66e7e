#include "kernels/cuda/check.h"
#include "kernels/cuda/numbers.cuh"
#include "kernels/cuda/ops.h"

namespace lectern::kernels::cuda {
namespace {

using cpu::WeightFormat;

constexpr int kWarpsPerBlock = 8;

template <WeightFormat Format>
__device__ inline float weight_at(const void* data, const std::uint8_t* scales, std::int64_t in_features,
                                  std::int64_t scale_columns, std::int64_t o, std::int64_t i) {
    if constexpr (Format == WeightFormat::F32) {
        return static_cast<const float*>(data)[o * in_features + i];
    } else if constexpr (Format == WeightFormat::BF16) {
        return bf16_to_f32(static_cast<const std::uint16_t*>(data)[o * in_features + i]);
    } else if constexpr (Format == WeightFormat::F8_E4M3_BLOCK128) {
        const float scale = e8m0_to_f32(scales[(o / 128) * scale_columns + i / 128]);
        return e4m3_to_f32(static_cast<const std::uint8_t*>(data)[o * in_features + i]) * scale;
    } else {
        const std::uint8_t byte = static_cast<const std::uint8_t*>(data)[(o * in_features + i) / 2];
        const float scale = e8m0_to_f32(scales[o * scale_columns + i / 32]);
        return fp4_to_f32((i & 1) ? (byte >> 4) : (byte & 0xF)) * scale;
    }
}

// One warp per output value: lanes stride over the inputs, then a shuffle reduction.
template <WeightFormat Format>
__global__ void linear_kernel(const float* x, std::int64_t rows, const void* data, const std::uint8_t* scales,
                              std::int64_t out_features, std::int64_t in_features, std::int64_t scale_columns,
                              float* y) {
    const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const std::int64_t r = blockIdx.y;
    const int lane = threadIdx.x % 32;
    if (o >= out_features || r >= rows) return;
    const float* xr = x + r * in_features;
    float sum = 0.0f;
    for (std::int64_t i = lane; i < in_features; i += 32)
        sum += xr[i] * weight_at<Format>(data, scales, in_features, scale_columns, o, i);
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xFFFFFFFFu, sum, offset);
    if (lane == 0) y[r * out_features + o] = sum;
}

template <WeightFormat Format>
void launch(const float* x, std::int64_t rows, const DeviceWeight& w, std::int64_t scale_columns, float* y) {
    const dim3 grid(blocks_for(w.out_features, kWarpsPerBlock), static_cast<unsigned>(rows));
    linear_kernel<Format><<<grid, kWarpsPerBlock * 32>>>(x, rows, w.data, w.scales, w.out_features,
                                                         w.in_features, scale_columns, y);
}

} // namespace

Result<void> linear(const float* x, std::int64_t rows, const DeviceWeight& weight, float* y) {
    if (rows <= 0 || weight.out_features <= 0 || weight.in_features <= 0) return Error{"linear: empty shape"};
    if (rows > 65535) return Error{"linear: more than 65535 rows in one call"};
    switch (weight.format) {
    case WeightFormat::F32:
        launch<WeightFormat::F32>(x, rows, weight, 0, y);
        break;
    case WeightFormat::BF16:
        launch<WeightFormat::BF16>(x, rows, weight, 0, y);
        break;
    case WeightFormat::F8_E4M3_BLOCK128:
        if (!weight.scales) return Error{"linear: an FP8 weight needs its scales"};
        launch<WeightFormat::F8_E4M3_BLOCK128>(x, rows, weight, (weight.in_features + 127) / 128, y);
        break;
    case WeightFormat::FP4_E2M1_BLOCK32:
        if (!weight.scales) return Error{"linear: an FP4 weight needs its scales"};
        if (weight.in_features % 32 != 0) return Error{"linear: FP4 rows must be whole blocks of 32"};
        launch<WeightFormat::FP4_E2M1_BLOCK32>(x, rows, weight, weight.in_features / 32, y);
        break;
    }
    return finish_launch("linear");
}

} // namespace lectern::kernels::cuda
