#version 450
#extension GL_GOOGLE_include_directive : require
// y[r, o] = sum_i x[r, i] * W[o, i] (kernels/cpu/ops.h linear) for many rows (prefill): a workgroup
// computes a TILE x TILE block of y, staging TILE x STEP slices of x and of the decoded weight in shared
// memory, so each weight element is decoded once per TILE rows instead of once per ROW_TILE.
#define TILE 64
#define STEP 16
#define THREADS 256 // 16 x 16, each computing 4 x 4 outputs
layout(local_size_x = THREADS) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint out_features;
    uint in_features;
} p;

#include "weights.glsl"

shared float x_tile[TILE][STEP + 1]; // +1: no bank conflicts on the column reads
shared float w_tile[TILE][STEP + 1];

void main() {
    const uint first_out = gl_WorkGroupID.x * TILE, first_row = gl_WorkGroupID.y * TILE;
    const uint tx = gl_LocalInvocationID.x % 16u, ty = gl_LocalInvocationID.x / 16u;
    float acc[4][4];
    for (uint a = 0; a < 4u; ++a)
        for (uint b = 0; b < 4u; ++b) acc[a][b] = 0.0;

    for (uint k0 = 0; k0 < p.in_features; k0 += STEP) {
        // 64 x 16 = 1024 values of each tile: four per invocation; zeros past the edges.
        for (uint n = gl_LocalInvocationID.x; n < TILE * STEP; n += THREADS) {
            const uint t = n / STEP, kk = n % STEP, k = k0 + kk;
            const uint r = first_row + t, o = first_out + t;
            x_tile[t][kk] = (r < p.rows && k < p.in_features) ? x[r * p.in_features + k] : 0.0;
            w_tile[t][kk] = (o < p.out_features && k < p.in_features) ? weight_at(o, k) : 0.0;
        }
        barrier();
        // Each step's 16 products are summed apart and then added to the running total: the rounding error
        // grows with (STEP + in_features / STEP) instead of with in_features.
        float step_sum[4][4];
        for (uint a = 0; a < 4u; ++a)
            for (uint b = 0; b < 4u; ++b) step_sum[a][b] = 0.0;
        for (uint kk = 0; kk < STEP; ++kk) {
            float xs[4], ws[4];
            for (uint a = 0; a < 4u; ++a) xs[a] = x_tile[ty * 4u + a][kk];
            for (uint b = 0; b < 4u; ++b) ws[b] = w_tile[tx * 4u + b][kk];
            for (uint a = 0; a < 4u; ++a)
                for (uint b = 0; b < 4u; ++b) step_sum[a][b] += xs[a] * ws[b];
        }
        for (uint a = 0; a < 4u; ++a)
            for (uint b = 0; b < 4u; ++b) acc[a][b] += step_sum[a][b];
        barrier();
    }
    for (uint a = 0; a < 4u; ++a) {
        const uint r = first_row + ty * 4u + a;
        for (uint b = 0; b < 4u; ++b) {
            const uint o = first_out + tx * 4u + b;
            if (r < p.rows && o < p.out_features) y[r * p.out_features + o] = acc[a][b];
        }
    }
}
