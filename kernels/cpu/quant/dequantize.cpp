#include "kernels/cpu/quant/dequantize.h"

#include "kernels/cpu/quant/blocks.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/iq2xxs_grid.h"

#include <bit>
#include <cstring>
#include <limits>
#include <vector>

// Every expression below keeps the operation order of ggml's reference (e.g. (d * scale) * q - m) and is
// compiled without floating-point contraction (CMakeLists.txt), so results match it bit for bit.

namespace lectern::kernels::quant {
namespace {

void decode_q4_0(const BlockQ4_0& b, float* y) {
    const float d = half_to_float(b.d);
    for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>((b.qs[j] & 0x0f) - 8);
        y[j + 16] = d * static_cast<float>((b.qs[j] >> 4) - 8);
    }
}

void decode_q4_1(const BlockQ4_1& b, float* y) {
    const float d = half_to_float(b.d), m = half_to_float(b.m);
    for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>(b.qs[j] & 0x0f) + m;
        y[j + 16] = d * static_cast<float>(b.qs[j] >> 4) + m;
    }
}

std::uint32_t load_u32(const std::uint8_t* p) {
    std::uint32_t value;
    std::memcpy(&value, p, sizeof value);
    return value;
}

void decode_q5_0(const BlockQ5_0& b, float* y) {
    const float d = half_to_float(b.d);
    const std::uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 16; ++j) {
        const int lo = (b.qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
        const int hi = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
        y[j] = d * static_cast<float>(lo - 16);
        y[j + 16] = d * static_cast<float>(hi - 16);
    }
}

void decode_q5_1(const BlockQ5_1& b, float* y) {
    const float d = half_to_float(b.d), m = half_to_float(b.m);
    const std::uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < 16; ++j) {
        const int lo = (b.qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
        const int hi = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
        y[j] = d * static_cast<float>(lo) + m;
        y[j + 16] = d * static_cast<float>(hi) + m;
    }
}

