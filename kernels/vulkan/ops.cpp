#include "kernels/vulkan/ops.h"

#include "kernels/vulkan/dispatch.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

namespace lectern::kernels::vulkan {
namespace {

using detail::check_span;
using detail::grid;

// Shaders index with 32-bit unsigned integers.
Result<void> check_elements(const char* op, std::int64_t elements) {
    if (elements < 0 || elements > std::numeric_limits<std::uint32_t>::max())
        return Error{std::string(op) + ": " + std::to_string(elements) +
                     " elements is beyond what one Vulkan dispatch indexes (2^32); split the tensor"};
    return {};
}

enum class Storage { Words, Halves, Bytes };

// The shader variant for this context: "_sg" with subgroup arithmetic; "_h"/"_b" when the op reads
// 16-bit/8-bit values and the device can load them directly.
std::string variant(const Stream& stream, const std::string& base, Storage storage = Storage::Words,
                    bool uses_subgroups = true) {
    const Features& f = stream.context().features();
    std::string name = base + (uses_subgroups && f.subgroup_arithmetic ? "_sg" : "");
    if (storage == Storage::Halves && f.storage_16bit) name += "_h";
    if (storage == Storage::Bytes && f.storage_8bit) name += "_b";
    return name;
}

constexpr std::int64_t kRowTile = 4;    // ROW_TILE in linear.comp
constexpr std::int64_t kTile = 64;      // TILE in linear_tiled.comp
constexpr std::int64_t kTiledRows = 8;  // from here on the tiled kernel decodes each weight fewer times
constexpr std::int64_t kRowsGroup = 64; // WG_SIZE in linear_rows.comp
constexpr std::int64_t kRowsTile = 32;  // ROW_TILE in linear_rows.comp

// `format` names the weight format's shader family ("f32", "q4_k", ...).
// `tiled`: the format has a linear_tiled kernel for many rows.
Result<void> dispatch_linear(Stream& stream, const std::string& format, Storage storage, BufferSpan x,
                             std::int64_t rows, BufferSpan data, BufferSpan scales, std::int64_t n,
                             std::int64_t k, BufferSpan y, bool tiled = true) {
    const struct {
        std::uint32_t rows, out_features, in_features;
    } push{static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(k)};
    if (stream.context().features().output_per_invocation) {
        // A workgroup sums WG_SIZE outputs, or one per subgroup with subgroup arithmetic.
        const Features& f = stream.context().features();
        const std::uint64_t per_group = f.subgroup_arithmetic && f.subgroup_size > 0
                                            ? std::max<std::uint64_t>(1, kRowsGroup / f.subgroup_size)
                                            : kRowsGroup;
        const struct {
            std::uint32_t rows, out_features, in_features, outputs_per_group;
        } rows_push{push.rows, push.out_features, push.in_features, static_cast<std::uint32_t>(per_group)};
        std::array<std::uint32_t, 3> groups =
            grid((static_cast<std::uint64_t>(n) + per_group - 1) / per_group);
        const std::int64_t row_tiles = (rows + kRowsTile - 1) / kRowsTile;
        if (row_tiles > 65535) return Error{"linear: more than 2097120 rows in one call; split them"};
        groups[2] = static_cast<std::uint32_t>(row_tiles);
        return stream.dispatch(variant(stream, "linear_rows_" + format, storage), {x, data, scales, y},
                               &rows_push, sizeof(rows_push), groups);
    }
    if (tiled && rows >= kTiledRows) {
        const std::int64_t row_tiles = (rows + kTile - 1) / kTile, out_tiles = (n + kTile - 1) / kTile;
        if (row_tiles > 65535 || out_tiles > 65535)
            return Error{"linear: more than 4194240 rows or outputs in one call; split them"};
        return stream.dispatch(
            variant(stream, "linear_tiled_" + format, storage, false), {x, data, scales, y}, &push,
            sizeof(push), {static_cast<std::uint32_t>(out_tiles), static_cast<std::uint32_t>(row_tiles), 1});
    }
    std::array<std::uint32_t, 3> groups = grid(static_cast<std::uint64_t>(n));
    groups[2] = static_cast<std::uint32_t>((rows + kRowTile - 1) / kRowTile);
    return stream.dispatch(variant(stream, "linear_" + format, storage), {x, data, scales, y}, &push,
                           sizeof(push), groups);
}

// The shader family of a GGUF tensor type (linear.comp; the block types through gguf_blocks.glsl) and how
// it reads the weight, or no name when there is no kernel.
struct GgufShader {
    const char* name = nullptr;
    Storage storage = Storage::Bytes;
};

// Q4_0, Q4_1 and Q8_0 weights multiply activations quantized to 8-bit blocks (quantize_q8.comp), as the CPU
// does (kernels/cpu/quant/matmul.h), so both backends give the same logits.
bool quantizes_activations(DType type) {
    return type == DType::Q4_0 || type == DType::Q4_1 || type == DType::Q8_0;
}
constexpr std::uint64_t kQ8BlockBytes = 40; // d, s and 32 int8 (q8_activations.glsl)

GgufShader gguf_shader(DType type) {
    switch (type) {
    case DType::F32:
        return {"f32", Storage::Words};
    case DType::F16:
        return {"f16", Storage::Halves};
    case DType::BF16:
        return {"bf16", Storage::Halves};
    case DType::Q4_0:
        return {"q4_0"};
    case DType::Q4_1:
        return {"q4_1"};
    case DType::Q5_0:
        return {"q5_0"};
    case DType::Q5_1:
        return {"q5_1"};
    case DType::Q8_0:
        return {"q8_0"};
    case DType::Q2_K:
        return {"q2_k"};
    case DType::Q3_K:
        return {"q3_k"};
    case DType::Q4_K:
        return {"q4_k"};
    case DType::Q5_K:
        return {"q5_k"};
    case DType::Q6_K:
        return {"q6_k"};
    case DType::MXFP4:
        return {"mxfp4"};
    case DType::IQ2_XXS:
        return {"iq2_xxs"};
    default:
        return {};
    }
}

} // namespace

Result<void> rms_norm(Stream& stream, BufferSpan x, std::optional<BufferSpan> weight, BufferSpan y,
                      std::int64_t rows, std::int64_t n, float eps) {
    if (rows <= 0 || n <= 0) return Error{"rms_norm: rows and n must be positive"};
    if (Result<void> ok = check_elements("rms_norm", rows * n); !ok) return ok;
    const std::uint64_t bytes = static_cast<std::uint64_t>(rows * n) * sizeof(float);
    if (Result<void> ok = check_span("rms_norm", "x", x, bytes); !ok) return ok;
    if (Result<void> ok = check_span("rms_norm", "y", y, bytes); !ok) return ok;
    if (weight)
        if (Result<void> ok = check_span("rms_norm", "weight", *weight, n * sizeof(float)); !ok) return ok;
    const struct {
        std::uint32_t rows, n, has_weight;
        float eps;
    } push{static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(n), weight ? 1u : 0u, eps};
    // Without a weight the shader never reads binding 1; x stands in so that every binding is valid.
    return stream.dispatch(variant(stream, "rms_norm"), {x, weight.value_or(x), y}, &push, sizeof(push),
                           grid(static_cast<std::uint64_t>(rows)));
}

Result<void> linear(Stream& stream, BufferSpan x, std::int64_t rows, const DeviceWeight& weight,
                    BufferSpan y) {
    const std::int64_t n = weight.out_features, k = weight.in_features;
    if (weight.format == cpu::WeightFormat::GGUF_BLOCK)
        return linear_gguf(stream, x, rows, weight.gguf_type, weight.data, n, k, y);
    if (rows <= 0 || n <= 0 || k <= 0) return Error{"linear: rows and the weight's shape must be positive"};
    if (weight.format == cpu::WeightFormat::FP4_E2M1_BLOCK32 && k % 32 != 0)
        return Error{"linear: an FP4 weight needs in_features divisible by 32, not " + std::to_string(k)};
    for (const std::int64_t elements : {rows * k, rows * n, n * k})
        if (Result<void> ok = check_elements("linear", elements); !ok) return ok;
    if (Result<void> ok = check_span("linear", "x", x, static_cast<std::uint64_t>(rows * k) * 4); !ok)
        return ok;
    if (Result<void> ok = check_span("linear", "y", y, static_cast<std::uint64_t>(rows * n) * 4); !ok)
        return ok;
    if (Result<void> ok =
            check_span("linear", "the weight", weight.data, cpu::weight_data_bytes(weight.format, n, k));
        !ok)
        return ok;
    const std::uint64_t scale_bytes = cpu::weight_scale_bytes(weight.format, n, k);
    if (scale_bytes > 0) {
        if (!weight.scales) return Error{"linear: this weight format needs its scales"};
        if (Result<void> ok = check_span("linear", "the scales", *weight.scales, scale_bytes); !ok) return ok;
    }

    // Formats without scales never read binding 2; the data stands in so that every binding is valid.
    const BufferSpan scales = weight.scales.value_or(weight.data);
    switch (weight.format) {
    case cpu::WeightFormat::F32:
        return dispatch_linear(stream, "f32", Storage::Words, x, rows, weight.data, scales, n, k, y);
    case cpu::WeightFormat::BF16:
        return dispatch_linear(stream, "bf16", Storage::Halves, x, rows, weight.data, scales, n, k, y);
    case cpu::WeightFormat::F8_E4M3_BLOCK128:
        return dispatch_linear(stream, "f8", Storage::Bytes, x, rows, weight.data, scales, n, k, y);
    case cpu::WeightFormat::FP4_E2M1_BLOCK32:
        return dispatch_linear(stream, "fp4", Storage::Bytes, x, rows, weight.data, scales, n, k, y);
    case cpu::WeightFormat::GGUF_BLOCK:
        break; // linear_gguf, above
    }
    return Error{"linear: unknown weight format"};
}

bool linear_gguf_supports(DType type) {
    return gguf_shader(type).name != nullptr;
}

Result<void> linear_gguf(Stream& stream, BufferSpan x, std::int64_t rows, DType type, BufferSpan weight,
                         std::int64_t out_features, std::int64_t in_features, BufferSpan y) {
    const std::string_view name = dtype_info(type).name;
    const GgufShader shader = gguf_shader(type);
    if (!shader.name)
        return Error{"linear_gguf: the Vulkan backend has no kernel for " + std::string(name) + " weights"};
    const std::int64_t n = out_features, k = in_features, block = dtype_info(type).block_elements;
    if (rows <= 0 || n <= 0 || k <= 0)
        return Error{"linear_gguf: rows and the weight's shape must be positive"};
    if (k % block != 0)
        return Error{"linear_gguf: a " + std::string(name) + " weight needs in_features divisible by " +
                     std::to_string(block) + ", not " + std::to_string(k)};
    for (const std::int64_t elements : {rows * k, rows * n, n * k})
        if (Result<void> ok = check_elements("linear_gguf", elements); !ok) return ok;
    if (Result<void> ok = check_span("linear_gguf", "x", x, static_cast<std::uint64_t>(rows * k) * 4); !ok)
        return ok;
    if (Result<void> ok = check_span("linear_gguf", "y", y, static_cast<std::uint64_t>(rows * n) * 4); !ok)
        return ok;
    if (Result<void> ok = check_span("linear_gguf", "the weight", weight,
                                     static_cast<std::uint64_t>(*dtype_bytes(type, n * k)));
        !ok)
        return ok;
    if (!quantizes_activations(type))
        return dispatch_linear(stream, shader.name, shader.storage, x, rows, weight, weight, n, k, y);

    const auto blocks = static_cast<std::uint64_t>(rows * k / 32);
    Result<BufferSpan> quantized = stream.scratch(blocks * kQ8BlockBytes);
    if (!quantized) return std::move(quantized).take_error();
    const std::uint32_t push = static_cast<std::uint32_t>(blocks);
    if (Result<void> ok =
            stream.dispatch("quantize_q8", {x, *quantized}, &push, sizeof(push), grid((blocks + 63) / 64));
        !ok)
        return ok;
    return dispatch_linear(stream, shader.name, shader.storage, *quantized, rows, weight, weight, n, k, y,
                           false);
}

Result<void> rope_interleaved(Stream& stream, BufferSpan x, BufferSpan cos_sin, std::int64_t rows,
                              std::int64_t heads, std::int64_t head_dim, std::int64_t rope_offset,
                              std::int64_t pairs, bool inverse) {
    if (rows <= 0 || heads <= 0 || pairs <= 0 || rope_offset < 0 || rope_offset + 2 * pairs > head_dim)
        return Error{"rope_interleaved: the rotated dims [" + std::to_string(rope_offset) + ", " +
                     std::to_string(rope_offset + 2 * pairs) + ") must lie inside a head of " +
                     std::to_string(head_dim)};
    if (Result<void> ok = check_elements("rope_interleaved", rows * heads * head_dim); !ok) return ok;
    if (Result<void> ok =
            check_span("rope_interleaved", "x", x, static_cast<std::uint64_t>(rows * heads * head_dim) * 4);
        !ok)
        return ok;
    if (Result<void> ok =
            check_span("rope_interleaved", "cos_sin", cos_sin, static_cast<std::uint64_t>(rows * pairs) * 8);
        !ok)
        return ok;
    const struct {
        std::uint32_t rows, heads, head_dim, rope_offset, pairs, inverse;
    } push{static_cast<std::uint32_t>(rows),     static_cast<std::uint32_t>(heads),
           static_cast<std::uint32_t>(head_dim), static_cast<std::uint32_t>(rope_offset),
           static_cast<std::uint32_t>(pairs),    inverse ? 1u : 0u};
    const auto invocations = static_cast<std::uint64_t>(rows * heads * pairs);
    return stream.dispatch("rope", {x, cos_sin}, &push, sizeof(push), grid((invocations + 63) / 64));
}

Result<void> hadamard(Stream& stream, BufferSpan x, std::int64_t rows, std::int64_t n) {
    if (rows <= 0 || n <= 0 || n > 4096 || (n & (n - 1)) != 0)
        return Error{"hadamard: n must be a power of two up to 4096, not " + std::to_string(n)};
    if (Result<void> ok = check_elements("hadamard", rows * n); !ok) return ok;
    if (Result<void> ok = check_span("hadamard", "x", x, static_cast<std::uint64_t>(rows * n) * 4); !ok)
        return ok;
    // The same float expression as the CPU reference, so both scale identically.
    const struct {
        std::uint32_t rows, n;
        float scale;
    } push{static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(n),
           1.0f / std::sqrt(static_cast<float>(n))};
    return stream.dispatch("hadamard", {x}, &push, sizeof(push), grid(static_cast<std::uint64_t>(rows)));
}

Result<void> sinkhorn(Stream& stream, BufferSpan matrices, std::int64_t count, std::int64_t k,
                      std::int64_t iterations, float eps) {
    if (count <= 0 || k <= 0 || iterations < 1)
        return Error{"sinkhorn: count, k and iterations must be positive"};
    if (Result<void> ok = check_elements("sinkhorn", count * k * k); !ok) return ok;
    if (Result<void> ok =
            check_span("sinkhorn", "matrices", matrices, static_cast<std::uint64_t>(count * k * k) * 4);
        !ok)
        return ok;
    const struct {
        std::uint32_t count, k, iterations;
        float eps;
    } push{static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(k),
           static_cast<std::uint32_t>(iterations), eps};
    return stream.dispatch("sinkhorn", {matrices}, &push, sizeof(push),
                           grid((static_cast<std::uint64_t>(count) + 63) / 64));
}

Result<void> sink_attention(Stream& stream, BufferSpan queries, std::int64_t heads, BufferSpan entries,
                            std::int64_t count, std::int64_t dim, float scale, BufferSpan sinks,
                            BufferSpan scratch, BufferSpan out) {
    constexpr std::int64_t kMaxDim = 2048; // MAX_DIM in sink_attention_logits.comp
    if (heads <= 0 || count <= 0 || dim <= 0 || dim > kMaxDim)
        return Error{"sink_attention: heads and count must be positive and dim between 1 and 2048"};
    if (heads > 65535) return Error{"sink_attention: more than 65535 heads in one call; split them"};
    for (const std::int64_t elements : {heads * dim, count * dim, heads * count})
        if (Result<void> ok = check_elements("sink_attention", elements); !ok) return ok;
    const auto bytes = [](std::int64_t elements) { return static_cast<std::uint64_t>(elements) * 4; };
    for (const auto& [name, span, needed] : {std::tuple{"queries", queries, bytes(heads * dim)},
                                             {"entries", entries, bytes(count * dim)},
                                             {"sinks", sinks, bytes(heads)},
                                             {"scratch", scratch, bytes(heads * count)},
                                             {"out", out, bytes(heads * dim)}})
        if (Result<void> ok = check_span("sink_attention", name, span, needed); !ok) return ok;
    constexpr std::int64_t kLogitGroup = 64, kOutTile = 64; // WG_SIZE and OUT_TILE of the two shaders
    if ((count + kLogitGroup - 1) / kLogitGroup > 65535)
        return Error{"sink_attention: more than 4194240 entries in one call; split them"};
    const struct {
        std::uint32_t heads, count, dim;
        float scale;
    } logits_push{static_cast<std::uint32_t>(heads), static_cast<std::uint32_t>(count),
                  static_cast<std::uint32_t>(dim), scale};
    if (Result<void> ok = stream.dispatch(
            "sink_attention_logits", {queries, entries, scratch}, &logits_push, sizeof(logits_push),
            {static_cast<std::uint32_t>((count + kLogitGroup - 1) / kLogitGroup),
             static_cast<std::uint32_t>(heads), 1});
        !ok)
        return ok;
    const struct {
        std::uint32_t heads, count, dim;
    } push{static_cast<std::uint32_t>(heads), static_cast<std::uint32_t>(count),
           static_cast<std::uint32_t>(dim)};
    return stream.dispatch(
        variant(stream, "sink_attention"), {scratch, entries, sinks, out}, &push, sizeof(push),
        {static_cast<std::uint32_t>((dim + kOutTile - 1) / kOutTile), static_cast<std::uint32_t>(heads), 1});
}

} // namespace lectern::kernels::vulkan
