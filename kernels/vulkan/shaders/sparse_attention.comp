#version 450
#extension GL_GOOGLE_include_directive : require
// sparse_attention (kernels/vulkan/attention_ops.h): sink attention for a chunk of `rows` tokens, each
// over its own candidates: its sliding window (positions before the chunk from the ring, the chunk's own
// from `fresh`), then its compressed entries (the first counts[r], or those `selected` names). Heads share
// a row's candidates. Two passes, one source:
//  - LOGITS: logits[r, h, c] = (q[r, h] . candidate c) * scale, one invocation per (candidate, head, row),
//    the head's query in shared memory;
//  - otherwise: per (row, head) the softmax over its logits and the sink logit (whose value is zero),
//    probabilities rounded to bf16, then the weighted sum; a workgroup takes OUT_TILE output dims, its
//    SPLITS x OUT_TILE invocations each sum every SPLITS-th candidate for one dim (reads of a candidate's
//    dims are contiguous across the workgroup; each probability is made once per workgroup, in shared
//    memory), shared memory adds up the partial sums.
// Candidates past the row's count, and selected indices at or past the entry capacity, take no part.
// With CACHE_BF16 the ring and the entries hold bf16, two per word (attention_ops.h Storage::BF16).
#ifdef LOGITS
#define WG_SIZE 64
#define MAX_DIM 2048
#else
#define WG_SIZE 256
#define OUT_TILE 64
#define SPLITS (WG_SIZE / OUT_TILE)
#endif
layout(local_size_x = WG_SIZE) in;
#include "numbers.glsl"
#ifndef LOGITS
#include "reduce.glsl"
#endif

#ifdef CACHE_BF16
#include "bytes.glsl"
HALVES_BUFFER(ring, 0)    // [window, dim]
HALVES_BUFFER(entries, 2) // [capacity, dim]
float ring_at(uint i) {
    return bf16_to_float(ring_half(i));
}
float entry_at(uint i) {
    return bf16_to_float(entries_half(i));
}
#else
layout(std430, binding = 0) readonly buffer R { float ring[]; };       // [window, dim]
layout(std430, binding = 2) readonly buffer E { float entries[]; };    // [capacity, dim]
float ring_at(uint i) {
    return ring[i];
}
float entry_at(uint i) {
    return entries[i];
}
#endif
layout(std430, binding = 1) readonly buffer F { float fresh[]; };      // [rows, dim]
layout(std430, binding = 3) readonly buffer X { uint selected[]; };    // [rows, k] (when has_selected)
layout(std430, binding = 4) readonly buffer C { uint counts[]; };      // [rows]
#ifdef LOGITS
layout(std430, binding = 5) readonly buffer Q { float queries[]; };    // [rows, heads, dim]
layout(std430, binding = 6) writeonly buffer L { float logits[]; };    // [rows, heads, stride]
#else
layout(std430, binding = 5) readonly buffer L { float logits[]; };     // [rows, heads, stride]
layout(std430, binding = 6) readonly buffer S { float sinks[]; };      // [heads]
layout(std430, binding = 7) writeonly buffer O { float out_values[]; }; // [rows, heads, dim]
#endif
layout(push_constant) uniform Push {
    uint rows;
    uint heads;
    uint dim;
    uint window;
    uint first;
    uint capacity;
    uint k;
    uint has_selected;
    uint stride; // logits per (row, head) in the scratch buffer
    float scale;
} p;

// Row r's candidates: `window_count` window positions from `window_start`, then `compressed` entries.
struct Candidates {
    uint window_start;
    uint window_count;
    uint compressed;
};

Candidates candidates_of(uint r) {
    const uint position = p.first + r;
    Candidates c;
    c.window_start = position + 1u > p.window ? position + 1u - p.window : 0u;
    c.window_count = position + 1u - c.window_start;
    c.compressed = min(counts[r], p.has_selected != 0u ? p.k : p.capacity);
    return c;
}

