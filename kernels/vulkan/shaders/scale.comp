#version 450
#extension GL_GOOGLE_include_directive : require
// x *= factor in place (kernels/cpu/graph_ops.h scale).
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Push {
    uint count;
    float factor;
} p;

void main() {
    const uint i = flat_invocation(256u);
    if (i < p.count) x[i] *= p.factor;
}
