#include "kernels/cpu/ops.h"

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/cpu/quant/matmul.h"
#include "kernels/cpu/simd.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lectern::kernels::cpu {

void dequantize_row(const WeightMatrix& weight, std::int64_t row, float* out) {
    const std::int64_t k = weight.in_features;
    switch (weight.format) {
    case WeightFormat::F32: {
        const float* source = static_cast<const float*>(weight.data) + row * k;
        std::copy(source, source + k, out);
        return;
    }
    case WeightFormat::BF16: {
        const std::uint16_t* source = static_cast<const std::uint16_t*>(weight.data) + row * k;
        for (std::int64_t i = 0; i < k; ++i) out[i] = bf16_to_f32(source[i]);
        return;
    }
    case WeightFormat::F8_E4M3_BLOCK128: {
        const std::uint8_t* source = static_cast<const std::uint8_t*>(weight.data) + row * k;
        const std::int64_t scale_columns = (k + 127) / 128;
        const std::uint8_t* scales = weight.scales + (row / 128) * scale_columns;
        for (std::int64_t i = 0; i < k; ++i) out[i] = e4m3_to_f32(source[i]) * e8m0_to_f32(scales[i / 128]);
        return;
    }
    case WeightFormat::FP4_E2M1_BLOCK32: {
        const std::uint8_t* source = static_cast<const std::uint8_t*>(weight.data) + row * (k / 2);
        const std::uint8_t* scales = weight.scales + row * (k / 32);
        for (std::int64_t i = 0; i < k; ++i) {
            const std::uint8_t byte = source[i / 2];
            const std::uint8_t nibble = (i % 2 == 0) ? (byte & 15) : (byte >> 4);
            out[i] = fp4_to_f32(nibble) * e8m0_to_f32(scales[i / 32]);
        }
        return;
    }
    case WeightFormat::GGUF_BLOCK: {
        const std::int64_t row_bytes = *dtype_bytes(weight.gguf_type, k);
        quant::dequantize_row(weight.gguf_type,
                              static_cast<const std::uint8_t*>(weight.data) + row * row_bytes, out, k);
        return;
    }
    }
}

float dot_reference(const float* a, const float* b, std::int64_t n) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
    return static_cast<float>(sum);
}

bool have_avx2() {
    static const bool available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return available;
}

float dot(const float* a, const float* b, std::int64_t n) {
    if (have_avx2()) return avx2::dot(a, b, n);
    return dot_reference(a, b, n);
}

void linear_reference(const float* x, std::int64_t rows, const WeightMatrix& weight, float* y) {
    std::vector<float> row(static_cast<std::size_t>(weight.in_features));
    for (std::int64_t o = 0; o < weight.out_features; ++o) {
        dequantize_row(weight, o, row.data());
        for (std::int64_t r = 0; r < rows; ++r)
            y[r * weight.out_features + o] =
                dot_reference(x + r * weight.in_features, row.data(), weight.in_features);
    }
}

void linear(const float* x, std::int64_t rows, const WeightMatrix& weight, float* y,
            quant::ThreadPool* pool) {
    if (weight.format == WeightFormat::GGUF_BLOCK) {
        quant::matmul(weight.gguf_type, static_cast<const std::byte*>(weight.data), weight.out_features,
                      weight.in_features, x, rows, y, {.pool = pool});
        return;
    }
    const std::int64_t k = weight.in_features;
    const auto outputs = [&](std::int64_t first, std::int64_t end) {
        // Each weight row is dequantised once and reused for every activation row, so a prefill chunk reads
        // the (mapped, possibly cold) weights once.
        thread_local std::vector<float> row;
        row.resize(static_cast<std::size_t>(k));
        for (std::int64_t o = first; o < end; ++o) {
            if (weight.format == WeightFormat::F32) {
                const float* source = static_cast<const float*>(weight.data) + o * k;
                for (std::int64_t r = 0; r < rows; ++r)
                    y[r * weight.out_features + o] = dot(x + r * k, source, k);
                continue;
            }
            const auto* bytes = static_cast<const std::uint8_t*>(weight.data);
            if (weight.format == WeightFormat::BF16 && have_avx2())
                avx2::bf16_to_f32(static_cast<const std::uint16_t*>(weight.data) + o * k, row.data(), k);
            else if (weight.format == WeightFormat::F8_E4M3_BLOCK128 && have_avx2() && k % 8 == 0)
                avx2::fp8_row_to_f32(bytes + o * k, weight.scales + (o / 128) * ((k + 127) / 128), row.data(),
                                     k);
            else if (weight.format == WeightFormat::FP4_E2M1_BLOCK32 && have_avx2())
                avx2::fp4_row_to_f32(bytes + o * (k / 2), weight.scales + o * (k / 32), row.data(), k);
            else
                dequantize_row(weight, o, row.data());
            for (std::int64_t r = 0; r < rows; ++r)
                y[r * weight.out_features + o] = dot(x + r * k, row.data(), k);
        }
    };
    // Below a few thousand multiply-adds per thread, waking the pool costs more than it saves.
    constexpr std::int64_t kMinWorkPerThread = 1 << 15;
    const std::int64_t outs = weight.out_features;
    if (!pool || pool->size() == 1 || outs * rows * k < kMinWorkPerThread * pool->size()) {
        outputs(0, outs);
        return;
    }
    pool->run([&](int part, int parts) { outputs(outs * part / parts, outs * (part + 1) / parts); });
}

void rope_interleaved(float* x, std::int64_t pairs, const float* frequencies, double position, bool inverse) {
    for (std::int64_t i = 0; i < pairs; ++i) {
        const double angle = position * static_cast<double>(frequencies[i]) * (inverse ? -1.0 : 1.0);
        const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
        const float a = x[2 * i], b = x[2 * i + 1];
        x[2 * i] = a * c - b * s;
        x[2 * i + 1] = a * s + b * c;
    }
}

