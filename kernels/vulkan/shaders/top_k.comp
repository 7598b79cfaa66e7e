#version 450
#extension GL_GOOGLE_include_directive : require
// The k best values of each row (kernels/cpu/graph_ops.h top_k), one workgroup per row. A radix select on
// the order keys (four 8-bit passes with a shared histogram) finds the k-th key; then one pass in index
// order keeps every larger key and the first equal ones (a workgroup prefix sum gives each its place).
// by_value then ranks the k kept entries among themselves (k at most MAX_SORTED). With has_counts, row r
// takes only its first min(counts[r], n) values and k_r = min(k, that) of them; the rest of its k outputs
// are 0xFFFFFFFF.
#define WG_SIZE 256
#define MAX_SORTED 1024
layout(local_size_x = WG_SIZE) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer V { float values[]; };
layout(std430, binding = 1) writeonly buffer I { uint indices[]; };
layout(std430, binding = 2) readonly buffer C { uint counts[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint n;
    uint k;
    uint by_value;
    uint has_counts;
} p;

shared uint histogram[256];
shared uint chosen_prefix;
shared uint chosen_remaining;
shared uvec2 scan[WG_SIZE];
shared uint kept_index[MAX_SORTED];
shared uint kept_key[MAX_SORTED];

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= p.rows) return; // the whole workgroup leaves together
    const uint lid = gl_LocalInvocationID.x;
    const uint base = row * p.n;
    // The values this row considers and how many it keeps (the same for the whole workgroup).
    const uint n = p.has_counts != 0u ? min(counts[row], p.n) : p.n;
    const uint k = min(p.k, n);
    for (uint s = k + lid; s < p.k; s += WG_SIZE) indices[row * p.k + s] = 0xFFFFFFFFu;
    if (k == 0u) return;

    // The k-th largest key, 8 bits at a time from the top; `remaining` counts how many keys equal to the
    // prefix so far are still to be kept.
    uint prefix = 0u, remaining = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (uint b = lid; b < 256u; b += WG_SIZE) histogram[b] = 0u;
        barrier();
        const uint high = shift == 24 ? 0u : (0xFFFFFFFFu << uint(shift + 8));
        for (uint i = lid; i < n; i += WG_SIZE) {
            const uint key = order_key(values[base + i]);
            if ((key & high) == prefix) atomicAdd(histogram[(key >> uint(shift)) & 255u], 1u);
        }
        barrier();
        if (lid == 0u) {
            uint above = 0u, b = 255u;
            while (b > 0u && above + histogram[b] < remaining) {
                above += histogram[b];
                --b;
            }
            chosen_prefix = prefix | (b << uint(shift));
            chosen_remaining = remaining - above;
        }
        barrier();
        prefix = chosen_prefix;
        remaining = chosen_remaining;
    }
    const uint threshold = prefix, equal_kept = remaining;
    const bool by_value = p.by_value != 0u;

    // Keep, in index order: keys above the threshold, and the first `equal_kept` keys equal to it.
    uint above_base = 0u, equal_base = 0u;
    for (uint start = 0u; start < n; start += WG_SIZE) {
        const uint i = start + lid;
        uint key = 0u, above = 0u, equal = 0u;
        if (i < n) {
            key = order_key(values[base + i]);
            above = key > threshold ? 1u : 0u;
            equal = key == threshold ? 1u : 0u;
        }
        scan[lid] = uvec2(above, equal);
        barrier();
        for (uint offset = 1u; offset < WG_SIZE; offset <<= 1) {
            const uvec2 left = lid >= offset ? scan[lid - offset] : uvec2(0u);
            barrier();
            scan[lid] += left;
            barrier();
        }
        const uvec2 before = scan[lid] - uvec2(above, equal);
        const uvec2 total = scan[WG_SIZE - 1u];
        const uint equal_before = equal_base + before.y;
        if (above == 1u || (equal == 1u && equal_before < equal_kept)) {
            const uint place = above_base + before.x + min(equal_before, equal_kept);
            if (by_value) {
                kept_index[place] = i;
                kept_key[place] = key;
            } else {
                indices[row * p.k + place] = i;
            }
        }
        above_base += total.x;
        equal_base += total.y;
        barrier(); // scan is rewritten by the next chunk
        if (above_base + min(equal_base, equal_kept) >= k) break;
    }
    if (!by_value) return;

    barrier();
    for (uint s = lid; s < k; s += WG_SIZE) {
        const uint key = kept_key[s];
        uint rank = 0u;
        for (uint t = 0u; t < k; ++t) {
            const uint other = kept_key[t];
            // kept_* are in index order: t < s is the lower index.
            rank += (other > key || (other == key && t < s)) ? 1u : 0u;
        }
        indices[row * p.k + rank] = kept_index[s];
    }
}
