#version 450
#extension GL_GOOGLE_include_directive : require
// y[r, o] = sum_i x[r, i] * W[o, i] (kernels/cpu/ops.h linear) for a few rows (decode): one workgroup per
// output feature and ROW_TILE activation rows, so each weight element is read and decoded once per tile.
// Many rows (prefill) go to linear_tiled.comp instead.
#define WG_SIZE 256
#define ROW_TILE 4 // the four lanes of a vec4 accumulator
layout(local_size_x = WG_SIZE) in;
#include "reduce.glsl"

#ifndef Q8_ACTIVATIONS
layout(std430, binding = 0) readonly buffer X { float x[]; };
#endif
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint out_features;
    uint in_features;
} p;

#include "weights.glsl"
#ifdef Q8_ACTIVATIONS
#include "q8_activations.glsl"
#endif

void main() {
    const uint o = workgroup_row();
    if (o >= p.out_features) return;
    const uint first_row = gl_WorkGroupID.z * ROW_TILE;
    vec4 acc = vec4(0.0);
#ifdef Q8_ACTIVATIONS
    // Whole blocks per invocation: integer products against the quantized activations.
    for (uint b = gl_LocalInvocationID.x; b < p.in_features / 32u; b += WG_SIZE) {
        const WeightBlock w = weight_block(o, b);
        for (uint t = 0; t < ROW_TILE; ++t)
            if (first_row + t < p.rows) acc[t] += block_product(w, first_row + t, b);
    }
#else
    // Four consecutive elements per invocation: they share a word of byte formats and a block's scales,
    // which the compiler then loads once.
    for (uint base = gl_LocalInvocationID.x * 4u; base < p.in_features; base += WG_SIZE * 4u) {
        for (uint v = 0; v < 4u; ++v) {
            const uint i = base + v;
            if (i >= p.in_features) break;
            const float weight = weight_at(o, i);
            for (uint t = 0; t < ROW_TILE; ++t)
                if (first_row + t < p.rows) acc[t] += x[(first_row + t) * p.in_features + i] * weight;
        }
    }
#endif
    const vec4 total = reduce_add4(acc);
    if (gl_LocalInvocationID.x < ROW_TILE && first_row + gl_LocalInvocationID.x < p.rows)
        y[(first_row + gl_LocalInvocationID.x) * p.out_features + o] = total[gl_LocalInvocationID.x];
}
