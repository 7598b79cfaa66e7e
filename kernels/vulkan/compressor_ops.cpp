#include "kernels/vulkan/compressor_ops.h"

#include "kernels/vulkan/dispatch.h"

#include <cstdint>
#include <limits>
#include <string>
#include <tuple>

namespace lectern::kernels::vulkan {

Result<void> compressor_chunk(Stream& stream, BufferSpan a, BufferSpan z, BufferSpan ape, std::int64_t rows,
                              std::int64_t first, std::int64_t ratio, std::int64_t width, BufferSpan state_kv,
                              BufferSpan state_score, BufferSpan pooled) {
    constexpr const char* op = "compressor_chunk";
    constexpr std::int64_t kMax = std::numeric_limits<std::uint32_t>::max();
    if (rows <= 0 || ratio <= 0 || width <= 0 || first < 0)
        return Error{std::string(op) + ": rows, ratio and width must be positive and first not negative"};
    const bool overlap = ratio == 4;
    const std::int64_t row_width = (overlap ? 2 : 1) * width;
    const std::int64_t slots = (overlap ? 2 : 1) * ratio;
    const std::int64_t blocks = (first + rows) / ratio - first / ratio;
    if (first + rows > kMax || rows * row_width > kMax || slots * row_width > kMax ||
        ratio * row_width > kMax)
        return Error{std::string(op) + ": positions or sizes past 32-bit indexing"};
    const auto bytes = [](std::int64_t elements) { return static_cast<std::uint64_t>(elements) * 4; };
    for (const auto& [name, span, elements] :
         {std::tuple{"a", a, rows * row_width}, std::tuple{"z", z, rows * row_width},
          std::tuple{"ape", ape, ratio * row_width}, std::tuple{"state_kv", state_kv, slots * row_width},
          std::tuple{"state_score", state_score, slots * row_width}})
        if (Result<void> ok = detail::check_span(op, name, span, bytes(elements)); !ok) return ok;
    const struct {
        std::uint32_t rows, first, ratio, width, overlap, blocks;
    } push{static_cast<std::uint32_t>(rows),
           static_cast<std::uint32_t>(first),
           static_cast<std::uint32_t>(ratio),
           static_cast<std::uint32_t>(width),
           overlap ? 1u : 0u,
           static_cast<std::uint32_t>(blocks)};
    if (blocks > 0) {
        if (Result<void> ok = detail::check_span(op, "pooled", pooled, bytes(blocks * width)); !ok) return ok;
        if (Result<void> ok = stream.dispatch(
                "compressor_chunk_pool", {a, z, ape, state_kv, state_score, pooled}, &push, sizeof(push),
                detail::grid(static_cast<std::uint64_t>(blocks * width + 63) / 64));
            !ok)
            return ok;
    }
    return stream.dispatch("compressor_chunk_state", {a, z, ape, state_kv, state_score}, &push, sizeof(push),
                           detail::grid(static_cast<std::uint64_t>(ratio * row_width + 63) / 64));
}

} // namespace lectern::kernels::vulkan
