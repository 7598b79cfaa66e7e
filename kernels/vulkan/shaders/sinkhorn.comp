#version 450
// mHC Sinkhorn on each of `count` k x k matrices, in place (kernels/cpu/ops.h sinkhorn): row softmax + eps,
// column-normalise, then (iterations - 1) times rows and columns, each dividing by (sum + eps). One
// invocation per matrix (k is small: 4 in DeepSeek-V4), in the reference's order of operations.
layout(local_size_x = 64) in;

layout(std430, binding = 0) buffer M { float m[]; };
layout(push_constant) uniform Push {
    uint count;
    uint k;
    uint iterations;
    float eps;
} p;

void normalise_rows(uint base) {
    for (uint j = 0; j < p.k; ++j) {
        float sum = 0.0;
        for (uint c = 0; c < p.k; ++c) sum += m[base + j * p.k + c];
        for (uint c = 0; c < p.k; ++c) m[base + j * p.k + c] /= (sum + p.eps);
    }
}

void normalise_columns(uint base) {
    for (uint c = 0; c < p.k; ++c) {
        float sum = 0.0;
        for (uint j = 0; j < p.k; ++j) sum += m[base + j * p.k + c];
        for (uint j = 0; j < p.k; ++j) m[base + j * p.k + c] /= (sum + p.eps);
    }
}

void main() {
    const uint matrix = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (matrix >= p.count) return;
    const uint base = matrix * p.k * p.k;
    for (uint j = 0; j < p.k; ++j) {
        const uint row = base + j * p.k;
        float top = m[row];
        for (uint c = 1; c < p.k; ++c) top = max(top, m[row + c]);
        float sum = 0.0;
        for (uint c = 0; c < p.k; ++c) {
            m[row + c] = exp(m[row + c] - top);
            sum += m[row + c];
        }
        for (uint c = 0; c < p.k; ++c) m[row + c] = m[row + c] / sum + p.eps;
    }
    normalise_columns(base);
    for (uint it = 1; it < p.iterations; ++it) {
        normalise_rows(base);
        normalise_columns(base);
    }
}
