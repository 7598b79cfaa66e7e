#version 450
// In-place normalised Walsh-Hadamard transform of each row of n values, n a power of two up to 4096
// (kernels/cpu/ops.h hadamard): the same butterflies in the same order, then the host's 1/sqrt(n).
#define WG_SIZE 256
layout(local_size_x = WG_SIZE) in;

layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint n;
    float scale;
} p;

shared float values[4096]; // 16 KiB: the least shared memory every device has

void main() {
    const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= p.rows) return;
    const uint base = row * p.n;
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) values[i] = x[base + i];
    barrier();
    for (uint half_size = 1u; half_size < p.n; half_size *= 2u) {
        for (uint j = gl_LocalInvocationID.x; j < p.n / 2u; j += WG_SIZE) {
            const uint i = (j / half_size) * 2u * half_size + j % half_size;
            const float a = values[i], b = values[i + half_size];
            values[i] = a + b;
            values[i + half_size] = a - b;
        }
        barrier();
    }
    for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) x[base + i] = values[i] * p.scale;
}
