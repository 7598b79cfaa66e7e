// weight_at(o, i): element [o, i] of the weight matrix as a float, for the FORMAT the includer defines:
// 0 F32, 1 BF16, 2 F8_E4M3_BLOCK128 (+ e8m0 scales [ceil(out/128), ceil(in/128)] at binding 2),
// 3 FP4_E2M1_BLOCK32 (+ e8m0 scales [out, in/32] at binding 2), 4 F16, or a GGUF block type
// (gguf_blocks.glsl), each row a whole number of blocks. The weight is binding 1; the includer declares
// the push constants `p` with an in_features field.
#include "bytes.glsl"
#include "numbers.glsl"

#if FORMAT == 0
layout(std430, binding = 1) readonly buffer W { float w[]; };
float weight_at(uint o, uint i) {
    return w[o * p.in_features + i];
}
#elif FORMAT == 1
HALVES_BUFFER(w, 1)
float weight_at(uint o, uint i) {
    return bf16_to_float(w_half(o * p.in_features + i));
}
#elif FORMAT == 2
BYTES_BUFFER(w, 1)
BYTES_BUFFER(scales, 2)
float weight_at(uint o, uint i) {
    const uint scale_columns = (p.in_features + 127u) / 128u;
    return e4m3_to_float(w_byte(o * p.in_features + i)) *
           e8m0_to_float(scales_byte((o / 128u) * scale_columns + i / 128u));
}
#elif FORMAT == 3
BYTES_BUFFER(w, 1)
BYTES_BUFFER(scales, 2)
float weight_at(uint o, uint i) {
    const uint b = w_byte(o * (p.in_features / 2u) + i / 2u);
    return fp4_to_float((i & 1u) != 0u ? b >> 4 : b & 15u) *
           e8m0_to_float(scales_byte(o * (p.in_features / 32u) + i / 32u));
}
#elif FORMAT == 4
HALVES_BUFFER(w, 1)
float weight_at(uint o, uint i) {
    return unpackHalf2x16(w_half(o * p.in_features + i)).x;
}
#elif FORMAT >= 10
BYTES_BUFFER(w, 1)
#include "gguf_blocks.glsl"
float weight_at(uint o, uint i) {
    const uint row_bytes = p.in_features / BLOCK_ELEMENTS * BLOCK_BYTES;
    return block_element(o * row_bytes + i / BLOCK_ELEMENTS * BLOCK_BYTES, i % BLOCK_ELEMENTS);
}
#endif