void decode_q8_0(const BlockQ8_0& b, float* y) {
    const float d = half_to_float(b.d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
}

// Elements 128h + 32s + l take bits 2s..2s+1 of qs[32h + l]; every 16 elements share one scale byte.
void decode_q2_k(const BlockQ2_K& b, float* y) {
    const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
    for (int k = 0; k < 256; ++k) {
        const int half = k / 128, shift = 2 * ((k % 128) / 32), l = k % 32;
        const std::uint8_t sc = b.scales[k / 16];
        const float dl = d * static_cast<float>(sc & 0x0f), ml = dmin * static_cast<float>(sc >> 4);
        const int q = (b.qs[32 * half + l] >> shift) & 3;
        y[k] = dl * static_cast<float>(q) - ml;
    }
}

// Scale i (0..15): its low 4 bits are nibble i / 8 of byte i % 8, its high 2 bits are bits 2 * (i / 4)
// of byte 8 + i % 4; stored offset by 32. The high bit of quant k is bit k / 32 of hmask[k % 32], and a
// clear bit subtracts 4.
void decode_q3_k(const BlockQ3_K& b, float* y) {
    const float d = half_to_float(b.d);
    float dl[16];
    for (int i = 0; i < 16; ++i) {
        const int low = (b.scales[i % 8] >> (4 * (i / 8))) & 0x0f;
        const int high = (b.scales[8 + i % 4] >> (2 * (i / 4))) & 0x03;
        dl[i] = d * static_cast<float>((low | (high << 4)) - 32);
    }
    for (int k = 0; k < 256; ++k) {
        const int j = k / 32, l = k % 32;
        const int low = (b.qs[32 * (j / 4) + l] >> (2 * (j % 4))) & 3;
        const int high = (b.hmask[l] >> j) & 1;
        y[k] = dl[k / 16] * static_cast<float>(low - (high ? 0 : 4));
    }
}

// Q4_K / Q5_K: eight 6-bit scales and mins packed in 12 bytes.
void unpack_k_scales(const std::uint8_t* s, std::uint8_t* scale, std::uint8_t* min) {
    for (int j = 0; j < 4; ++j) {
        scale[j] = s[j] & 0x3f;
        min[j] = s[j + 4] & 0x3f;
        scale[j + 4] = static_cast<std::uint8_t>((s[j + 8] & 0x0f) | ((s[j] >> 6) << 4));
        min[j + 4] = static_cast<std::uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

void decode_q4_k(const BlockQ4_K& b, float* y) {
    const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
    std::uint8_t scale[8], min[8];
    unpack_k_scales(b.scales, scale, min);
    for (int g = 0; g < 8; ++g) { // groups of 32: even groups low nibbles, odd groups high nibbles
        const float dl = d * static_cast<float>(scale[g]), ml = dmin * static_cast<float>(min[g]);
        const std::uint8_t* q = b.qs + 32 * (g / 2);
        for (int l = 0; l < 32; ++l) {
            const int v = (g % 2 == 0) ? (q[l] & 0x0f) : (q[l] >> 4);
            y[32 * g + l] = dl * static_cast<float>(v) - ml;
        }
    }
}

void decode_q5_k(const BlockQ5_K& b, float* y) {
    const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
    std::uint8_t scale[8], min[8];
    unpack_k_scales(b.scales, scale, min);
    for (int g = 0; g < 8; ++g) {
        const float dl = d * static_cast<float>(scale[g]), ml = dmin * static_cast<float>(min[g]);
        const std::uint8_t* q = b.qs + 32 * (g / 2);
        for (int l = 0; l < 32; ++l) {
            const int low = (g % 2 == 0) ? (q[l] & 0x0f) : (q[l] >> 4);
            const int v = low | (((b.qh[l] >> g) & 1) << 4);
            y[32 * g + l] = dl * static_cast<float>(v) - ml;
        }
    }
}

// Element 128h + 32s + l: low nibble from ql[64h + l + 32 (s & 1)] (high nibble when s >= 2), top two bits
// from bits 2s of qh[32h + l]; scale index (128h + 32s + l) / 16.
void decode_q6_k(const BlockQ6_K& b, float* y) {
    const float d = half_to_float(b.d);
    for (int k = 0; k < 256; ++k) {
        const int half = k / 128, s = (k % 128) / 32, l = k % 32;
        const std::uint8_t low_byte = b.ql[64 * half + l + 32 * (s & 1)];
        const int low = (s < 2) ? (low_byte & 0x0f) : (low_byte >> 4);
        const int high = (b.qh[32 * half + l] >> (2 * s)) & 3;
        const float dl = d * static_cast<float>(b.scales[k / 16]);
        y[k] = dl * static_cast<float>((low | (high << 4)) - 32);
    }
}

// Sign pattern i (7 bits): bit 7 makes the count of negative signs even.
std::uint8_t iq2_signs(std::uint32_t i) {
    return static_cast<std::uint8_t>(i | ((std::popcount(i) & 1u) << 7));
}

void decode_iq2_xxs(const BlockIQ2_XXS& b, float* y) {
    const float d = half_to_float(b.d);
    for (int group = 0; group < 8; ++group) {
        const std::uint32_t indices =
            b.qs[4 * group] | (static_cast<std::uint32_t>(b.qs[4 * group + 1]) << 16);
        const std::uint32_t rest =
            b.qs[4 * group + 2] | (static_cast<std::uint32_t>(b.qs[4 * group + 3]) << 16);
        const float db = d * (0.5f + static_cast<float>(rest >> 28)) * 0.25f;
        for (int part = 0; part < 4; ++part) {
            const std::uint16_t point = kIq2xxsGrid[(indices >> (8 * part)) & 0xff];
            const std::uint8_t signs = iq2_signs((rest >> (7 * part)) & 0x7f);
            for (int j = 0; j < 8; ++j) {
                const float grid = static_cast<float>(kIq2xxsGridValues[(point >> (2 * j)) & 3]);
                y[32 * group + 8 * part + j] = db * grid * ((signs >> j) & 1 ? -1.0f : 1.0f);
            }
        }
    }
}

// E2M1 values, doubled so that they are integers; the E8M0 scale is halved to compensate.
constexpr std::int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

float e8m0_half(std::uint8_t e) {
    const std::uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<std::uint32_t>(e - 1) << 23);
    return std::bit_cast<float>(bits);
}

void decode_mxfp4(const BlockMXFP4& b, float* y) {
    const float d = e8m0_half(b.e);
    for (int j = 0; j < 16; ++j) {
        y[j] = d * static_cast<float>(kMxfp4Values[b.qs[j] & 0x0f]);
        y[j + 16] = d * static_cast<float>(kMxfp4Values[b.qs[j] >> 4]);
    }
}

template <typename Block, int Elements>
void decode_blocks(void (*decode)(const Block&, float*), const void* src, float* dst, std::int64_t n) {
    const auto* blocks = static_cast<const Block*>(src);
    for (std::int64_t i = 0; i < n / Elements; ++i) decode(blocks[i], dst + i * Elements);
}

} // namespace

bool is_weight_type(DType type) {
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

void dequantize_row(DType type, const void* src, float* dst, std::int64_t n) {
    switch (type) {
    case DType::F32:
        std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
        return;
    case DType::F16: {
        const auto* h = static_cast<const std::uint16_t*>(src);
        for (std::int64_t i = 0; i < n; ++i) dst[i] = half_to_float(h[i]);
        return;
    }
    case DType::BF16: {
        const auto* h = static_cast<const std::uint16_t*>(src);
        for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(h[i]);
        return;
    }
    case DType::Q4_0:
        return decode_blocks<BlockQ4_0, kBlock32>(decode_q4_0, src, dst, n);
    case DType::Q4_1:
        return decode_blocks<BlockQ4_1, kBlock32>(decode_q4_1, src, dst, n);
    case DType::Q5_0:
        return decode_blocks<BlockQ5_0, kBlock32>(decode_q5_0, src, dst, n);
    case DType::Q5_1:
        return decode_blocks<BlockQ5_1, kBlock32>(decode_q5_1, src, dst, n);
    case DType::Q8_0:
        return decode_blocks<BlockQ8_0, kBlock32>(decode_q8_0, src, dst, n);
    case DType::Q2_K:
        return decode_blocks<BlockQ2_K, kBlockK>(decode_q2_k, src, dst, n);
    case DType::Q3_K:
        return decode_blocks<BlockQ3_K, kBlockK>(decode_q3_k, src, dst, n);
    case DType::Q4_K:
        return decode_blocks<BlockQ4_K, kBlockK>(decode_q4_k, src, dst, n);
    case DType::Q5_K:
        return decode_blocks<BlockQ5_K, kBlockK>(decode_q5_k, src, dst, n);
    case DType::Q6_K:
        return decode_blocks<BlockQ6_K, kBlockK>(decode_q6_k, src, dst, n);
    case DType::IQ2_XXS:
        return decode_blocks<BlockIQ2_XXS, kBlockK>(decode_iq2_xxs, src, dst, n);
    case DType::MXFP4:
        return decode_blocks<BlockMXFP4, kBlock32>(decode_mxfp4, src, dst, n);
    default:
        break;
    }
    // Callers check is_weight_type first; a missed check shows up as NaN rather than plausible numbers.
    for (std::int64_t i = 0; i < n; ++i) dst[i] = std::numeric_limits<float>::quiet_NaN();
}

double dot_reference(DType type, const void* row, const float* x, std::int64_t n) {
    std::vector<float> w(static_cast<std::size_t>(n));
    dequantize_row(type, row, w.data(), n);
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[static_cast<std::size_t>(i)]) * x[i];
    return sum;
}

} // namespace lectern::kernels::quant
