#pragma once
// Helpers every op file of this backend shares when it records a dispatch: the workgroup grid and the
// check that a buffer span holds what an op reads or writes. Internal to kernels/vulkan.

#include "kernels/result.h"
#include "kernels/vulkan/stream.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace lectern::kernels::vulkan::detail {

// Every device allows at least 65535 workgroups per grid dimension; more spill into y.
inline std::array<std::uint32_t, 3> grid(std::uint64_t workgroups) {
    constexpr std::uint64_t kMaxX = 65535;
    const std::uint64_t x = std::min<std::uint64_t>(std::max<std::uint64_t>(workgroups, 1), kMaxX);
    return {static_cast<std::uint32_t>(x), static_cast<std::uint32_t>((workgroups + x - 1) / x), 1};
}

inline Result<void> check_span(const char* op, const char* name, const BufferSpan& span,
                               std::uint64_t bytes) {
    if (span.bytes < bytes)
        return Error{std::string(op) + ": " + name + " holds " + std::to_string(span.bytes) +
                     " bytes but needs " + std::to_string(bytes)};
    return {};
}

} // namespace lectern::kernels::vulkan::detail