std::vector<float> rope_cos_sin(const std::vector<double>& positions, const float* frequencies,
                                std::int64_t pairs) {
    std::vector<float> table;
    table.reserve(positions.size() * static_cast<std::size_t>(pairs) * 2);
    for (const double position : positions)
        for (std::int64_t i = 0; i < pairs; ++i) {
            const double angle = position * static_cast<double>(frequencies[i]);
            table.push_back(static_cast<float>(std::cos(angle)));
            table.push_back(static_cast<float>(std::sin(angle)));
        }
    return table;
}

void hadamard(float* x, std::int64_t n) {
    for (std::int64_t half = 1; half < n; half *= 2) {
        for (std::int64_t start = 0; start < n; start += 2 * half) {
            for (std::int64_t i = start; i < start + half; ++i) {
                const float a = x[i], b = x[i + half];
                x[i] = a + b;
                x[i + half] = a - b;
            }
        }
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(n));
    for (std::int64_t i = 0; i < n; ++i) x[i] *= scale;
}

void sinkhorn(float* matrix, std::int64_t k, std::int64_t iterations, float eps) {
    std::vector<double> m(matrix, matrix + k * k);
    auto normalise_rows = [&] {
        for (std::int64_t j = 0; j < k; ++j) {
            double sum = 0.0;
            for (std::int64_t c = 0; c < k; ++c) sum += m[static_cast<std::size_t>(j * k + c)];
            for (std::int64_t c = 0; c < k; ++c) m[static_cast<std::size_t>(j * k + c)] /= (sum + eps);
        }
    };
    auto normalise_columns = [&] {
        for (std::int64_t c = 0; c < k; ++c) {
            double sum = 0.0;
            for (std::int64_t j = 0; j < k; ++j) sum += m[static_cast<std::size_t>(j * k + c)];
            for (std::int64_t j = 0; j < k; ++j) m[static_cast<std::size_t>(j * k + c)] /= (sum + eps);
        }
    };
    for (std::int64_t j = 0; j < k; ++j) {
        double* row = m.data() + j * k;
        const double top = *std::max_element(row, row + k);
        double sum = 0.0;
        for (std::int64_t c = 0; c < k; ++c) sum += row[c] = std::exp(row[c] - top);
        for (std::int64_t c = 0; c < k; ++c) row[c] = row[c] / sum + eps;
    }
    normalise_columns();
    for (std::int64_t it = 1; it < iterations; ++it) {
        normalise_rows();
        normalise_columns();
    }
    for (std::int64_t i = 0; i < k * k; ++i) matrix[i] = static_cast<float>(m[static_cast<std::size_t>(i)]);
}

void sink_attention(const float* query, const float* entries, std::int64_t count, std::int64_t dim,
                    float scale, float sink, float* out) {
    thread_local std::vector<float> weights;
    thread_local std::vector<double> sum;
    weights.resize(static_cast<std::size_t>(count));
    sum.assign(static_cast<std::size_t>(dim), 0.0);
    float top = sink;
    for (std::int64_t e = 0; e < count; ++e) {
        weights[static_cast<std::size_t>(e)] = dot(query, entries + e * dim, dim) * scale;
        top = std::max(top, weights[static_cast<std::size_t>(e)]);
    }
    double denominator = std::exp(static_cast<double>(sink) - top);
    for (std::int64_t e = 0; e < count; ++e) {
        float& value = weights[static_cast<std::size_t>(e)];
        value = static_cast<float>(std::exp(static_cast<double>(value) - top));
        denominator += value;
    }
    for (std::int64_t e = 0; e < count; ++e) {
        const double p = round_bf16(static_cast<float>(weights[static_cast<std::size_t>(e)] / denominator));
        const float* entry = entries + e * dim;
        for (std::int64_t i = 0; i < dim; ++i) sum[static_cast<std::size_t>(i)] += p * entry[i];
    }
    for (std::int64_t i = 0; i < dim; ++i) out[i] = static_cast<float>(sum[static_cast<std::size_t>(i)]);
}

std::uint64_t weight_data_bytes(WeightFormat format, std::int64_t out_features, std::int64_t in_features,
                                DType gguf_type) {
    const auto elements = static_cast<std::uint64_t>(out_features) * static_cast<std::uint64_t>(in_features);
    switch (format) {
    case WeightFormat::F32:
        return elements * 4;
    case WeightFormat::BF16:
        return elements * 2;
    case WeightFormat::F8_E4M3_BLOCK128:
        return elements;
    case WeightFormat::FP4_E2M1_BLOCK32:
        return elements / 2;
    case WeightFormat::GGUF_BLOCK:
        return static_cast<std::uint64_t>(
            dtype_bytes(gguf_type, static_cast<std::int64_t>(elements)).value_or(0));
    }
    return 0;
}

std::uint64_t weight_scale_bytes(WeightFormat format, std::int64_t out_features, std::int64_t in_features) {
    switch (format) {
    case WeightFormat::F32:
    case WeightFormat::BF16:
    case WeightFormat::GGUF_BLOCK: // the block scales are inside the data
        return 0;
    case WeightFormat::F8_E4M3_BLOCK128:
        return static_cast<std::uint64_t>((out_features + 127) / 128) *
               static_cast<std::uint64_t>((in_features + 127) / 128);
    case WeightFormat::FP4_E2M1_BLOCK32:
        return static_cast<std::uint64_t>(out_features) * static_cast<std::uint64_t>(in_features / 32);
    }
    return 0;
}

} // namespace lectern::kernels::cpu
