#version 450
#extension GL_GOOGLE_include_directive : require
// Attention of each head's query over `count` shared entries with a sink (kernels/cpu/ops.h
// sink_attention): softmax over q.e * scale and the head's sink logit (whose value is zero), the
// probabilities rounded to bf16, then the weighted sum of the entries. One workgroup per head; the
// logits go through `scratch` [heads, count].
#define WG_SIZE 256
layout(local_size_x = WG_SIZE) in;
#include "numbers.glsl"
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer Q { float queries[]; };   // [heads, dim]
layout(std430, binding = 1) readonly buffer E { float entries[]; };   // [count, dim]
layout(std430, binding = 2) readonly buffer S { float sinks[]; };     // [heads]
layout(std430, binding = 3) coherent buffer Scratch { float scratch[]; };
layout(std430, binding = 4) writeonly buffer O { float out_values[]; }; // [heads, dim]
layout(push_constant) uniform Push {
    uint heads;
    uint count;
    uint dim;
    float scale;
} p;

void main() {
    const uint head = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (head >= p.heads) return;
    const uint q = head * p.dim, logits = head * p.count;
    const float sink = sinks[head];

    float top = sink;
    for (uint e = gl_LocalInvocationID.x; e < p.count; e += WG_SIZE) {
        float dot_product = 0.0;
        for (uint i = 0; i < p.dim; ++i) dot_product += queries[q + i] * entries[e * p.dim + i];
        const float logit = dot_product * p.scale;
        scratch[logits + e] = logit;
        top = max(top, logit);
    }
    top = reduce_max(top);

    float sum = 0.0;
    for (uint e = gl_LocalInvocationID.x; e < p.count; e += WG_SIZE) {
        const float weight = exp(scratch[logits + e] - top);
        scratch[logits + e] = weight;
        sum += weight;
    }
    const float denominator = reduce_add(sum) + exp(sink - top);
    memoryBarrierBuffer(); // the weights written above, visible to the whole workgroup after the barrier
    barrier();

    for (uint i = gl_LocalInvocationID.x; i < p.dim; i += WG_SIZE) {
        float value = 0.0;
        for (uint e = 0; e < p.count; ++e) value += round_bf16(scratch[logits + e] / denominator) * entries[e * p.dim + i];
        out_values[q + i] = value;
    }
}
