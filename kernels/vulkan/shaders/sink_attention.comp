#version 450
#extension GL_GOOGLE_include_directive : require
// Pass 2 of sink_attention (kernels/cpu/ops.h): the softmax over a head's logits and its sink logit
// (whose value is zero), probabilities rounded to bf16, then the weighted sum of the entries. A
// workgroup takes one head and OUT_TILE output dims; its SPLITS x OUT_TILE invocations each sum every
// SPLITS-th entry for one dim, and shared memory adds up the SPLITS partial sums.
#define WG_SIZE 256
#define OUT_TILE 64
#define SPLITS (WG_SIZE / OUT_TILE)
layout(local_size_x = WG_SIZE) in;
#include "numbers.glsl"
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer L { float logits[]; };      // [heads, count]
layout(std430, binding = 1) readonly buffer E { float entries[]; };     // [count, dim]
layout(std430, binding = 2) readonly buffer S { float sinks[]; };       // [heads]
layout(std430, binding = 3) writeonly buffer O { float out_values[]; }; // [heads, dim]
layout(push_constant) uniform Push {
    uint heads;
    uint count;
    uint dim;
} p;

shared float partial[WG_SIZE];

void main() {
    const uint head = gl_WorkGroupID.y, row = head * p.count;
    const float sink = sinks[head];
    float top = sink;
    for (uint e = gl_LocalInvocationID.x; e < p.count; e += WG_SIZE) top = max(top, logits[row + e]);
    top = reduce_max(top);
    float sum = 0.0;
    for (uint e = gl_LocalInvocationID.x; e < p.count; e += WG_SIZE) sum += exp(logits[row + e] - top);
    const float denominator = reduce_add(sum) + exp(sink - top);

    const uint lane = gl_LocalInvocationID.x % OUT_TILE, split = gl_LocalInvocationID.x / OUT_TILE;
    const uint i = gl_WorkGroupID.x * OUT_TILE + lane;
    float value = 0.0;
    if (i < p.dim)
        for (uint e = split; e < p.count; e += SPLITS)
            value += round_bf16(exp(logits[row + e] - top) / denominator) * entries[e * p.dim + i];
    partial[gl_LocalInvocationID.x] = value;
    barrier();
    if (split == 0u && i < p.dim) {
        float total = 0.0;
        for (uint s = 0; s < SPLITS; ++s) total += partial[s * OUT_TILE + lane];
        out_values[head * p.dim + i] = total;
    }
}
