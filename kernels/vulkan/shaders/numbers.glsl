// Decoders of the checkpoint number formats (kernels/cpu/numerics.h), bit for bit.

float bf16_to_float(uint bits) {
    return uintBitsToFloat(bits << 16);
}

// e8m0: 2^(b-127); 255 is NaN. b = 0 (2^-127) is a subnormal that GPUs may flush to zero.
float e8m0_to_float(uint b) {
    if (b == 255u) return uintBitsToFloat(0x7FC00000u);
    if (b == 0u) return uintBitsToFloat(0x00400000u);
    return uintBitsToFloat(b << 23);
}

// e4m3 (fn): bias 7, no infinities, 0x7F/0xFF NaN, subnormals m * 2^-9.
float e4m3_to_float(uint b) {
    const uint exponent = (b >> 3) & 15u, mantissa = b & 7u;
    float magnitude;
    if (exponent == 15u && mantissa == 7u) magnitude = uintBitsToFloat(0x7FC00000u);
    else if (exponent == 0u) magnitude = float(mantissa) * (1.0 / 512.0);
    else magnitude = uintBitsToFloat(((exponent + 120u) << 23) | (mantissa << 20));
    return (b & 0x80u) != 0u ? -magnitude : magnitude;
}

// e2m1: magnitudes {0, .5, 1, 1.5, 2, 3, 4, 6}, sign in bit 3.
float fp4_to_float(uint nibble) {
    const float magnitudes[8] = float[8](0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0);
    const float magnitude = magnitudes[nibble & 7u];
    return (nibble & 8u) != 0u ? -magnitude : magnitude;
}

// Round to nearest even bf16, returned as a float (NaN never reaches it here).
float round_bf16(float value) {
    const uint bits = floatBitsToUint(value);
    return uintBitsToFloat((bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u);
}
