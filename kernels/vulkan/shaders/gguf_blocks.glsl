// Element j of a ggml block that starts at byte `at` of the weight buffer `w` (layouts in
// kernels/cpu/quant/blocks.h; values as kernels/cpu/quant/dequantize.cpp decodes them). The includer
// declares BYTES_BUFFER(w, ...) first and defines FORMAT as one of the GGUF_* numbers below.
#define GGUF_Q4_0 10
#define GGUF_Q4_1 11
#define GGUF_Q5_0 12
#define GGUF_Q5_1 13
#define GGUF_Q8_0 14
#define GGUF_Q2_K 20
#define GGUF_Q3_K 21
#define GGUF_Q4_K 22
#define GGUF_Q5_K 23
#define GGUF_Q6_K 24
#define GGUF_MXFP4 30
#define GGUF_IQ2_XXS 31

uint u16_at(uint at) {
    return w_byte(at) | (w_byte(at + 1u) << 8);
}
float f16_at(uint at) {
    return unpackHalf2x16(u16_at(at)).x;
}
int i8_at(uint at) {
    return int(w_byte(at) << 24) >> 24;
}
uint u32_at(uint at) {
    return u16_at(at) | (u16_at(at + 2u) << 16);
}
// Element j of 32 packed as nibbles: j in the low nibble of byte j, j + 16 in the high nibble of byte j.
uint nibble32(uint qs, uint j) {
    return j < 16u ? w_byte(qs + j) & 15u : w_byte(qs + j - 16u) >> 4;
}

