#include "kernels/cuda/check.h"
#include "kernels/cuda/numbers.cuh"
#include "kernels/cuda/ops.h"

namespace lectern::kernels::cuda {
namespace {

using cpu::WeightFormat;

constexpr int kWarpsPerBlock = 8;
constexpr int kRowsPerPass = 8; // token rows sharing one read of the weights

// Weights in one 16-byte load: 4 F32, 8 BF16, 16 FP8 or 32 FP4 values (one FP4 scale block; an eighth of
// an FP8 one). Lane l of a warp loads the l-th 16 bytes of each 512-byte span, so every load instruction
// of the warp reads one contiguous span.
template <WeightFormat Format>
__host__ __device__ constexpr int per_load() {
    switch (Format) {
    case WeightFormat::F32:
        return 4;
    case WeightFormat::BF16:
        return 8;
    case WeightFormat::F8_E4M3_BLOCK128:
        return 16;
    case WeightFormat::FP4_E2M1_BLOCK32:
        return 32;
    case WeightFormat::GGUF_BLOCK: // linear_gguf's kernel
        break;
    }
    return 0;
}

// Decodes the per_load() weights of row o starting at column i from their 16 bytes.
template <WeightFormat Format>
__device__ inline void decode(uint4 raw, const std::uint8_t* scales, std::int64_t scale_columns,
                              std::int64_t o, std::int64_t i, float* w) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(&raw);
    if constexpr (Format == WeightFormat::F32) {
        w[0] = __uint_as_float(raw.x);
        w[1] = __uint_as_float(raw.y);
        w[2] = __uint_as_float(raw.z);
        w[3] = __uint_as_float(raw.w);
    } else if constexpr (Format == WeightFormat::BF16) {
#pragma unroll
        for (int k = 0; k < 8; ++k) w[k] = bf16_to_f32(reinterpret_cast<const std::uint16_t*>(&raw)[k]);
    } else if constexpr (Format == WeightFormat::F8_E4M3_BLOCK128) {
        const float scale = e8m0_to_f32(scales[(o / 128) * scale_columns + i / 128]);
#pragma unroll
        for (int k = 0; k < 16; ++k) w[k] = e4m3_to_f32(b[k]) * scale;
    } else {
        const float scale = e8m0_to_f32(scales[o * scale_columns + i / 32]);
#pragma unroll
        for (int k = 0; k < 16; ++k) {
            w[2 * k] = fp4_to_f32(b[k] & 0xF) * scale;
            w[2 * k + 1] = fp4_to_f32(b[k] >> 4) * scale;
        }
    }
}

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

// One warp per output: the warp reads the row in contiguous 512-byte spans, each lane decoding its 16
// bytes and applying them to up to kRowsPerPass token rows, so the weights are read once per pass rather
// than once per row. `vector_end` is where the whole spans stop; the tail goes element by element.
template <WeightFormat Format>
__global__ void linear_kernel(const float* x, std::int64_t rows, const void* data, const std::uint8_t* scales,
                              std::int64_t out_features, std::int64_t in_features, std::int64_t scale_columns,
                              std::int64_t vector_end, float* y) {
    constexpr int n = per_load<Format>();
    const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (o >= out_features) return;
    const auto* row =
        reinterpret_cast<const uint4*>(static_cast<const std::uint8_t*>(data) + o * in_features * 16 / n);
    for (std::int64_t r0 = 0; r0 < rows; r0 += kRowsPerPass) {
        const int pass_rows = static_cast<int>(rows - r0 < kRowsPerPass ? rows - r0 : kRowsPerPass);
        float sum[kRowsPerPass] = {};
        for (std::int64_t load = lane; load * n < vector_end; load += 32) {
            const std::int64_t i = load * n;
            float w[n];
            decode<Format>(row[load], scales, scale_columns, o, i, w);
#pragma unroll
            for (int r = 0; r < kRowsPerPass; ++r) {
                if (r >= pass_rows) break;
                const float4* xr = reinterpret_cast<const float4*>(x + (r0 + r) * in_features + i);
#pragma unroll
                for (int k = 0; k < n / 4; ++k) {
                    const float4 v = xr[k];
                    sum[r] += v.x * w[4 * k] + v.y * w[4 * k + 1] + v.z * w[4 * k + 2] + v.w * w[4 * k + 3];
                }
            }
        }
        for (std::int64_t i = vector_end + lane; i < in_features; i += 32) {
            const float w = weight_at<Format>(data, scales, in_features, scale_columns, o, i);
            for (int r = 0; r < pass_rows; ++r) sum[r] += x[(r0 + r) * in_features + i] * w;
        }
#pragma unroll
        for (int r = 0; r < kRowsPerPass; ++r) {
            if (r >= pass_rows) break;
            float total = sum[r];
            for (int offset = 16; offset > 0; offset /= 2)
                total += __shfl_down_sync(0xFFFFFFFFu, total, offset);
            if (lane == 0) y[(r0 + r) * out_features + o] = total;
        }
    }
}

bool aligned16(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

template <WeightFormat Format>
void launch(const float* x, std::int64_t rows, const DeviceWeight& w, std::int64_t scale_columns, float* y) {
    // Wide loads need every weight row and every x row to start on 16 bytes: true when rows are whole
    // 32-value blocks and the buffers are aligned.
    const bool wide = w.in_features % 32 == 0 && aligned16(w.data) && aligned16(x);
    const std::int64_t vector_end = wide ? w.in_features : 0;
    linear_kernel<Format><<<blocks_for(w.out_features, kWarpsPerBlock), kWarpsPerBlock * 32>>>(
        x, rows, w.data, w.scales, w.out_features, w.in_features, scale_columns, vector_end, y);
}

} // namespace

Result<void> linear(const float* x, std::int64_t rows, const DeviceWeight& weight, float* y) {
    if (rows <= 0 || weight.out_features <= 0 || weight.in_features <= 0) return Error{"linear: empty shape"};
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
    case WeightFormat::GGUF_BLOCK:
        return linear_gguf(x, rows, weight.gguf_type, weight.data, weight.out_features, weight.in_features,
                           y);
    }
    return finish_launch("linear");
}

} // namespace lectern::kernels::cuda
