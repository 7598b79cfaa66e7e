#include "kernels/vulkan/ops.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

namespace lectern::kernels::vulkan {
namespace {

// Every device allows at least 65535 workgroups per grid dimension; more rows spill into y.
std::array<std::uint32_t, 3> grid(std::uint64_t workgroups) {
    constexpr std::uint64_t kMaxX = 65535;
    const std::uint64_t x = std::min<std::uint64_t>(std::max<std::uint64_t>(workgroups, 1), kMaxX);
    return {static_cast<std::uint32_t>(x), static_cast<std::uint32_t>((workgroups + x - 1) / x), 1};
}

// Shaders index with 32-bit unsigned integers.
Result<void> check_elements(const char* op, std::int64_t elements) {
    if (elements < 0 || elements > std::numeric_limits<std::uint32_t>::max())
        return Error{std::string(op) + ": " + std::to_string(elements) +
                     " elements is beyond what one Vulkan dispatch indexes (2^32); split the tensor"};
    return {};
}

Result<void> check_span(const char* op, const char* name, const BufferSpan& span, std::uint64_t bytes) {
    if (span.bytes < bytes)
        return Error{std::string(op) + ": " + name + " holds " + std::to_string(span.bytes) +
                     " bytes but needs " + std::to_string(bytes)};
    return {};
}

std::string variant(const Stream& stream, const char* base) {
    return stream.context().features().subgroup_arithmetic ? std::string(base) + "_sg" : std::string(base);
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

} // namespace lectern::kernels::vulkan
