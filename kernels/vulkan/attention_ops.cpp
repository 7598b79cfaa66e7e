#include "kernels/vulkan/attention_ops.h"

#include "kernels/vulkan/dispatch.h"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>

namespace lectern::kernels::vulkan {
namespace {

constexpr const char* kOp = "sparse_attention";
constexpr std::int64_t kMaxDim = 2048;     // MAX_DIM of sparse_attention.comp's logits pass
constexpr std::int64_t kLogitGroup = 64;   // its WG_SIZE: candidates per workgroup
constexpr std::int64_t kOutTile = 64;      // OUT_TILE of the weighted-sum pass
constexpr std::int64_t kMaxGroups = 65535; // workgroups per grid dimension every device allows

// Logits per (row, head): the longest window any row sees plus the most compressed entries.
std::int64_t logit_stride(std::int64_t rows, std::int64_t window, std::int64_t first,
                          std::int64_t entry_capacity, bool has_selected, std::int64_t k) {
    return std::min(window, first + rows) + (has_selected ? k : entry_capacity);
}

} // namespace

std::uint64_t sparse_attention_scratch_bytes(std::int64_t rows, std::int64_t heads, std::int64_t window,
                                             std::int64_t first, std::int64_t entry_capacity,
                                             bool has_selected, std::int64_t k) {
    return static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(heads) *
           static_cast<std::uint64_t>(logit_stride(rows, window, first, entry_capacity, has_selected, k)) * 4;
}

Result<void> sparse_attention(Stream& stream, BufferSpan queries, std::int64_t rows, std::int64_t heads,
                              std::int64_t dim, BufferSpan ring, std::int64_t window, BufferSpan fresh,
                              std::int64_t first, BufferSpan entries, std::int64_t entry_capacity,
                              std::optional<BufferSpan> selected, std::int64_t k, BufferSpan counts,
                              float scale, BufferSpan sinks, BufferSpan scratch, BufferSpan out,
                              Storage cache) {
    const std::string op = kOp;
    if (rows <= 0 || heads <= 0 || dim <= 0 || window <= 0)
        return Error{op + ": rows, heads, dim and window must be positive (rows " + std::to_string(rows) +
                     ", heads " + std::to_string(heads) + ", dim " + std::to_string(dim) + ", window " +
                     std::to_string(window) + ")"};
    if (dim > kMaxDim) return Error{op + ": dim " + std::to_string(dim) + " is past the 2048 supported"};
    if (first < 0 || entry_capacity < 0)
        return Error{op + ": first (" + std::to_string(first) + ") and entry_capacity (" +
                     std::to_string(entry_capacity) + ") must not be negative"};
    if (selected && k <= 0)
        return Error{op + ": with selected entries k must be positive, not " + std::to_string(k)};
    if (rows > kMaxGroups || heads > kMaxGroups)
        return Error{op + ": more than 65535 rows or heads in one call; split them"};
    constexpr std::int64_t kMax32 = std::numeric_limits<std::uint32_t>::max();
    if (first + rows > kMax32) return Error{op + ": positions past 2^32 - 1"};
    const bool has_selected = selected.has_value();
    const std::int64_t k_used = has_selected ? k : 0;
    const std::int64_t stride = logit_stride(rows, window, first, entry_capacity, has_selected, k_used);
    if ((stride + kLogitGroup - 1) / kLogitGroup > kMaxGroups)
        return Error{op + ": " + std::to_string(stride) + " candidates per row; at most " +
                     std::to_string(kMaxGroups * kLogitGroup) + " in one call"};
    // Shaders index with 32-bit unsigned integers: no binding may hold more elements than that.
    for (const auto& [name, elements] : {std::tuple{"queries", rows * heads * dim},
                                         {"ring", window * dim},
                                         {"fresh", rows * dim},
                                         {"entries", entry_capacity * dim},
                                         {"selected", rows * k_used},
                                         {"scratch", rows * heads * stride}})
        if (elements > kMax32)
            return Error{op + ": " + name + " of " + std::to_string(elements) +
                         " elements is beyond 32-bit indexing; split the call"};
    const auto bytes = [](std::int64_t elements) { return static_cast<std::uint64_t>(elements) * 4; };
    for (const auto& [name, span, needed] : {std::tuple{"queries", queries, bytes(rows * heads * dim)},
                                             {"ring", ring, storage_bytes(cache, window * dim)},
                                             {"fresh", fresh, bytes(rows * dim)},
                                             {"entries", entries, storage_bytes(cache, entry_capacity * dim)},
                                             {"selected", selected.value_or(counts), bytes(rows * k_used)},
                                             {"counts", counts, bytes(rows)},
                                             {"sinks", sinks, bytes(heads)},
                                             {"scratch", scratch, bytes(rows * heads * stride)},
                                             {"out", out, bytes(rows * heads * dim)}})
        if (Result<void> ok = detail::check_span(kOp, name, span, needed); !ok) return ok;

    const auto u32 = [](std::int64_t value) { return static_cast<std::uint32_t>(value); };
    const struct {
        std::uint32_t rows, heads, dim, window, first, capacity, k, has_selected, stride;
        float scale;
    } push{u32(rows),   u32(heads),
           u32(dim),    u32(window),
           u32(first),  u32(entry_capacity),
           u32(k_used), has_selected ? 1u : 0u,
           u32(stride), scale};
    // Without `selected` the shaders never read binding 3; counts stand in so that every binding is valid.
    const BufferSpan chosen = selected.value_or(counts);
    const std::string suffix = cache == Storage::BF16 ? "_bf16" : "";
    if (Result<void> ok = stream.dispatch(
            "sparse_attention_logits" + suffix, {ring, fresh, entries, chosen, counts, queries, scratch},
            &push, sizeof(push), {u32((stride + kLogitGroup - 1) / kLogitGroup), u32(heads), u32(rows)});
        !ok)
        return ok;
    const bool subgroups = stream.context().features().subgroup_arithmetic;
    return stream.dispatch("sparse_attention" + suffix + (subgroups ? "_sg" : ""),
                           {ring, fresh, entries, chosen, counts, scratch, sinks, out}, &push, sizeof(push),
                           {u32((dim + kOutTile - 1) / kOutTile), u32(heads), u32(rows)});
}

} // namespace lectern::kernels::vulkan
