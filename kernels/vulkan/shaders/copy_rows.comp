#version 450
#extension GL_GOOGLE_include_directive : require
// dst rows = src rows (+ addend rows), addressed by element offsets and strides (graph_ops.h copy_rows).
// The data moves as 32-bit words, so a copy keeps any bits (indices included); only the addend makes it
// a float sum.
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer S { uint src[]; };
layout(std430, binding = 1) writeonly buffer D { uint dst[]; };
layout(std430, binding = 2) readonly buffer A { float addend[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint n;
    uint src_offset;
    uint src_stride;
    uint dst_offset;
    uint dst_stride;
    uint add_offset;
    uint add_stride;
    uint has_add;
} p;

void main() {
    const uint i = flat_invocation(256u);
    if (i >= p.rows * p.n) return;
    const uint row = i / p.n, column = i % p.n;
    uint bits = src[p.src_offset + row * p.src_stride + column];
    if (p.has_add != 0u)
        bits = floatBitsToUint(uintBitsToFloat(bits) + addend[p.add_offset + row * p.add_stride + column]);
    dst[p.dst_offset + row * p.dst_stride + column] = bits;
}
