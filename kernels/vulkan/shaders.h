#pragma once
// The embedded SPIR-V of every shader variant (generated from kernels/vulkan/shaders/ at build time).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lectern::kernels::vulkan {

struct ShaderCode {
    std::string_view name;
    const std::uint32_t* words;
    std::size_t bytes;
};

// nullptr when no variant has that name.
const ShaderCode* find_shader(std::string_view name);

} // namespace lectern::kernels::vulkan
