#version 450
#extension GL_GOOGLE_include_directive : require
// compressor_chunk (kernels/vulkan/compressor_ops.h): the CPU's per-token compressor state machine
// (inference/model/v4/graph.cpp compress) over `rows` tokens at positions first .. first + rows - 1, in two
// dispatches that only read the old state first and then write the new one.
//
// A token's row (position q) is kv a[q - first] and score z[q - first] + ape[q % ratio]; the state holds
// slot off + j (off = ratio with overlap, else 0) for the current block's position j, and with overlap
// slots [0, ratio) the block before. Candidate j of block b is position b ratio + j's row when that lies in
// the chunk, else the old state's slot off + j (positions before the chunk are in the state, as the CPU
// left them).
//
// POOL: one invocation per (completed block, channel): cpu::compressor_pool over the block's candidates
// (and with overlap, lane 0 of the block before: the old state's slots [0, ratio) for the first block of
// the chunk's current block, else the previous block's candidates), fp32 as compressor_pool.comp.
// Otherwise (STATE): one invocation per (j < ratio, column < lanes * width) writes slot off + j (the last
// chunk token at a position = j mod ratio, else unchanged) and with overlap slot j (the last completed
// block's candidate j, when a block completed). One invocation reads and writes both slots of its element,
// so nothing it reads is written by another invocation. Values move as 32-bit words; only the score's
// z + ape is a float sum.
layout(local_size_x = 64) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer E { float ape[]; };
#ifdef POOL
layout(std430, binding = 3) readonly buffer K { uint state_kv[]; };
layout(std430, binding = 4) readonly buffer S { uint state_score[]; };
layout(std430, binding = 5) writeonly buffer O { float pooled[]; };
#else
layout(std430, binding = 3) buffer K { uint state_kv[]; };
layout(std430, binding = 4) buffer S { uint state_score[]; };
#endif
layout(push_constant) uniform Push {
    uint rows;
    uint first;
    uint ratio;
    uint width;
    uint overlap;
    uint blocks; // completed in this chunk
} p;

uint row_width() {
    return (p.overlap != 0u ? 2u : 1u) * p.width;
}

// Candidate j of block `block`, column `column`, as words: the chunk's row or the old state's slot.
uint candidate_kv(uint block, uint j, uint column) {
    const uint q = block * p.ratio + j;
    if (q >= p.first) return a[(q - p.first) * row_width() + column];
    return state_kv[((p.overlap != 0u ? p.ratio : 0u) + j) * row_width() + column];
}

uint candidate_score(uint block, uint j, uint column) {
    const uint q = block * p.ratio + j;
    if (q >= p.first)
        return floatBitsToUint(z[(q - p.first) * row_width() + column] + ape[j * row_width() + column]);
    return state_score[((p.overlap != 0u ? p.ratio : 0u) + j) * row_width() + column];
}

#ifdef POOL
// Candidate r < candidates of block `block`: with overlap, r < ratio is lane 0 of the block before (the old
// state's slot r for the chunk's first block, else that block's candidate), r >= ratio lane 1 of this one.
void candidate(uint block, uint r, uint channel, out float kv, out float score) {
    const uint current = p.first / p.ratio;
    if (p.overlap == 0u) {
        kv = uintBitsToFloat(candidate_kv(block, r, channel));
        score = uintBitsToFloat(candidate_score(block, r, channel));
    } else if (r >= p.ratio) {
        kv = uintBitsToFloat(candidate_kv(block, r - p.ratio, p.width + channel));
        score = uintBitsToFloat(candidate_score(block, r - p.ratio, p.width + channel));
    } else if (block == current) {
        kv = uintBitsToFloat(state_kv[r * row_width() + channel]);
        score = uintBitsToFloat(state_score[r * row_width() + channel]);
    } else {
        kv = uintBitsToFloat(candidate_kv(block - 1u, r, channel));
        score = uintBitsToFloat(candidate_score(block - 1u, r, channel));
    }
}

void main() {
    const uint id = flat_invocation(64u);
    if (id >= p.blocks * p.width) return;
    const uint index = id / p.width, channel = id % p.width;
    const uint block = p.first / p.ratio + index;
    const uint candidates = p.overlap != 0u ? 2u * p.ratio : p.ratio;
    float top = uintBitsToFloat(0xFF800000u);
    for (uint r = 0u; r < candidates; ++r) {
        float kv, score;
        candidate(block, r, channel, kv, score);
        top = max(top, score);
    }
    float sum = 0.0, weighted = 0.0;
    for (uint r = 0u; r < candidates; ++r) {
        float kv, score;
        candidate(block, r, channel, kv, score);
        const float e = exp(score - top);
        sum += e;
        weighted += e * kv;
    }
    pooled[index * p.width + channel] = weighted / sum;
}
#else
void main() {
    const uint id = flat_invocation(64u);
    const uint width = row_width();
    if (id >= p.ratio * width) return;
    const uint j = id / width, column = id % width;
    const bool overlap = p.overlap != 0u;
    const uint slot = ((overlap ? p.ratio : 0u) + j) * width + column;
    // Read everything first: the lookback's candidate may come from slot off + j's old words.
    const uint last = p.first + p.rows - 1u;
    const uint latest = last - (last % p.ratio + p.ratio - j) % p.ratio; // the last position = j mod ratio
    uint kv = state_kv[slot], score = state_score[slot];
    if (latest >= p.first && latest <= last) {
        kv = a[(latest - p.first) * width + column];
        score = floatBitsToUint(z[(latest - p.first) * width + column] + ape[j * width + column]);
    }
    if (overlap && p.blocks > 0u) {
        const uint block = (p.first + p.rows) / p.ratio - 1u; // the last completed
        const uint lookback_kv = candidate_kv(block, j, column);
        const uint lookback_score = candidate_score(block, j, column);
        state_kv[j * width + column] = lookback_kv;
        state_score[j * width + column] = lookback_score;
    }
    state_kv[slot] = kv;
    state_score[slot] = score;
}
#endif
