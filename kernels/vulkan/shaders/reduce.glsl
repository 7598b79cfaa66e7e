// Workgroup-wide sum and max. The includer defines WG_SIZE (a power of two, the workgroup's size).
// With USE_SUBGROUP each subgroup reduces in registers first; without it, a shared-memory tree does it all
// (the fallback for devices without subgroup arithmetic).
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

shared float reduce_scratch[WG_SIZE];
shared vec4 reduce_scratch4[WG_SIZE];

float reduce_add(float v) {
    barrier(); // every thread has finished reading the previous reduction's result
#ifdef USE_SUBGROUP
    v = subgroupAdd(v);
    if (subgroupElect()) reduce_scratch[gl_SubgroupID] = v;
    barrier();
    float total = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; ++i) total += reduce_scratch[i];
    return total;
#else
    reduce_scratch[gl_LocalInvocationID.x] = v;
    barrier();
    for (uint stride = WG_SIZE / 2; stride > 0; stride >>= 1) {
        if (gl_LocalInvocationID.x < stride)
            reduce_scratch[gl_LocalInvocationID.x] += reduce_scratch[gl_LocalInvocationID.x + stride];
        barrier();
    }
    return reduce_scratch[0];
#endif
}

// Four sums at once: one pass of barriers instead of four.
vec4 reduce_add4(vec4 v) {
    barrier();
#ifdef USE_SUBGROUP
    v = subgroupAdd(v);
    if (subgroupElect()) reduce_scratch4[gl_SubgroupID] = v;
    barrier();
    vec4 total = vec4(0.0);
    for (uint i = 0; i < gl_NumSubgroups; ++i) total += reduce_scratch4[i];
    return total;
#else
    reduce_scratch4[gl_LocalInvocationID.x] = v;
    barrier();
    for (uint stride = WG_SIZE / 2; stride > 0; stride >>= 1) {
        if (gl_LocalInvocationID.x < stride)
            reduce_scratch4[gl_LocalInvocationID.x] += reduce_scratch4[gl_LocalInvocationID.x + stride];
        barrier();
    }
    return reduce_scratch4[0];
#endif
}

float reduce_max(float v) {
    barrier();
#ifdef USE_SUBGROUP
    v = subgroupMax(v);
    if (subgroupElect()) reduce_scratch[gl_SubgroupID] = v;
    barrier();
    float best = reduce_scratch[0];
    for (uint i = 1; i < gl_NumSubgroups; ++i) best = max(best, reduce_scratch[i]);
    return best;
#else
    reduce_scratch[gl_LocalInvocationID.x] = v;
    barrier();
    for (uint stride = WG_SIZE / 2; stride > 0; stride >>= 1) {
        if (gl_LocalInvocationID.x < stride)
            reduce_scratch[gl_LocalInvocationID.x] =
                max(reduce_scratch[gl_LocalInvocationID.x], reduce_scratch[gl_LocalInvocationID.x + stride]);
        barrier();
    }
    return reduce_scratch[0];
#endif
}

// Row index of a workgroup in a grid that may be two-dimensional (more rows than one dimension allows).
uint workgroup_row() {
    return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}
