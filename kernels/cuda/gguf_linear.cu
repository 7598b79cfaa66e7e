#include "kernels/cpu/quant/iq2xxs_grid.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numbers.cuh"
#include "kernels/cuda/ops.h"

#include <mutex>
#include <string>

// Two paths, as quant::matmul (kernels/cpu/quant/matmul.h) chooses them:
//   - Q4_0, Q4_1 and Q8_0: integer block products against activations quantized to 8-bit blocks of 32,
//     bit for bit as the CPU quantizes them (llama.cpp's Q8_0, and Q8_1's scaled sum for Q4_1), combined
//     per block as (d_w * d_x) * sum q_w q_x (+ m_w * s_x); only the float summation order differs from
//     the CPU's. The ops take no scratch memory, so each warp quantizes the activation blocks it needs
//     itself, in registers: no device allocation or lock, and recomputing a block per output row costs
//     about what the float path's per-element multiply-adds cost.
//   - every other type: each weight element decoded exactly as kernels/cpu/quant/dequantize.cpp decodes it
//     (the same operations in the same order, with the multiply-adds written as separately rounded steps,
//     since nvcc would otherwise fuse them), then multiplied with fp32 activations and summed in fp32: the
//     bound of quant::matmul's float path, cols * 2^-23 * sum |w_i x_i| against the exact product.

namespace lectern::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kRowsPerPass = 8; // token rows sharing one decode of the weights

__constant__ std::uint16_t iq2xxs_grid[256];
__constant__ std::uint8_t iq2xxs_grid_values[3];

__device__ inline unsigned load_u16(const std::uint8_t* p) {
    return static_cast<unsigned>(p[0]) | (static_cast<unsigned>(p[1]) << 8);
}

__device__ inline float half_at(const std::uint8_t* p) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(load_u16(p))));
}

// d * q - m and d * q + m with two roundings, as the CPU computes them.
__device__ inline float scaled_minus(float d, float q, float m) {
    return __fsub_rn(__fmul_rn(d, q), m);
}
__device__ inline float scaled_plus(float d, float q, float m) {
    return __fadd_rn(__fmul_rn(d, q), m);
}

// The 4-bit quant of element j (0..31) of a Q4/Q5 block: low nibbles first, then high nibbles.
__device__ inline int nibble(const std::uint8_t* qs, int j) {
    return j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
}

// Scale and min of group g (0..7) of a Q4_K / Q5_K block, from their 12 packed bytes.
__device__ inline void k_scale_min(const std::uint8_t* s, int g, int& scale, int& min) {
    if (g < 4) {
        scale = s[g] & 0x3F;
        min = s[g + 4] & 0x3F;
    } else {
        scale = (s[g + 4] & 0x0F) | ((s[g - 4] >> 6) << 4);
        min = (s[g + 4] >> 4) | ((s[g] >> 6) << 4);
    }
}

