#version 450
#extension GL_GOOGLE_include_directive : require
// linear (kernels/cpu/ops.h) for devices whose invocations run on CPU cores (lavapipe), where a workgroup
// barrier costs far more than arithmetic: no barrier and no shared memory. With subgroup arithmetic one
// subgroup sums one output feature (its lanes read consecutive weights, as SIMD lanes load best, and
// subgroupAdd combines them); without it each invocation sums a whole output row alone. Each output
// covers ROW_TILE activation rows, so every weight is decoded once per tile. GPUs keep linear.comp and
// linear_tiled.comp.
#define WG_SIZE 64
#define ROW_TILE 32
layout(local_size_x = WG_SIZE) in;
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#ifndef Q8_ACTIVATIONS
layout(std430, binding = 0) readonly buffer X { float x[]; };
#endif
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint out_features;
    uint in_features;
    uint outputs_per_group; // the host's count; the loops below do not depend on the subgroup size
} p;

#include "weights.glsl"
#ifdef Q8_ACTIVATIONS
#include "q8_activations.glsl"
#endif

void main() {
    const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    const uint begin = group * p.outputs_per_group, end = min(begin + p.outputs_per_group, p.out_features);
#ifdef USE_SUBGROUP
    const uint lane = gl_SubgroupInvocationID, lanes = gl_SubgroupSize;
    for (uint o = begin + gl_SubgroupID; o < end; o += gl_NumSubgroups) // uniform across a subgroup
#else
    const uint lane = 0, lanes = 1;
    for (uint o = begin + gl_LocalInvocationID.x; o < end; o += WG_SIZE)
#endif
    {
        const uint first_row = gl_WorkGroupID.z * ROW_TILE;
        const uint tile = min(uint(ROW_TILE), p.rows - first_row);
        float acc[ROW_TILE];
        for (uint t = 0; t < ROW_TILE; ++t) acc[t] = 0.0;
#ifdef Q8_ACTIVATIONS
        for (uint b = lane; b < p.in_features / 32u; b += lanes) {
            const WeightBlock w = weight_block(o, b);
            for (uint t = 0; t < tile; ++t) acc[t] += block_product(w, first_row + t, b);
        }
#else
        for (uint i = lane; i < p.in_features; i += lanes) {
            const float weight = weight_at(o, i);
            for (uint t = 0; t < tile; ++t) acc[t] += x[(first_row + t) * p.in_features + i] * weight;
        }
#endif
        for (uint t = 0; t < tile; ++t) {
#ifdef USE_SUBGROUP
            const float total = subgroupAdd(acc[t]);
#else
            const float total = acc[t];
#endif
            if (lane == 0) y[(first_row + t) * p.out_features + o] = total;
        }
    }
}
