#version 450
#extension GL_GOOGLE_include_directive : require
// MoE expert dispatch (kernels/cpu/graph_ops.h), one invocation per value:
// gather (default): dst[i] = src[rows[i]]; SCATTER: dst[rows[i]] += src[i] (rows distinct, so no two
// invocations touch the same value). An index at or past `bound` (the rows src or dst holds) is never
// followed: gather writes NaN there, scatter skips it.
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer S { float src[]; };
layout(std430, binding = 1) readonly buffer R { uint rows[]; };
layout(std430, binding = 2) buffer D { float dst[]; };
layout(push_constant) uniform Push {
    uint count;
    uint dim;
    uint bound;
} p;

void main() {
    const uint id = flat_invocation(256u);
    if (id >= p.count * p.dim) return;
    const uint i = id / p.dim, c = id % p.dim;
    const uint row = rows[i];
#ifdef SCATTER
    if (row < p.bound) dst[row * p.dim + c] += src[id];
#else
    dst[id] = row < p.bound ? src[row * p.dim + c] : uintBitsToFloat(0x7FC00000u);
#endif
}
