#version 450
// y += x elementwise: the residual connections of the dense graph (kernels/vulkan/dense_ops.h add_in_place).
layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Push {
    uint count;
} p;

void main() {
    const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256u;
    if (i < p.count) y[i] += x[i];
}
