#version 450
#extension GL_GOOGLE_include_directive : require
// The lightning indexer's scores (kernels/cpu/graph_ops.h indexer_scores) for `rows` queries
// [rows, heads, dim] with their head weights [rows, heads], over the same `count` keys [count, dim]:
// scores[row, j] = sum_h weights[row, h] * max(0, q_h . key_j), one invocation per (row, key), in fp32.
layout(local_size_x = 64) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer Q { float queries[]; };
layout(std430, binding = 1) readonly buffer W { float weights[]; };
layout(std430, binding = 2) readonly buffer K { float keys[]; };
layout(std430, binding = 3) writeonly buffer S { float scores[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint heads;
    uint count;
    uint dim;
} p;

void main() {
    const uint id = flat_invocation(64u);
    if (id >= p.rows * p.count) return;
    const uint row = id / p.count, j = id % p.count;
    const uint key = j * p.dim;
    float score = 0.0;
    for (uint h = 0u; h < p.heads; ++h) {
        const uint q = (row * p.heads + h) * p.dim;
        float logit = 0.0;
        for (uint i = 0u; i < p.dim; ++i) logit += queries[q + i] * keys[key + i];
        score += weights[row * p.heads + h] * max(0.0, logit);
    }
    scores[id] = score;
}