#if FORMAT == GGUF_Q4_0
#define BLOCK_ELEMENTS 32u
#define BLOCK_BYTES 18u
float block_element(uint at, uint j) {
    return float(int(nibble32(at + 2u, j)) - 8) * f16_at(at);
}
#elif FORMAT == GGUF_Q4_1
#define BLOCK_ELEMENTS 32u
#define BLOCK_BYTES 20u
float block_element(uint at, uint j) {
    return float(nibble32(at + 4u, j)) * f16_at(at) + f16_at(at + 2u);
}
#elif FORMAT == GGUF_Q5_0
#define BLOCK_ELEMENTS 32u
#define BLOCK_BYTES 22u
float block_element(uint at, uint j) {
    const uint q = nibble32(at + 6u, j) | (((u32_at(at + 2u) >> j) & 1u) << 4);
    return float(int(q) - 16) * f16_at(at);
}
#elif FORMAT == GGUF_Q5_1
#define BLOCK_ELEMENTS 32u
#define BLOCK_BYTES 24u
float block_element(uint at, uint j) {
    const uint q = nibble32(at + 8u, j) | (((u32_at(at + 4u) >> j) & 1u) << 4);
    return float(q) * f16_at(at) + f16_at(at + 2u);
}
#elif FORMAT == GGUF_Q8_0
#define BLOCK_ELEMENTS 32u
#define BLOCK_BYTES 34u
float block_element(uint at, uint j) {
    return float(i8_at(at + 2u + j)) * f16_at(at);
}
#elif FORMAT == GGUF_Q2_K
#define BLOCK_ELEMENTS 256u
#define BLOCK_BYTES 84u
// scales[16] (low nibble scale, high nibble min per 16), qs[64], d, dmin. Each half of 128 takes 32 bytes
// of qs, four 2-bit planes of them.
float block_element(uint at, uint j) {
    const uint half_index = j / 128u, plane = (j % 128u) / 32u, l = j % 32u;
    const uint q = (w_byte(at + 16u + half_index * 32u + l) >> (2u * plane)) & 3u;
    const uint sc = w_byte(at + half_index * 8u + plane * 2u + l / 16u);
    return f16_at(at + 80u) * float(sc & 15u) * float(q) - f16_at(at + 82u) * float(sc >> 4);
}
#elif FORMAT == GGUF_Q3_K
#define BLOCK_ELEMENTS 256u
#define BLOCK_BYTES 110u
// hmask[32], qs[64], scales[12] (sixteen 6-bit scales offset by 32), d.
float block_element(uint at, uint j) {
    const uint half_index = j / 128u, plane = (j % 128u) / 32u, l = j % 32u;
    const uint q = (w_byte(at + 32u + half_index * 32u + l) >> (2u * plane)) & 3u;
    const bool high = (w_byte(at + l) & (1u << (half_index * 4u + plane))) != 0u;
    const uint s = half_index * 8u + plane * 2u + l / 16u;
    const uint low_bits = s < 8u ? w_byte(at + 96u + s) & 15u : w_byte(at + 96u + s - 8u) >> 4;
    const uint high_bits = (w_byte(at + 104u + s % 4u) >> (2u * (s / 4u))) & 3u;
    const float scale = f16_at(at + 108u) * float(int(low_bits | (high_bits << 4)) - 32);
    return scale * float(int(q) - (high ? 0 : 4));
}
#elif FORMAT == GGUF_Q4_K || FORMAT == GGUF_Q5_K
#define BLOCK_ELEMENTS 256u
#if FORMAT == GGUF_Q4_K
#define BLOCK_BYTES 144u
#else
#define BLOCK_BYTES 176u
#endif
// d, dmin, scales[12] (eight 6-bit scales and mins), [Q5_K: qh[32]], qs[128]; 64 elements per pair of
// sub-blocks: the low nibbles of 32 bytes, then their high nibbles.
float block_element(uint at, uint j) {
    const uint group = j / 64u, r = j % 64u, sub = 2u * group + r / 32u, s = at + 4u;
#if FORMAT == GGUF_Q4_K
    const uint qs = at + 16u;
#else
    const uint qs = at + 48u;
#endif
    const uint packed = w_byte(qs + group * 32u + r % 32u);
    uint q = r < 32u ? packed & 15u : packed >> 4;
#if FORMAT == GGUF_Q5_K
    if ((w_byte(at + 16u + r % 32u) & (1u << sub)) != 0u) q += 16u;
#endif
    uint scale, minimum;
    if (sub < 4u) {
        scale = w_byte(s + sub) & 63u;
        minimum = w_byte(s + sub + 4u) & 63u;
    } else {
        scale = (w_byte(s + sub + 4u) & 15u) | ((w_byte(s + sub - 4u) >> 6) << 4);
        minimum = (w_byte(s + sub + 4u) >> 4) | ((w_byte(s + sub) >> 6) << 4);
    }
    return f16_at(at) * float(scale) * float(q) - f16_at(at + 2u) * float(minimum);
}
#elif FORMAT == GGUF_Q6_K
#define BLOCK_ELEMENTS 256u
#define BLOCK_BYTES 210u
// ql[128], qh[64], int8 scales[16], d. Each half of 128: four quarters of 32 from 64 ql bytes (low
// nibbles, then high) and 32 qh bytes (2 bits per quarter).
float block_element(uint at, uint j) {
    const uint half_index = j / 128u, quarter = (j % 128u) / 32u, l = j % 32u;
    const uint low = w_byte(at + half_index * 64u + l + (quarter & 1u) * 32u);
    const uint nibble = quarter < 2u ? low & 15u : low >> 4;
    const uint high = (w_byte(at + 128u + half_index * 32u + l) >> (2u * quarter)) & 3u;
    const int q = int(nibble | (high << 4)) - 32;
    return f16_at(at + 208u) * float(i8_at(at + 192u + half_index * 8u + l / 16u + 2u * quarter)) * float(q);
}
#elif FORMAT == GGUF_MXFP4
#define BLOCK_ELEMENTS 32u
#define BLOCK_BYTES 17u
// e (e8m0, halved: 2^(e-128)), then 32 e2m1 values as nibbles.
float block_element(uint at, uint j) {
    const int values[16] = int[16](0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
    const uint e = w_byte(at);
    const float d = uintBitsToFloat(e < 2u ? (0x00200000u << e) : ((e - 1u) << 23));
    return d * float(values[nibble32(at + 1u, j)]);
}
#elif FORMAT == GGUF_IQ2_XXS
#define BLOCK_ELEMENTS 256u
#define BLOCK_BYTES 66u
#include "iq2xxs_grid.glsl"
// d, then per 32 elements 8 bytes: four grid-point indices (8 values each), then a word of four 7-bit sign
// patterns (the eighth sign makes the count of minus signs even) and a 4-bit scale in the top bits.
float block_element(uint at, uint j) {
    const uint values[3] = uint[3](0x08u, 0x19u, 0x2bu);
    const uint group = at + 2u + (j / 32u) * 8u, part = (j % 32u) / 8u, e = j % 8u;
    const uint point = IQ2XXS_GRID[w_byte(group + part)];
    const uint rest = u32_at(group + 4u);
    const uint signs = (rest >> (7u * part)) & 127u;
    const bool negative = e == 7u ? (bitCount(signs) & 1u) != 0u : ((signs >> e) & 1u) != 0u;
    const float scale = f16_at(at) * (0.5 + float(rest >> 28)) * 0.25;
    const float magnitude = scale * float(values[(point >> (2u * e)) & 3u]);
    return negative ? -magnitude : magnitude;
}
#endif
