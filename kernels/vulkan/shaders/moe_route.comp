#version 450
#extension GL_GOOGLE_include_directive : require
// MoE routing (kernels/cpu/graph_ops.h moe_route / moe_route_weights), one invocation per row: the
// `active` best experts by score + bias, best first (each pass takes the best expert ranked below the
// previous choice), then the gate weights from the scores of the chosen (fp32 sum in choice order). With
// `chosen_given` the choices are read from `chosen` (hash layers) and only the weights are computed.
layout(local_size_x = 64) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) readonly buffer S { float scores[]; };
layout(std430, binding = 1) readonly buffer B { float bias[]; };
layout(std430, binding = 2) buffer C { uint chosen[]; };
layout(std430, binding = 3) writeonly buffer W { float weights[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint experts;
    uint active_experts;
    uint has_bias;
    uint chosen_given;
    float route_scale;
} p;

void main() {
    const uint row = flat_invocation(64u);
    if (row >= p.rows) return;
    const uint s = row * p.experts, c = row * p.active_experts;
    if (p.chosen_given == 0u) {
        uint last_key = 0u, last_index = 0u;
        for (uint j = 0u; j < p.active_experts; ++j) {
            bool found = false;
            uint best_key = 0u, best_index = 0u;
            for (uint e = 0u; e < p.experts; ++e) {
                const uint key =
                    order_key(p.has_bias != 0u ? scores[s + e] + bias[e] : scores[s + e]);
                const bool below_last = j == 0u || key < last_key || (key == last_key && e > last_index);
                if (below_last && (!found || key > best_key)) {
                    found = true;
                    best_key = key;
                    best_index = e;
                }
            }
            chosen[c + j] = best_index;
            last_key = best_key;
            last_index = best_index;
        }
    }
    float total = 0.0;
    for (uint j = 0u; j < p.active_experts; ++j) total += scores[s + chosen[c + j]];
    for (uint j = 0u; j < p.active_experts; ++j)
        weights[c + j] = scores[s + chosen[c + j]] / total * p.route_scale;
}
