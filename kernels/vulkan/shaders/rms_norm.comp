#version 450
#extension GL_GOOGLE_include_directive : require
// y = x / sqrt(mean(x^2) + eps) * weight, one workgroup per row (kernels/cpu/ops.h rms_norm).
#define WG_SIZE 256
layout(local_size_x = WG_SIZE) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float weight[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint n;
    uint has_weight;
    float eps;
} p;

void main() {
    const uint row = workgroup_row();
    if (row >= p.rows) return;
    const uint base = row * p.n;
    float sum_sq = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) sum_sq += x[base + i] * x[base + i];
    sum_sq = reduce_add(sum_sq);
    const float inv = 1.0 / sqrt(sum_sq / float(p.n) + p.eps);
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE)
        y[base + i] = x[base + i] * inv * (p.has_weight != 0 ? weight[i] : 1.0);
}
