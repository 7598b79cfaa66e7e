#version 450
#extension GL_GOOGLE_include_directive : require
// The MoE router's scores s = sqrt(softplus(v)) (kernels/cpu/graph_ops.h sqrt_softplus) in fp32. GLSL has
// no log1p, and log near 1 is only promised to an absolute 2^-21 (a large relative error for small
// results), so for x = e^v <= 1 log(1 + x) = 2 atanh(x / (2 + x)) is summed as a series (ratio <= 1/9).
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer L { float logits[]; };
layout(std430, binding = 1) writeonly buffer S { float scores[]; };
layout(push_constant) uniform Push {
    uint count;
} p;

float log1p_of_positive(float x) {
    if (x > 1.0) return log(1.0 + x);
    const float s = x / (2.0 + x), s2 = s * s;
    float power = s, sum = s;
    for (int i = 3; i <= 21; i += 2) {
        power *= s2;
        sum += power / float(i);
    }
    return 2.0 * sum;
}

void main() {
    const uint i = flat_invocation(256u);
    if (i >= p.count) return;
    const float v = logits[i];
    scores[i] = sqrt(v > 20.0 ? v : log1p_of_positive(exp(v)));
}
