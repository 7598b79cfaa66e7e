#include "kernels/vulkan/dense_ops.h"

#include "kernels/vulkan/dispatch.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <tuple>

namespace lectern::kernels::vulkan {
namespace {

using detail::check_span;
using detail::grid;

Result<void> check_count(const char* op, std::int64_t elements) {
    if (elements <= 0 || elements > std::numeric_limits<std::uint32_t>::max())
        return Error{std::string(op) + ": " + std::to_string(elements) +
                     " elements is not a count one Vulkan dispatch indexes (1 .. 2^32 - 1)"};
    return {};
}

std::string variant(const Stream& stream, const char* base) {
    return std::string(base) + (stream.context().features().subgroup_arithmetic ? "_sg" : "");
}

Result<void> elementwise(Stream& stream, const char* op, BufferSpan a, BufferSpan b, std::int64_t count) {
    if (Result<void> ok = check_count(op, count); !ok) return ok;
    const std::uint64_t bytes = static_cast<std::uint64_t>(count) * sizeof(float);
    if (Result<void> ok = check_span(op, "the output", a, bytes); !ok) return ok;
    if (Result<void> ok = check_span(op, "the input", b, bytes); !ok) return ok;
    const std::uint32_t push = static_cast<std::uint32_t>(count);
    return stream.dispatch(op, {a, b}, &push, sizeof(push),
                           grid((static_cast<std::uint64_t>(count) + 255) / 256));
}

} // namespace

Result<void> add_in_place(Stream& stream, BufferSpan y, BufferSpan x, std::int64_t count) {
    return elementwise(stream, "add", y, x, count);
}

Result<void> silu_mul(Stream& stream, BufferSpan gate, BufferSpan up, std::int64_t count) {
    return elementwise(stream, "silu_mul", gate, up, count);
}

Result<void> kv_store(Stream& stream, BufferSpan keys, BufferSpan values, std::int64_t rows,
                      std::int64_t kv_dim, BufferSpan key_cache, BufferSpan value_cache,
                      std::int64_t capacity, BufferSpan first_position) {
    if (kv_dim <= 0 || kv_dim % 2 != 0 || rows <= 0 || capacity < rows)
        return Error{"kv_store: kv_dim must be even and positive, and the cache must hold at least the " +
                     std::to_string(rows) + " rows written (capacity " + std::to_string(capacity) + ")"};
    for (const std::int64_t elements : {rows * kv_dim, capacity * kv_dim})
        if (Result<void> ok = check_count("kv_store", elements); !ok) return ok;
    const std::uint64_t row_bytes = static_cast<std::uint64_t>(rows * kv_dim) * 4,
                        cache_bytes = static_cast<std::uint64_t>(capacity * kv_dim) * 2;
    for (const auto& [name, span, bytes] :
         {std::tuple{"keys", keys, row_bytes}, std::tuple{"values", values, row_bytes},
          std::tuple{"the key cache", key_cache, cache_bytes},
          std::tuple{"the value cache", value_cache, cache_bytes},
          std::tuple{"the first position", first_position, std::uint64_t{4}}})
        if (Result<void> ok = check_span("kv_store", name, span, bytes); !ok) return ok;
    const struct {
        std::uint32_t rows, kv_dim, capacity;
    } push{static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(kv_dim),
           static_cast<std::uint32_t>(capacity)};
    const std::uint64_t invocations = static_cast<std::uint64_t>(rows * kv_dim / 2);
    return stream.dispatch("kv_store", {keys, values, key_cache, value_cache, first_position}, &push,
                           sizeof(push), grid((invocations + 63) / 64));
}

Result<void> causal_attention(Stream& stream, BufferSpan queries, std::int64_t rows, std::int64_t heads,
                              std::int64_t kv_heads, std::int64_t head_dim, BufferSpan key_cache,
                              BufferSpan value_cache, std::int64_t capacity, BufferSpan first_position,
                              float scale, BufferSpan out) {
    if (rows <= 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0)
        return Error{"causal_attention: rows and heads must be positive and the " + std::to_string(heads) +
                     " query heads a multiple of the " + std::to_string(kv_heads) + " key/value heads"};
    if (head_dim <= 0 || head_dim % 2 != 0 || head_dim > 256)
        return Error{"causal_attention: the head size must be even and at most 256, not " +
                     std::to_string(head_dim)};
    for (const std::int64_t elements : {rows * heads * head_dim, capacity * kv_heads * head_dim})
        if (Result<void> ok = check_count("causal_attention", elements); !ok) return ok;
    const std::uint64_t query_bytes = static_cast<std::uint64_t>(rows * heads * head_dim) * 4,
                        cache_bytes = static_cast<std::uint64_t>(capacity * kv_heads * head_dim) * 2;
    for (const auto& [name, span, bytes] :
         {std::tuple{"queries", queries, query_bytes}, std::tuple{"out", out, query_bytes},
          std::tuple{"the key cache", key_cache, cache_bytes},
          std::tuple{"the value cache", value_cache, cache_bytes},
          std::tuple{"the first position", first_position, std::uint64_t{4}}})
        if (Result<void> ok = check_span("causal_attention", name, span, bytes); !ok) return ok;
    const struct {
        std::uint32_t rows, heads, kv_heads, head_dim;
        float scale;
    } push{static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(heads),
           static_cast<std::uint32_t>(kv_heads), static_cast<std::uint32_t>(head_dim), scale};
    return stream.dispatch(variant(stream, "causal_attention"),
                           {queries, key_cache, value_cache, first_position, out}, &push, sizeof(push),
                           grid(static_cast<std::uint64_t>(rows * heads)));
}

} // namespace lectern::kernels::vulkan
