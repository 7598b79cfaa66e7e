#version 450
#extension GL_GOOGLE_include_directive : require
// x = bf16(x), round to nearest even, in place (kernels/cpu/graph_ops.h round_to_bf16). Works on the bits,
// so subnormals and NaN pass through as the CPU rounds them.
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) buffer X { uint x[]; };
layout(push_constant) uniform Push {
    uint count;
} p;

void main() {
    const uint i = flat_invocation(256u);
    if (i >= p.count) return;
    const uint bits = x[i];
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        x[i] = (bits & 0xFFFF0000u) | 0x00400000u;
    else
        x[i] = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
}
