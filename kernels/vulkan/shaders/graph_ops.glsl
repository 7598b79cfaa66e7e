// Shared by the graph ops' shaders (kernels/vulkan/graph_ops.h).

// top_k's order (kernels/cpu/graph_ops.h) as unsigned keys: a larger key ranks higher, equal keys rank by
// the lower index. NaN is key 0, below -infinity; -0 and +0 share a key.
uint order_key(float value) {
    uint bits = floatBitsToUint(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0u;
    if (bits == 0x80000000u) bits = 0u;
    return (bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u);
}

// Index of the invocation in a one-dimensional launch spread over a two-dimensional grid of
// `group_size`-wide workgroups.
uint flat_invocation(uint group_size) {
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * group_size;
}
