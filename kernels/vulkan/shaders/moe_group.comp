#version 450
#extension GL_GOOGLE_include_directive : require
// A routing [rows, active] grouped by expert (kernels/cpu/graph_ops.h moe_group), in one workgroup: each
// invocation counts the entries of its experts, one invocation turns the counts into offsets, then each
// invocation lists its experts' entries in row order. An index at or past `experts` is left out.
#define WG_SIZE 256
#define MAX_EXPERTS 2048
layout(local_size_x = WG_SIZE) in;

layout(std430, binding = 0) readonly buffer C { uint chosen[]; };
layout(std430, binding = 1) writeonly buffer O { uint offsets[]; };
layout(std430, binding = 2) writeonly buffer T { uint tokens[]; };
layout(std430, binding = 3) writeonly buffer S { uint slots[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint active_experts;
    uint experts;
} p;

shared uint starts[MAX_EXPERTS];

void main() {
    const uint lid = gl_LocalInvocationID.x, entries = p.rows * p.active_experts;
    for (uint e = lid; e < p.experts; e += WG_SIZE) {
        uint count = 0u;
        for (uint i = 0u; i < entries; ++i) count += chosen[i] == e ? 1u : 0u;
        starts[e] = count;
    }
    barrier();
    if (lid == 0u) {
        uint total = 0u;
        for (uint e = 0u; e < p.experts; ++e) {
            const uint count = starts[e];
            starts[e] = total;
            offsets[e] = total;
            total += count;
        }
        offsets[p.experts] = total;
    }
    barrier();
    for (uint e = lid; e < p.experts; e += WG_SIZE) {
        uint at = starts[e];
        for (uint i = 0u; i < entries; ++i) {
            if (chosen[i] != e) continue;
            tokens[at] = i / p.active_experts;
            slots[at] = i;
            ++at;
        }
    }
}
