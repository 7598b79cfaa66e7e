#version 450
#extension GL_GOOGLE_include_directive : require
// Activations as kernels/cpu/quant/matmul.cpp quantizes them for Q4_0, Q4_1 and Q8_0 weights (llama.cpp's
// Q8_0 / Q8_1 blocks of 32): amax = max |x|, q = roundEven(x * (127 / amax)), d = fp16(amax / 127),
// s = fp16((amax / 127) * sum q). One invocation per block; the layout is q8_activations.glsl's.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer XQ { uint xq[]; };
layout(push_constant) uniform Push {
    uint blocks;
} p;

#include "q8_rounding.glsl"

void main() {
    const uint b = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * 64u + gl_LocalInvocationID.x;
    if (b >= p.blocks) return;
    float amax = 0.0;
    for (uint j = 0u; j < 32u; ++j) amax = max(amax, abs(x[b * 32u + j]));
    const float d = amax != 0.0 ? divide_rounded(amax, 127.0) : 0.0;
    const float id = amax != 0.0 ? divide_rounded(127.0, amax) : 0.0;
    int sum = 0;
    for (uint w = 0u; w < 8u; ++w) {
        uint word = 0u;
        for (uint e = 0u; e < 4u; ++e) {
            const int q = int(roundEven(x[b * 32u + w * 4u + e] * id));
            sum += q;
            word |= (uint(q) & 255u) << (8u * e);
        }
        xq[b * 10u + 2u + w] = word;
    }
    xq[b * 10u] = floatBitsToUint(fp16_rounded(d));
    xq[b * 10u + 1u] = floatBitsToUint(fp16_rounded(d * float(sum)));
}