// Element k of one block of `type` (byte layouts: kernels/cpu/quant/blocks.h).
template <DType Type>
__device__ inline float element(const std::uint8_t* b, int k) {
    if constexpr (Type == DType::F32) {
        return __uint_as_float(static_cast<unsigned>(load_u16(b)) | (load_u16(b + 2) << 16));
    } else if constexpr (Type == DType::F16) {
        return half_at(b);
    } else if constexpr (Type == DType::BF16) {
        return bf16_to_f32(static_cast<std::uint16_t>(load_u16(b)));
    } else if constexpr (Type == DType::Q4_0) {
        return __fmul_rn(half_at(b), static_cast<float>(nibble(b + 2, k) - 8));
    } else if constexpr (Type == DType::Q4_1) {
        return scaled_plus(half_at(b), static_cast<float>(nibble(b + 4, k)), half_at(b + 2));
    } else if constexpr (Type == DType::Q5_0) {
        const int high = (b[2 + k / 8] >> (k % 8)) & 1;
        return __fmul_rn(half_at(b), static_cast<float>((nibble(b + 6, k) | (high << 4)) - 16));
    } else if constexpr (Type == DType::Q5_1) {
        const int high = (b[4 + k / 8] >> (k % 8)) & 1;
        return scaled_plus(half_at(b), static_cast<float>(nibble(b + 8, k) | (high << 4)), half_at(b + 2));
    } else if constexpr (Type == DType::Q8_0) {
        return __fmul_rn(static_cast<float>(static_cast<std::int8_t>(b[2 + k])), half_at(b));
    } else if constexpr (Type == DType::Q2_K) { // scales[16], qs[64], d, dmin
        const int half = k / 128, shift = 2 * ((k % 128) / 32), l = k % 32;
        const int sc = b[k / 16];
        const float dl = __fmul_rn(half_at(b + 80), static_cast<float>(sc & 0x0F));
        const float ml = __fmul_rn(half_at(b + 82), static_cast<float>(sc >> 4));
        return scaled_minus(dl, static_cast<float>((b[16 + 32 * half + l] >> shift) & 3), ml);
    } else if constexpr (Type == DType::Q3_K) { // hmask[32], qs[64], scales[12], d
        const int i = k / 16, j = k / 32, l = k % 32;
        const std::uint8_t* scales = b + 96;
        const int low_scale = (scales[i % 8] >> (4 * (i / 8))) & 0x0F;
        const int high_scale = (scales[8 + i % 4] >> (2 * (i / 4))) & 0x03;
        const float dl =
            __fmul_rn(half_at(b + 108), static_cast<float>((low_scale | (high_scale << 4)) - 32));
        const int low = (b[32 + 32 * (j / 4) + l] >> (2 * (j % 4))) & 3;
        const int high = (b[l] >> j) & 1;
        return __fmul_rn(dl, static_cast<float>(low - (high ? 0 : 4)));
    } else if constexpr (Type == DType::Q4_K ||
                         Type == DType::Q5_K) { // d, dmin, scales[12], (qh[32]), qs[128]
        const int g = k / 32, l = k % 32;
        int scale = 0, min = 0;
        k_scale_min(b + 4, g, scale, min);
        const float dl = __fmul_rn(half_at(b), static_cast<float>(scale));
        const float ml = __fmul_rn(half_at(b + 2), static_cast<float>(min));
        const std::uint8_t* qs = b + (Type == DType::Q4_K ? 16 : 48);
        int v = (g % 2 == 0) ? (qs[32 * (g / 2) + l] & 0x0F) : (qs[32 * (g / 2) + l] >> 4);
        if constexpr (Type == DType::Q5_K) v |= ((b[16 + l] >> g) & 1) << 4;
        return scaled_minus(dl, static_cast<float>(v), ml);
    } else if constexpr (Type == DType::Q6_K) { // ql[128], qh[64], scales[16] (int8), d
        const int half = k / 128, s = (k % 128) / 32, l = k % 32;
        const std::uint8_t low_byte = b[64 * half + l + 32 * (s & 1)];
        const int low = (s < 2) ? (low_byte & 0x0F) : (low_byte >> 4);
        const int high = (b[128 + 32 * half + l] >> (2 * s)) & 3;
        const float dl =
            __fmul_rn(half_at(b + 208), static_cast<float>(static_cast<std::int8_t>(b[192 + k / 16])));
        return __fmul_rn(dl, static_cast<float>((low | (high << 4)) - 32));
    } else if constexpr (Type == DType::IQ2_XXS) { // d, then per 32 elements 4 grid bytes and 32 bits
        const int group = k / 32, part = (k % 32) / 8, j = k % 8;
        const std::uint8_t* q = b + 2 + 8 * group;
        const unsigned rest = load_u16(q + 4) | (load_u16(q + 6) << 16);
        const float db =
            __fmul_rn(__fmul_rn(half_at(b), __fadd_rn(0.5f, static_cast<float>(rest >> 28))), 0.25f);
        const unsigned point = iq2xxs_grid[q[part]];
        const unsigned sign_bits = (rest >> (7 * part)) & 0x7F;
        const unsigned signs = sign_bits | ((__popc(sign_bits) & 1u) << 7);
        const float grid = static_cast<float>(iq2xxs_grid_values[(point >> (2 * j)) & 3]);
        return __fmul_rn(__fmul_rn(db, grid), ((signs >> j) & 1) ? -1.0f : 1.0f);
    } else { // MXFP4: e (E8M0), qs[16]; E2M1 values doubled, the scale halved
        constexpr signed char kValues[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
        const unsigned e = b[0];
        const float d = __uint_as_float(e < 2 ? (0x00200000u << e) : ((e - 1) << 23));
        return __fmul_rn(d, static_cast<float>(kValues[nibble(b + 1, k)]));
    }
}

// Plain types are "blocks" of one element.
template <DType Type>
__host__ __device__ constexpr int block_elements() {
    if constexpr (Type == DType::F32 || Type == DType::F16 || Type == DType::BF16) return 1;
    if constexpr (Type == DType::Q2_K || Type == DType::Q3_K || Type == DType::Q4_K || Type == DType::Q5_K ||
                  Type == DType::Q6_K || Type == DType::IQ2_XXS)
        return 256;
    return 32;
}

// One warp per output row; lane l takes blocks l, l + 32, ... of the row, decodes each element once and
// applies it to up to kRowsPerPass token rows; the lanes' sums meet in a warp reduction.
template <DType Type>
__global__ void gguf_linear_kernel(const float* x, std::int64_t rows, const std::uint8_t* weight,
                                   std::int64_t out_features, std::int64_t in_features,
                                   std::int64_t block_bytes, float* y) {
    constexpr int elements = block_elements<Type>();
    const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = static_cast<int>(threadIdx.x % 32);
    if (o >= out_features) return;
    const std::int64_t blocks = in_features / elements;
    const std::uint8_t* row = weight + o * blocks * block_bytes;
    for (std::int64_t r0 = 0; r0 < rows; r0 += kRowsPerPass) {
        const int pass_rows = static_cast<int>(rows - r0 < kRowsPerPass ? rows - r0 : kRowsPerPass);
        float sum[kRowsPerPass] = {};
        for (std::int64_t block = lane; block < blocks; block += 32) {
            const std::uint8_t* b = row + block * block_bytes;
            const float* xb = x + r0 * in_features + block * elements;
            for (int k = 0; k < elements; ++k) {
                const float w = element<Type>(b, k);
#pragma unroll
                for (int r = 0; r < kRowsPerPass; ++r)
                    if (r < pass_rows) sum[r] = fmaf(xb[r * in_features + k], w, sum[r]);
            }
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

// --- Q4_0, Q4_1, Q8_0: integer block products against 8-bit activation blocks -------------------------

// v rounded to the nearest fp16 value (ties to even), as a float: quant::float_to_half's operations on the
// bits, so that the rounding is the CPU's by construction (overflow to infinity, subnormals included).
__device__ inline float fp16_rounded(float v) {
    const unsigned bits = __float_as_uint(v);
    const unsigned sign = (bits >> 16) & 0x8000u;
    const unsigned abs_bits = bits & 0x7FFFFFFFu;
    unsigned half_bits = 0;
    if (abs_bits > 0x7F800000u) {
        half_bits = sign | 0x7E00u;
    } else if (abs_bits >= 0x477FF000u) { // rounds past 65504
        half_bits = sign | 0x7C00u;
    } else if (abs_bits < 0x38800000u) { // half subnormal or zero: the float adder rounds
        const float magnitude = __fadd_rn(__uint_as_float(abs_bits), 0.5f);
        half_bits = sign | (__float_as_uint(magnitude) - 0x3F000000u);
    } else {
        const unsigned odd = (abs_bits >> 13) & 1u;
        half_bits = sign | ((abs_bits + 0xFFFu + odd - (112u << 23)) >> 13);
    }
    return __half2float(__ushort_as_half(static_cast<unsigned short>(half_bits)));
}

// The 32 quants of a Q4_0 (nibble - 8), Q4_1 (nibble) or Q8_0 (int8) block, its scale d and Q4_1's m.
template <DType Type>
__device__ inline void integer_block(const std::uint8_t* b, int (&q)[32], float& d, float& m) {
    d = half_at(b);
    m = 0.0f;
    if constexpr (Type == DType::Q4_1) m = half_at(b + 2);
#pragma unroll
    for (int j = 0; j < 32; ++j) {
        if constexpr (Type == DType::Q4_0)
            q[j] = nibble(b + 2, j) - 8;
        else if constexpr (Type == DType::Q4_1)
            q[j] = nibble(b + 4, j);
        else
            q[j] = static_cast<std::int8_t>(b[2 + j]);
    }
}

// The product of weight block (w, d_w, m_w) with the 32 activations xb, quantized as quant::matmul's
// quantize_row_portable does: amax = max |x|, d = amax / 127, q = nearbyint(x * (127 / amax)) (ties to
// even), d_x = fp16(d), s_x = fp16(d * sum q). Every step is a single IEEE rounding written out, so nvcc
// cannot fuse or approximate it; the block's value is (d_w * d_x) * sum q_w q_x, plus m_w * s_x for Q4_1,
// added to `sum`.
template <DType Type>
__device__ inline float add_block_product(const int (&w)[32], float dw, float mw, const float* xb,
                                          float sum) {
    float v[32];
    float amax = 0.0f;
#pragma unroll
    for (int j = 0; j < 32; ++j) {
        v[j] = xb[j];
        amax = fmaxf(amax, fabsf(v[j]));
    }
    const float d = __fdiv_rn(amax, 127.0f);
    const float id = amax != 0.0f ? __fdiv_rn(127.0f, amax) : 0.0f;
    int acc = 0, total = 0;
#pragma unroll
    for (int j = 0; j < 32; ++j) {
        const int q = static_cast<int>(rintf(__fmul_rn(v[j], id)));
        total += q;
        acc += w[j] * q;
    }
    sum = fmaf(__fmul_rn(dw, fp16_rounded(d)), static_cast<float>(acc), sum); // |acc| < 2^24: exact
    if constexpr (Type == DType::Q4_1)
        sum = fmaf(mw, fp16_rounded(__fmul_rn(d, static_cast<float>(total))), sum);
    return sum;
}

// As gguf_linear_kernel: one warp per output row, lane l takes blocks l, l + 32, ..., unpacks each weight
// block once and applies it to up to kRowsPerPass token rows, quantizing each row's block as it goes.
template <DType Type>
__global__ void gguf_linear_q8_kernel(const float* x, std::int64_t rows, const std::uint8_t* weight,
                                      std::int64_t out_features, std::int64_t in_features,
                                      std::int64_t block_bytes, float* y) {
    const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = static_cast<int>(threadIdx.x % 32);
    if (o >= out_features) return;
    const std::int64_t blocks = in_features / 32;
    const std::uint8_t* row = weight + o * blocks * block_bytes;
    for (std::int64_t r0 = 0; r0 < rows; r0 += kRowsPerPass) {
        const int pass_rows = static_cast<int>(rows - r0 < kRowsPerPass ? rows - r0 : kRowsPerPass);
        float sum[kRowsPerPass] = {};
        for (std::int64_t block = lane; block < blocks; block += 32) {
            int w[32];
            float dw = 0.0f, mw = 0.0f;
            integer_block<Type>(row + block * block_bytes, w, dw, mw);
            const float* xb = x + r0 * in_features + block * 32;
#pragma unroll
            for (int r = 0; r < kRowsPerPass; ++r)
                if (r < pass_rows) sum[r] = add_block_product<Type>(w, dw, mw, xb + r * in_features, sum[r]);
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

// The IQ2_XXS grid in constant memory, copied once per process.
Result<void> upload_iq2xxs_grid() {
    static std::once_flag once;
    static cudaError_t status = cudaSuccess;
    std::call_once(once, [] {
        status = cudaMemcpyToSymbol(iq2xxs_grid, quant::kIq2xxsGrid, sizeof(quant::kIq2xxsGrid));
        if (status == cudaSuccess)
            status = cudaMemcpyToSymbol(iq2xxs_grid_values, quant::kIq2xxsGridValues,
                                        sizeof(quant::kIq2xxsGridValues));
    });
    if (status != cudaSuccess) return cuda_error("linear_gguf (IQ2_XXS grid)", status);
    return {};
}

template <DType Type>
void launch(const float* x, std::int64_t rows, const void* weight, std::int64_t out_features,
            std::int64_t in_features, float* y) {
    const auto* bytes = static_cast<const std::uint8_t*>(weight);
    const std::int64_t block_bytes = dtype_info(Type).block_bytes;
    if constexpr (Type == DType::Q4_0 || Type == DType::Q4_1 || Type == DType::Q8_0)
        gguf_linear_q8_kernel<Type><<<blocks_for(out_features, kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            x, rows, bytes, out_features, in_features, block_bytes, y);
    else
        gguf_linear_kernel<Type><<<blocks_for(out_features, kWarpsPerBlock), kWarpsPerBlock * 32>>>(
            x, rows, bytes, out_features, in_features, block_bytes, y);
}

} // namespace

bool linear_gguf_supports(DType type) {
    switch (type) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q8_0:
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::IQ2_XXS:
    case DType::MXFP4:
        return true;
    default:
        return false;
    }
}

Result<void> linear_gguf(const float* x, std::int64_t rows, DType type, const void* weight,
                         std::int64_t out_features, std::int64_t in_features, float* y) {
    const DTypeInfo& info = dtype_info(type);
    if (!linear_gguf_supports(type))
        return Error{"linear: CUDA has no kernel for " + std::string(info.name) + " weights"};
    if (rows <= 0 || out_features <= 0 || in_features <= 0 || in_features % info.block_elements != 0)
        return Error{"linear_gguf: " + std::string(info.name) + " rows of " + std::to_string(in_features) +
                     " values are not a whole number of blocks of " + std::to_string(info.block_elements)};
    switch (type) {
    case DType::F32:
        launch<DType::F32>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::F16:
        launch<DType::F16>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::BF16:
        launch<DType::BF16>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q4_0:
        launch<DType::Q4_0>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q4_1:
        launch<DType::Q4_1>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q5_0:
        launch<DType::Q5_0>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q5_1:
        launch<DType::Q5_1>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q8_0:
        launch<DType::Q8_0>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q2_K:
        launch<DType::Q2_K>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q3_K:
        launch<DType::Q3_K>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q4_K:
        launch<DType::Q4_K>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q5_K:
        launch<DType::Q5_K>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::Q6_K:
        launch<DType::Q6_K>(x, rows, weight, out_features, in_features, y);
        break;
    case DType::IQ2_XXS:
        if (Result<void> grid = upload_iq2xxs_grid(); !grid) return grid;
        launch<DType::IQ2_XXS>(x, rows, weight, out_features, in_features, y);
        break;
    default: // MXFP4, the last supported type
        launch<DType::MXFP4>(x, rows, weight, out_features, in_features, y);
        break;
    }
    return finish_launch("linear_gguf");
}

} // namespace lectern::kernels::cuda
