#version 450
#extension GL_GOOGLE_include_directive : require
// The mHC stream mixes (kernels/cpu/graph_ops.h) for `rows` tokens of `hc` streams [rows, hc, dim], one
// invocation per output value, in fp32.
// PRE:  u[row, i] = sum_j weights[row, j] s[row, j, i]                         (weights = pre [rows, hc])
// else: out[row, k, i] = post[row, k] y[row, i] + sum_j comb[row, j, k] s[row, j, i]
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer S { float streams[]; };
layout(std430, binding = 1) readonly buffer A { float first[]; }; // pre, or post
layout(std430, binding = 2) readonly buffer B { float second[]; }; // comb (post mix only)
layout(std430, binding = 3) readonly buffer Y { float y[]; }; // the block output (post mix only)
layout(std430, binding = 4) writeonly buffer O { float out_values[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint hc;
    uint dim;
} p;

void main() {
    const uint id = flat_invocation(256u);
    const uint i = id % p.dim;
#ifdef PRE
    if (id >= p.rows * p.dim) return;
    const uint row = id / p.dim;
    float sum = 0.0;
    for (uint j = 0u; j < p.hc; ++j) sum += first[row * p.hc + j] * streams[(row * p.hc + j) * p.dim + i];
#else
    if (id >= p.rows * p.hc * p.dim) return;
    const uint row = id / (p.hc * p.dim), k = (id / p.dim) % p.hc;
    float sum = first[row * p.hc + k] * y[row * p.dim + i];
    for (uint j = 0u; j < p.hc; ++j)
        sum += second[(row * p.hc + j) * p.hc + k] * streams[(row * p.hc + j) * p.dim + i];
#endif
    out_values[id] = sum;
}
