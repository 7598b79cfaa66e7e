#pragma once
// The byte layouts of ggml's block types, as GGUF files store them (little-endian, no padding). Sizes are
// checked against the dtype table so that a layout and its table entry can never disagree.

#include "kernels/dtype.h"

#include <cstdint>

namespace lectern::kernels::quant {

inline constexpr int kBlock32 = 32;
inline constexpr int kBlockK = 256; // "super-blocks" of the K-quants, IQ2_XXS and Q8_K

// Each block is `scale(s)` then packed quants; fp16 fields are raw IEEE half bits.
struct BlockQ4_0 {
    std::uint16_t d;
    std::uint8_t qs[16]; // element j in the low nibble of qs[j], element j + 16 in the high nibble
};
struct BlockQ4_1 {
    std::uint16_t d, m; // x = d * q + m
    std::uint8_t qs[16];
};
struct BlockQ5_0 {
    std::uint16_t d;
    std::uint8_t qh[4]; // bit j: the fifth bit of element j
    std::uint8_t qs[16];
};
struct BlockQ5_1 {
    std::uint16_t d, m;
    std::uint8_t qh[4];
    std::uint8_t qs[16];
};
struct BlockQ8_0 {
    std::uint16_t d;
    std::int8_t qs[32];
};
struct BlockQ8_1 {
    std::uint16_t d, s; // s = d * sum(qs), used by the Q4_1 / Q5_1 dot products
    std::int8_t qs[32];
};
struct BlockQ2_K {
    std::uint8_t scales[16]; // per 16 elements: low nibble scale, high nibble min
    std::uint8_t qs[64];
    std::uint16_t d, dmin;
};
struct BlockQ3_K {
    std::uint8_t hmask[32];
    std::uint8_t qs[64];
    std::uint8_t scales[12]; // sixteen 6-bit scales, offset by 32
    std::uint16_t d;
};
struct BlockQ4_K {
    std::uint16_t d, dmin;
    std::uint8_t scales[12]; // eight 6-bit scales and eight 6-bit mins
    std::uint8_t qs[128];
};
struct BlockQ5_K {
    std::uint16_t d, dmin;
    std::uint8_t scales[12];
    std::uint8_t qh[32];
    std::uint8_t qs[128];
};
struct BlockQ6_K {
    std::uint8_t ql[128];
    std::uint8_t qh[64];
    std::int8_t scales[16];
    std::uint16_t d;
};
struct BlockQ8_K {
    float d;
    std::int8_t qs[256];
    std::int16_t bsums[16]; // sums of each 16 quants
};
struct BlockIQ2_XXS {
    std::uint16_t d;
    std::uint16_t qs[32]; // per 32 elements: 4 grid indices (bytes), then 4 x 7 sign bits and a 4-bit scale
};
struct BlockMXFP4 {
    std::uint8_t e; // E8M0 shared exponent
    std::uint8_t qs[16];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ2_XXS) == 66 && sizeof(BlockMXFP4) == 17);

} // namespace lectern::kernels::quant
