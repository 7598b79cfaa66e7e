// Integer block products of a Q4_0, Q4_1 or Q8_0 weight (FORMAT, read through weights.glsl) with activations
// quantized by quantize_q8.comp, as kernels/cpu/quant/matmul.cpp forms them: per block of 32,
// (d_w * d_x) * sum q_w q_x, plus m_w * s_x for Q4_1. Activation block i is 10 words of binding 0: d and s
// as float bits, then the 32 int8 values four per word, low byte first.
layout(std430, binding = 0) readonly buffer XQ { uint xq[]; };

struct WeightBlock {
    int q[32];
    float d, m;
};

WeightBlock weight_block(uint o, uint b) {
    const uint at = o * (p.in_features / 32u) * BLOCK_BYTES + b * BLOCK_BYTES;
    WeightBlock block;
    block.d = f16_at(at);
    block.m = 0.0;
    for (uint j = 0u; j < 32u; ++j) {
#if FORMAT == GGUF_Q4_0
        block.q[j] = int(nibble32(at + 2u, j)) - 8;
#elif FORMAT == GGUF_Q4_1
        block.q[j] = int(nibble32(at + 4u, j));
#elif FORMAT == GGUF_Q8_0
        block.q[j] = i8_at(at + 2u + j);
#endif
    }
#if FORMAT == GGUF_Q4_1
    block.m = f16_at(at + 2u);
#endif
    return block;
}

// Weight block `w` times activation block `b` of row `row`.
float block_product(WeightBlock w, uint row, uint b) {
    const uint base = (row * (p.in_features / 32u) + b) * 10u;
    int acc = 0;
    for (uint k = 0u; k < 8u; ++k) {
        const uint word = xq[base + 2u + k];
        for (uint e = 0u; e < 4u; ++e) acc += w.q[k * 4u + e] * (int(word << (24u - 8u * e)) >> 24);
    }
    const float product = w.d * uintBitsToFloat(xq[base]) * float(acc);
#if FORMAT == GGUF_Q4_1
    return product + w.m * uintBitsToFloat(xq[base + 1u]);
#else
    return product;
#endif
}