// Where candidate `index` of row r lies: which buffer (0 ring, 1 fresh, 2 entries; 3 none, a selected
// index past the capacity) and its first element there.
uvec2 locate(uint r, Candidates c, uint index) {
    if (index < c.window_count) {
        const uint q = c.window_start + index;
        return q < p.first ? uvec2(0u, (q % p.window) * p.dim) : uvec2(1u, (q - p.first) * p.dim);
    }
    const uint i = index - c.window_count;
    const uint entry = p.has_selected != 0u ? selected[r * p.k + i] : i;
    return entry < p.capacity ? uvec2(2u, entry * p.dim) : uvec2(3u, 0u);
}

float element(uvec2 at, uint i) {
    if (at.x == 0u) return ring_at(at.y + i);
    if (at.x == 1u) return fresh[at.y + i];
    return entry_at(at.y + i);
}

#ifdef LOGITS
shared float query[MAX_DIM];

void main() {
    const uint head = gl_WorkGroupID.y, r = gl_WorkGroupID.z;
    const uint base = (r * p.heads + head) * p.dim;
    for (uint i = gl_LocalInvocationID.x; i < p.dim; i += WG_SIZE) query[i] = queries[base + i];
    barrier();
    const Candidates c = candidates_of(r);
    const uint index = gl_GlobalInvocationID.x;
    if (index >= c.window_count + c.compressed) return;
    const uvec2 at = locate(r, c, index);
    float dot_product = 0.0;
    if (at.x == 0u)
        for (uint i = 0; i < p.dim; ++i) dot_product += query[i] * ring_at(at.y + i);
    else if (at.x == 1u)
        for (uint i = 0; i < p.dim; ++i) dot_product += query[i] * fresh[at.y + i];
    else if (at.x == 2u)
        for (uint i = 0; i < p.dim; ++i) dot_product += query[i] * entry_at(at.y + i);
    else
        return; // not a candidate: pass 2 skips it too
    logits[(r * p.heads + head) * p.stride + index] = dot_product * p.scale;
}
#else
shared float partial[WG_SIZE];
shared float probabilities[WG_SIZE];
shared uvec2 where[WG_SIZE];

void main() {
    const uint head = gl_WorkGroupID.y, r = gl_WorkGroupID.z;
    const uint row = (r * p.heads + head) * p.stride;
    const Candidates c = candidates_of(r);
    const uint count = c.window_count + c.compressed;
    const float sink = sinks[head];
    float top = sink;
    for (uint e = gl_LocalInvocationID.x; e < count; e += WG_SIZE)
        if (locate(r, c, e).x != 3u) top = max(top, logits[row + e]);
    top = reduce_max(top);
    float sum = 0.0;
    for (uint e = gl_LocalInvocationID.x; e < count; e += WG_SIZE)
        if (locate(r, c, e).x != 3u) sum += exp(logits[row + e] - top);
    const float denominator = reduce_add(sum) + exp(sink - top);

    // Chunk by chunk of WG_SIZE candidates: each invocation rounds one probability and locates its candidate
    // once into shared memory, then every dim lane sums over the chunk.
    const uint lane = gl_LocalInvocationID.x % OUT_TILE, split = gl_LocalInvocationID.x / OUT_TILE;
    const uint i = gl_WorkGroupID.x * OUT_TILE + lane;
    float value = 0.0;
    for (uint chunk = 0; chunk < count; chunk += WG_SIZE) {
        const uint e = chunk + gl_LocalInvocationID.x;
        uvec2 at = uvec2(3u, 0u);
        float probability = 0.0;
        if (e < count) {
            at = locate(r, c, e);
            if (at.x != 3u) probability = round_bf16(exp(logits[row + e] - top) / denominator);
        }
        probabilities[gl_LocalInvocationID.x] = probability;
        where[gl_LocalInvocationID.x] = at;
        barrier();
        if (i < p.dim) {
            const uint n = min(uint(WG_SIZE), count - chunk);
            for (uint j = split; j < n; j += SPLITS)
                if (where[j].x != 3u) value += probabilities[j] * element(where[j], i);
        }
        barrier();
    }
    partial[gl_LocalInvocationID.x] = value;
    barrier();
    if (split == 0u && i < p.dim) {
        float total = 0.0;
        for (uint s = 0; s < SPLITS; ++s) total += partial[s * OUT_TILE + lane];
        out_values[(r * p.heads + head) * p.dim + i] = total;
    }
}
#endif
