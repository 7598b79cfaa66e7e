#include "kernels/cpu/numerics.h"

#include <algorithm>
#include <array>

namespace lectern::kernels::cpu {
namespace {

// Rounds |value| to a float format with `mantissa_bits` explicit bits whose smallest normal exponent is
// `min_exponent`; below it the spacing stays fixed (subnormals). Ties go to even via nearbyint.
float round_to_format(float value, int mantissa_bits, int min_exponent, float max_value) {
    if (std::isnan(value)) return value;
    const float magnitude = std::fabs(value);
    if (magnitude == 0.0f) return value;
    int exponent = std::ilogb(magnitude);
    exponent = std::max(exponent, min_exponent);
    const float quantum = std::ldexp(1.0f, exponent - mantissa_bits);
    float rounded = std::nearbyint(magnitude / quantum) * quantum;
    rounded = std::min(rounded, max_value);
    return std::copysign(rounded, value);
}

std::array<float, 256> make_e4m3_table() {
    std::array<float, 256> table{};
    for (int b = 0; b < 256; ++b) {
        const int sign = b >> 7, exponent = (b >> 3) & 15, mantissa = b & 7;
        float value;
        if (exponent == 15 && mantissa == 7)
            value = NAN;
        else if (exponent == 0)
            value = std::ldexp(static_cast<float>(mantissa), -9);
        else
            value = std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
        table[static_cast<std::size_t>(b)] = sign ? -value : value;
    }
    return table;
}

constexpr std::array<float, 8> kFp4Magnitudes{0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
constexpr std::array<float, 16> kFp4Values{0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                           -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

} // namespace

const float* e4m3_table() {
    static const std::array<float, 256> table = make_e4m3_table();
    return table.data();
}

float e4m3_to_f32(std::uint8_t bits) {
    return e4m3_table()[bits];
}

const float* fp4_table() {
    return kFp4Values.data();
}

float round_e4m3(float value) {
    return round_to_format(value, 3, -6, 448.0f);
}

std::uint8_t f32_to_e4m3(float value) {
    const float rounded = round_e4m3(value);
    const std::uint8_t sign = std::signbit(rounded) ? 0x80 : 0;
    const float magnitude = std::fabs(rounded);
    if (magnitude == 0.0f) return sign;
    const int exponent = std::ilogb(magnitude);
    if (exponent < -6) return static_cast<std::uint8_t>(sign | static_cast<int>(magnitude * 512.0f));
    const int mantissa = static_cast<int>((magnitude / std::ldexp(1.0f, exponent) - 1.0f) * 8.0f);
    return static_cast<std::uint8_t>(sign | ((exponent + 7) << 3) | mantissa);
}

float fp4_to_f32(std::uint8_t nibble) {
    const float magnitude = kFp4Magnitudes[nibble & 7];
    return (nibble & 8) ? -magnitude : magnitude;
}

float round_fp4(float value) {
    return round_to_format(value, 1, 0, 6.0f);
}

std::uint8_t f32_to_fp4(float value) {
    const float rounded = round_fp4(value);
    const float magnitude = std::fabs(rounded);
    std::uint8_t code = 0;
    for (std::uint8_t i = 0; i < 8; ++i)
        if (kFp4Magnitudes[i] == magnitude) code = i;
    return static_cast<std::uint8_t>(code | (std::signbit(rounded) && magnitude > 0 ? 8 : 0));
}

float pow2_scale(float amax, float format_max, float amax_floor) {
    const float ratio = std::max(amax, amax_floor) / format_max;
    if (std::isinf(ratio)) return ratio; // an infinite amax: every value of its block becomes NaN
    return std::ldexp(1.0f, static_cast<int>(std::ceil(std::log2(ratio))));
}

void fp8_qat(float* values, std::int64_t count, std::int64_t block) {
    for (std::int64_t start = 0; start < count; start += block) {
        const std::int64_t end = std::min(count, start + block);
        float amax = 0.0f;
        for (std::int64_t i = start; i < end; ++i) amax = std::max(amax, std::fabs(values[i]));
        const float scale = pow2_scale(amax, 448.0f, 1e-4f);
        for (std::int64_t i = start; i < end; ++i) values[i] = round_e4m3(values[i] / scale) * scale;
    }
}

void fp4_qat(float* values, std::int64_t count, std::int64_t block) {
    for (std::int64_t start = 0; start < count; start += block) {
        const std::int64_t end = std::min(count, start + block);
        float amax = 0.0f;
        for (std::int64_t i = start; i < end; ++i) amax = std::max(amax, std::fabs(values[i]));
        const float scale = pow2_scale(amax, 6.0f, 1e-4f);
        for (std::int64_t i = start; i < end; ++i) values[i] = round_fp4(values[i] / scale) * scale;
    }
}

} // namespace lectern::kernels::cpu
