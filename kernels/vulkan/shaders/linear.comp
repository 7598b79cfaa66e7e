#version 450
#extension GL_GOOGLE_include_directive : require
// y[r, o] = sum_i x[r, i] * W[o, i] (kernels/cpu/ops.h linear). One workgroup per output feature and
// ROW_TILE activation rows, so each weight element is read and decoded once per tile.
// FORMAT: 0 F32, 1 BF16, 2 F8_E4M3_BLOCK128 (+ e8m0 scales [ceil(out/128), ceil(in/128)]),
//         3 FP4_E2M1_BLOCK32 (+ e8m0 scales [out, in/32]).
#define WG_SIZE 256
#define ROW_TILE 4 // the four lanes of a vec4 accumulator
layout(local_size_x = WG_SIZE) in;
#include "bytes.glsl"
#include "numbers.glsl"
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint out_features;
    uint in_features;
} p;

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
#endif

void main() {
    const uint o = workgroup_row();
    if (o >= p.out_features) return;
    const uint first_row = gl_WorkGroupID.z * ROW_TILE;
    vec4 acc = vec4(0.0);
    for (uint i = gl_LocalInvocationID.x; i < p.in_features; i += WG_SIZE) {
        const float weight = weight_at(o, i);
        for (uint t = 0; t < ROW_TILE; ++t)
            if (first_row + t < p.rows) acc[t] += x[(first_row + t) * p.in_features + i] * weight;
    }
    const vec4 total = reduce_add4(acc);
    if (gl_LocalInvocationID.x < ROW_TILE && first_row + gl_LocalInvocationID.x < p.rows)
        y[(first_row + gl_LocalInvocationID.x) * p.out_features + o] = total[gl_LocalInvocationID.x];
}
