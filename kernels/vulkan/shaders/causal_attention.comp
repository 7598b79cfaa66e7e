#version 450
#extension GL_GOOGLE_include_directive : require
// Causal grouped-query attention over an fp16 key/value cache (kernels/vulkan/dense_ops.h
// causal_attention): query row r (at position first + r) of head h sees cache positions 0 .. first + r of
// key/value head h / (heads / kv_heads). As the dense CPU graph (and llama.cpp) does, the query and the
// probabilities are rounded to fp16 before they multiply the fp16 cache.
// One workgroup per (row, head). Pass 1: each invocation scores every WG_SIZE-th position with a running
// max and sum; the workgroup combines them. Pass 2: WG_SIZE positions at a time, each invocation makes one
// probability in shared memory, then each sums its output dims over them.
#define WG_SIZE 64
#define MAX_HEAD_DIM 256
#define DIMS_PER_INVOCATION (MAX_HEAD_DIM / WG_SIZE)
layout(local_size_x = WG_SIZE) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer Q { float queries[]; }; // [rows, heads, head_dim]
layout(std430, binding = 1) readonly buffer KC { uint key_cache[]; };   // [capacity, kv_heads * head_dim / 2]
layout(std430, binding = 2) readonly buffer VC { uint value_cache[]; }; // [capacity, kv_heads * head_dim / 2]
layout(std430, binding = 3) readonly buffer F { uint first; };
layout(std430, binding = 4) writeonly buffer O { float out_values[]; }; // [rows, heads, head_dim]
layout(push_constant) uniform Push {
    uint rows;
    uint heads;
    uint kv_heads;
    uint head_dim;
    float scale;
} p;

shared float query[MAX_HEAD_DIM];
shared float probabilities[WG_SIZE];

float round_to_half(float v) {
    return unpackHalf2x16(packHalf2x16(vec2(v, 0.0))).x;
}

float score(uint position, uint key_base) {
    const uint base = (position * p.kv_heads * p.head_dim + key_base) / 2u;
    float sum = 0.0;
    for (uint i = 0; i < p.head_dim / 2u; ++i) {
        const vec2 k = unpackHalf2x16(key_cache[base + i]);
        sum += query[2u * i] * k.x + query[2u * i + 1u] * k.y;
    }
    return sum * p.scale;
}

void main() {
    const uint job = workgroup_row();
    if (job >= p.rows * p.heads) return; // uniform across the workgroup
    const uint row = job / p.heads, head = job % p.heads;
    const uint kv_base = (head / (p.heads / p.kv_heads)) * p.head_dim;
    const uint visible = first + row + 1u;
    const uint lid = gl_LocalInvocationID.x;
    for (uint d = lid; d < p.head_dim; d += WG_SIZE)
        query[d] = round_to_half(queries[job * p.head_dim + d]);
    barrier();

    float local_max = uintBitsToFloat(0xff800000u), local_sum = 0.0; // -infinity
    for (uint j = lid; j < visible; j += WG_SIZE) {
        const float s = score(j, kv_base);
        if (s > local_max) {
            local_sum = local_sum * exp(local_max - s) + 1.0;
            local_max = s;
        } else {
            local_sum += exp(s - local_max);
        }
    }
    const float top = reduce_max(local_max);
    const float total = reduce_add(local_sum > 0.0 ? local_sum * exp(local_max - top) : 0.0);
    const float inverse_total = 1.0 / total;

    float acc[DIMS_PER_INVOCATION];
    for (uint c = 0; c < DIMS_PER_INVOCATION; ++c) acc[c] = 0.0;
    for (uint tile = 0; tile < visible; tile += WG_SIZE) {
        const uint j = tile + lid;
        const float probability = j < visible ? round_to_half(exp(score(j, kv_base) - top) * inverse_total) : 0.0;
        barrier(); // the previous tile's probabilities are no longer read
        probabilities[lid] = probability;
        barrier();
        const uint count = min(uint(WG_SIZE), visible - tile);
        for (uint c = 0; c < DIMS_PER_INVOCATION; ++c) {
            const uint d = lid + c * WG_SIZE;
            if (d >= p.head_dim) break;
            const uint column = kv_base + d;
            for (uint t = 0; t < count; ++t) {
                const uint word = ((tile + t) * p.kv_heads * p.head_dim + column) / 2u;
                const vec2 v = unpackHalf2x16(value_cache[word]);
                acc[c] += probabilities[t] * ((column & 1u) == 0u ? v.x : v.y);
            }
        }
    }
    for (uint c = 0; c < DIMS_PER_INVOCATION; ++c) {
        const uint d = lid + c * WG_SIZE;
        if (d < p.head_dim) out_values[job * p.head_dim + d] = acc[c];
    }
}
