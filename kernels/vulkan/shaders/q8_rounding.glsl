// Float operations the activation quantization needs bit-exact (kernels/cpu/quant/matmul.cpp rounds them
// as IEEE does); Vulkan only promises division within 2.5 ulp and leaves fp16 conversion rounding open.
// Multiplication, roundEven and bit casts are exact.

// a / b rounded to nearest even, by long division of the significands, for positive normal a and b with a
// normal quotient; anything else (never an activation block's scale in practice) takes plain division.
float divide_rounded(float a, float b) {
    const uint ua = floatBitsToUint(a), ub = floatBitsToUint(b);
    const int ea = int(ua >> 23), eb = int(ub >> 23);
    if (ea == 0 || ea >= 255 || eb == 0 || eb >= 255) return a / b;
    uint ma = (ua & 0x7fffffu) | 0x800000u;
    const uint mb = (ub & 0x7fffffu) | 0x800000u;
    int exponent = ea - eb + 127;
    if (ma < mb) {
        ma <<= 1;
        exponent -= 1;
    }
    // ma / mb is in [1, 2): 24 bits of quotient and a guard bit; the remainder says whether more follows.
    uint q = 0u, r = ma;
    for (int i = 0; i < 25; ++i) {
        q <<= 1;
        if (r >= mb) {
            r -= mb;
            q |= 1u;
        }
        r <<= 1;
    }
    const uint guard = q & 1u;
    q >>= 1;
    if (guard != 0u && (r != 0u || (q & 1u) != 0u)) q += 1u;
    if (q == 0x1000000u) {
        q = 0x800000u;
        exponent += 1;
    }
    if (exponent <= 0 || exponent >= 255) return a / b;
    return uintBitsToFloat((uint(exponent) << 23) | (q & 0x7fffffu));
}

// v rounded to the nearest fp16 value (ties to even), as a float; infinity past fp16's range.
float fp16_rounded(float v) {
    const int exponent = max(int((floatBitsToUint(v) >> 23) & 255u) - 127, -14);
    const float up = uintBitsToFloat(uint(10 - exponent + 127) << 23);   // 2^(10 - exponent)
    const float down = uintBitsToFloat(uint(exponent - 10 + 127) << 23); // 2^(exponent - 10)
    const float r = roundEven(v * up) * down;
    if (abs(r) > 65504.0) return v < 0.0 ? uintBitsToFloat(0xff800000u) : uintBitsToFloat(0x7f800000u);
    return r;
}
