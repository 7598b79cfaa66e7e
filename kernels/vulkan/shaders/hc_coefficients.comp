#version 450
#extension GL_GOOGLE_include_directive : require
// mHC mixing coefficients (kernels/cpu/graph_ops.h hc_coefficients), one workgroup per token: the mean
// square of its hc streams (an fp32 workgroup sum where the CPU sums in double), then one invocation per
// coefficient: pre = sigmoid(scale0 m + base) + hc_eps; with_post: post = 2 sigmoid(scale1 m + base) and
// comb = scale2 m + base, where m = projection * inverse_rms.
#define WG_SIZE 256
layout(local_size_x = WG_SIZE) in;
#include "reduce.glsl"

layout(std430, binding = 0) readonly buffer P { float projections[]; };
layout(std430, binding = 1) readonly buffer S { float streams[]; };
layout(std430, binding = 2) readonly buffer C { float scale[]; };
layout(std430, binding = 3) readonly buffer B { float base[]; };
layout(std430, binding = 4) writeonly buffer Pre { float pre[]; };
layout(std430, binding = 5) writeonly buffer Post { float post[]; };
layout(std430, binding = 6) writeonly buffer Comb { float comb[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint hc;
    uint dim;
    uint with_post;
    float norm_eps;
    float hc_eps;
} p;

float sigmoid(float v) {
    return 1.0 / (1.0 + exp(-v));
}

void main() {
    const uint row = workgroup_row();
    if (row >= p.rows) return;
    const uint n = p.hc * p.dim, first = row * n;
    float squares = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < n; i += WG_SIZE)
        squares += streams[first + i] * streams[first + i];
    squares = reduce_add(squares);
    const float inverse_rms = 1.0 / sqrt(squares / float(n) + p.norm_eps);
    const uint count = (p.with_post != 0u ? 2u + p.hc : 1u) * p.hc; // projections per token
    const uint r = gl_LocalInvocationID.x;
    if (r >= count) return;
    const float m = projections[row * count + r] * inverse_rms;
    if (r < p.hc) {
        pre[row * p.hc + r] = sigmoid(scale[0] * m + base[r]) + p.hc_eps;
    } else if (r < 2u * p.hc) {
        post[row * p.hc + r - p.hc] = 2.0 * sigmoid(scale[1] * m + base[r]);
    } else {
        comb[row * p.hc * p.hc + r - 2u * p.hc] = scale[2] * m + base[r];
    }
}
