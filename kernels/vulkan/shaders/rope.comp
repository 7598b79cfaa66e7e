#version 450
#extension GL_GOOGLE_include_directive : require
// Rotates the (2i, 2i+1) pairs of dims [rope_offset, rope_offset + 2*pairs) of each head of each row by the
// row's angles (kernels/cpu/ops.h rope_interleaved). The cos/sin come from a table made on the host in
// double precision: in fp32 the angle of a position near 10^6 would lose its phase.
layout(local_size_x = 64) in;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Table { vec2 cos_sin[]; }; // [rows, pairs]
layout(push_constant) uniform Push {
    uint rows;
    uint heads;
    uint head_dim;
    uint rope_offset;
    uint pairs;
    uint inverse;
} p;

void main() {
    const uint index = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (index >= p.rows * p.heads * p.pairs) return;
    const uint pair = index % p.pairs, head = (index / p.pairs) % p.heads, row = index / (p.pairs * p.heads);
    const vec2 cs = cos_sin[row * p.pairs + pair];
    const float c = cs.x, s = p.inverse != 0u ? -cs.y : cs.y;
    const uint at = (row * p.heads + head) * p.head_dim + p.rope_offset + 2u * pair;
    const float a = x[at], b = x[at + 1u];
    x[at] = a * c - b * s;
    x[at + 1u] = a * s + b * c;
}
