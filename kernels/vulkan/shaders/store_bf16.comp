#version 450
#extension GL_GOOGLE_include_directive : require
// dst rows = bf16(src rows), round to nearest even as kernels/cpu/numerics.h f32_to_bf16 (NaN keeps its
// sign and top payload bits and turns quiet), graph_ops.h store_bf16. One invocation per 32-bit word of
// dst, i.e. per pair of values of one row (the host checks that rows start and end on word boundaries), so
// no two invocations write halves of the same word.
layout(local_size_x = 256) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer S { uint src[]; };
layout(std430, binding = 1) writeonly buffer D { uint dst[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint pairs;       // per row
    uint src_offset;  // floats
    uint src_stride;
    uint dst_offset;  // words
    uint dst_stride;
} p;

uint to_bf16(uint bits) {
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x40u;
    return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
}

void main() {
    const uint i = flat_invocation(256u);
    if (i >= p.rows * p.pairs) return;
    const uint row = i / p.pairs, pair = i % p.pairs;
    const uint from = p.src_offset + row * p.src_stride + 2u * pair;
    dst[p.dst_offset + row * p.dst_stride + pair] = to_bf16(src[from]) | (to_bf16(src[from + 1u]) << 16);
}
