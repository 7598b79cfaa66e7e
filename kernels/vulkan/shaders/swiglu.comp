#version 450
#extension GL_GOOGLE_include_directive : require
// y = silu(min(gate, limit)) * clamp(up, -limit, limit) * row_scale[row] (kernels/cpu/graph_ops.h swiglu),
// in fp32 where the CPU takes silu in double.
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer G { float gate[]; };
layout(std430, binding = 1) readonly buffer U { float up[]; };
layout(std430, binding = 2) readonly buffer S { float row_scale[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint n;
    uint has_row_scale;
    float limit;
} p;

void main() {
    const uint i = flat_invocation(256u);
    if (i >= p.rows * p.n) return;
    // As std::min and std::clamp: a NaN passes through (GLSL's min and clamp leave NaN undefined).
    const float g = p.limit < gate[i] ? p.limit : gate[i];
    const float u = up[i] < -p.limit ? -p.limit : (p.limit < up[i] ? p.limit : up[i]);
    const float silu = g / (1.0 + exp(-g));
    y[i] = silu * u * (p.has_row_scale != 0u ? row_scale[i / p.n] : 1.0);
}
