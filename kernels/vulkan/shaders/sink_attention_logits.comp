#version 450
// Pass 1 of sink_attention: logits[h, e] = (q_h . entry_e) * scale, one invocation per (entry, head), the
// head's query in shared memory. Many invocations keep a large GPU busy where one workgroup per head
// would not.
#define WG_SIZE 64
#define MAX_DIM 2048
layout(local_size_x = WG_SIZE) in;

layout(std430, binding = 0) readonly buffer Q { float queries[]; }; // [heads, dim]
layout(std430, binding = 1) readonly buffer E { float entries[]; }; // [count, dim]
layout(std430, binding = 2) writeonly buffer L { float logits[]; }; // [heads, count]
layout(push_constant) uniform Push {
    uint heads;
    uint count;
    uint dim;
    float scale;
} p;

shared float query[MAX_DIM];

void main() {
    const uint head = gl_WorkGroupID.y;
    for (uint i = gl_LocalInvocationID.x; i < p.dim; i += WG_SIZE) query[i] = queries[head * p.dim + i];
    barrier();
    const uint e = gl_GlobalInvocationID.x;
    if (e >= p.count) return;
    float dot_product = 0.0;
    for (uint i = 0; i < p.dim; ++i) dot_product += query[i] * entries[e * p.dim + i];
    logits[head * p.count + e] = dot_product * p.scale;
}
