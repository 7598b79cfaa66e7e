#version 450
#extension GL_GOOGLE_include_directive : require
// Compressor pooling (kernels/cpu/graph_ops.h compressor_pool) for `count` compressor states, one
// invocation per channel: a softmax over the candidate rows' scores weighting their kv values, in fp32.
// A state holds `slots` rows of lanes * width values; CSA (overlap) takes lane 0 of rows [0, ratio) and
// lane 1 of rows [ratio, 2 ratio).
layout(local_size_x = 64) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer K { float kv[]; };
layout(std430, binding = 1) readonly buffer S { float score[]; };
layout(std430, binding = 2) writeonly buffer O { float pooled[]; };
layout(push_constant) uniform Push {
    uint count;
    uint ratio;
    uint width;
    uint overlap;
} p;

void main() {
    const uint id = flat_invocation(64u);
    if (id >= p.count * p.width) return;
    const uint state = id / p.width, channel = id % p.width;
    const bool overlap = p.overlap != 0u;
    const uint row_width = (overlap ? 2u : 1u) * p.width;
    const uint candidates = overlap ? 2u * p.ratio : p.ratio;
    const uint base = state * candidates * row_width + channel;
    float top = uintBitsToFloat(0xFF800000u);
    for (uint r = 0u; r < candidates; ++r)
        top = max(top, score[base + r * row_width + (overlap && r >= p.ratio ? p.width : 0u)]);
    float sum = 0.0, weighted = 0.0;
    for (uint r = 0u; r < candidates; ++r) {
        const uint at = base + r * row_width + (overlap && r >= p.ratio ? p.width : 0u);
        const float e = exp(score[at] - top);
        sum += e;
        weighted += e * kv[at];
    }
    pooled[state * p.width + channel] = weighted / sum;
}
