#version 450
#extension GL_GOOGLE_include_directive : require
// The lightning indexer's scores (kernels/cpu/graph_ops.h indexer_scores) for `rows` queries
// [rows, heads, dim] with their head weights [rows, heads], over the same `count` keys [count, dim]:
// scores[row, j] = sum_h weights[row, h] * max(0, q_h . key_j), in fp32. A workgroup takes 64 keys of one
// query row; the query passes through shared memory in tiles of HEAD_TILE heads x DIM_TILE dims, and each
// invocation keeps its key's HEAD_TILE dot products in registers. Every dot sums its dims in order and the
// heads add in order, as the CPU does. With KEYS_BF16 the keys hold bf16, two per word (graph_ops.h
// Storage::BF16).
#define KEYS 64
#define HEAD_TILE 16
#define DIM_TILE 64
layout(local_size_x = KEYS) in;

layout(std430, binding = 0) readonly buffer Q { float queries[]; };
layout(std430, binding = 1) readonly buffer W { float weights[]; };
#ifdef KEYS_BF16
#include "bytes.glsl"
#include "numbers.glsl"
HALVES_BUFFER(keys, 2)
float key_at(uint i) {
    return bf16_to_float(keys_half(i));
}
#else
layout(std430, binding = 2) readonly buffer K { float keys[]; };
float key_at(uint i) {
    return keys[i];
}
#endif
layout(std430, binding = 3) writeonly buffer S { float scores[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint heads;
    uint count;
    uint dim;
} p;

shared float query_tile[HEAD_TILE * DIM_TILE];

void main() {
    const uint row = gl_WorkGroupID.y, lid = gl_LocalInvocationID.x;
    const uint j = gl_WorkGroupID.x * KEYS + lid;
    const bool valid = j < p.count;
    float score = 0.0;
    for (uint h0 = 0u; h0 < p.heads; h0 += HEAD_TILE) {
        float logit[HEAD_TILE];
        for (uint h = 0u; h < HEAD_TILE; ++h) logit[h] = 0.0;
        for (uint d0 = 0u; d0 < p.dim; d0 += DIM_TILE) {
            barrier(); // the previous tile is no longer read
            for (uint t = lid; t < HEAD_TILE * DIM_TILE; t += KEYS) {
                const uint h = h0 + t / DIM_TILE, d = d0 + t % DIM_TILE;
                query_tile[t] = h < p.heads && d < p.dim ? queries[(row * p.heads + h) * p.dim + d] : 0.0;
            }
            barrier();
            if (valid) {
                const uint dims = min(DIM_TILE, p.dim - d0);
                for (uint d = 0u; d < dims; ++d) {
                    const float k = key_at(j * p.dim + d0 + d);
                    for (uint h = 0u; h < HEAD_TILE; ++h) logit[h] += query_tile[h * DIM_TILE + d] * k;
                }
            }
        }
        const uint tile_heads = min(HEAD_TILE, p.heads - h0);
        for (uint h = 0u; h < tile_heads; ++h) score += weights[row * p.heads + h0 + h] * max(0.0, logit[h]);
    }
    if (valid) scores[row * p.count + j] = score;
}
