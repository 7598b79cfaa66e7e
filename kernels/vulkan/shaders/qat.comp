#version 450
#extension GL_GOOGLE_include_directive : require
// QAT simulation in place (kernels/cpu/numerics.h fp8_qat / fp4_qat): in each row, each block of `block`
// values (the last may be short) is divided by a power-of-two scale, rounded to the format (e4m3 or e2m1,
// nearest even, saturating) and multiplied back. One invocation per block.
//
// The scale is 2^ceil(log2(max(amax, 1e-4) / format_max)) with the CPU's fp32 log2: the exponent e and
// mantissa m of the ratio give log2 = e + log2(m), log2(m) summed as a series to a few ulp, and the fp32
// sum e + log2(m) rounds as the CPU's log2f does (so a ratio a few ulp above a power of two keeps the lower
// exponent there too; only a ratio whose log2 lies within glibc's last-ulp error of a rounding boundary
// could differ). The divisions are by powers of two (multiplies, exact); everything else works on the bits.
layout(local_size_x = 64) in;
#include "graph_ops.glsl"

layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform Push {
    uint rows;
    uint row_stride;
    uint count; // values per row from its start
    uint block;
    uint fp4;   // 0: FP8 e4m3 (max 448), 1: FP4 e2m1 (max 6)
} p;

// 2^k for k in [-126, 127], exactly.
float power_of_two(int k) {
    return uintBitsToFloat(uint(k + 127) << 23);
}

// ln(1 + t) for t in [0, 1) as 2 atanh(t / (2 + t)).
float log1p_small(float t) {
    const float s = t / (2.0 + t), s2 = s * s;
    float power = s, sum = s;
    for (int i = 3; i <= 21; i += 2) {
        power *= s2;
        sum += power / float(i);
    }
    return 2.0 * sum;
}

// ceil(fp32 log2(ratio)) for a positive normal ratio.
int ceil_log2(float ratio) {
    const uint bits = floatBitsToUint(ratio);
    const int exponent = int(bits >> 23) - 127;
    const uint mantissa = bits & 0x7FFFFFu;
    if (mantissa == 0u) return exponent;
    const float fraction = float(mantissa) * power_of_two(-23); // exact
    precise const float log2_value = float(exponent) + log1p_small(fraction) * 1.4426950408889634;
    return int(ceil(log2_value));
}

// Round to a format with `mantissa_bits` explicit bits, smallest normal exponent `min_exponent`, largest
// value `max_value` (kernels/cpu/numerics.cpp round_to_format), on a value already divided by its scale.
float round_to_format(float value, int mantissa_bits, int min_exponent, float max_value) {
    const uint bits = floatBitsToUint(value);
    const uint magnitude_bits = bits & 0x7FFFFFFFu;
    if (magnitude_bits > 0x7F800000u || magnitude_bits == 0u) return value; // NaN, zero
    // ilogb of a subnormal lies below every min_exponent used here.
    const int exponent = max(int(magnitude_bits >> 23) - 127, min_exponent);
    const int quantum = exponent - mantissa_bits;
    const float rounded =
        min(roundEven(uintBitsToFloat(magnitude_bits) * power_of_two(-quantum)) * power_of_two(quantum),
            max_value);
    return (bits & 0x80000000u) != 0u ? -rounded : rounded;
}

void main() {
    const uint blocks_per_row = (p.count + p.block - 1u) / p.block;
    const uint id = flat_invocation(64u);
    if (id >= p.rows * blocks_per_row) return;
    const uint row = id / blocks_per_row;
    const uint start = row * p.row_stride + (id % blocks_per_row) * p.block;
    const uint end = row * p.row_stride + min(p.count, (id % blocks_per_row + 1u) * p.block);
    float amax = 0.0;
    for (uint i = start; i < end; ++i) {
        const float magnitude = abs(x[i]);
        if (magnitude > amax) amax = magnitude; // NaN is skipped, as std::max(amax, NaN) keeps amax
    }
    const float format_max = p.fp4 != 0u ? 6.0 : 448.0;
    const float ratio = max(amax, 1e-4) / format_max;
    if (isinf(ratio)) { // an infinite scale on the CPU: every value of the block becomes NaN
        for (uint i = start; i < end; ++i) x[i] = uintBitsToFloat(0x7FC00000u);
        return;
    }
    const int scale = ceil_log2(ratio); // from -22 (the 1e-4 floor) up
    for (uint i = start; i < end; ++i) {
        const float scaled = x[i] * power_of_two(-scale);
        x[i] = (p.fp4 != 0u ? round_to_format(scaled, 1, 0, 6.0) : round_to_format(scaled, 3, -6, 448.0)) *
               power_of_two(scale);
    }
}
