#pragma once
// Turning VkResult codes into the plain messages that Result carries.

#include "kernels/result.h"

#include <vulkan/vulkan.h>

#include <string>

namespace lectern::kernels::vulkan {

inline const char* vk_result_name(VkResult result) {
    switch (result) {
    case VK_SUCCESS:
        return "success";
    case VK_NOT_READY:
        return "not ready";
    case VK_TIMEOUT:
        return "timed out";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
        return "out of host memory";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
        return "out of GPU memory";
    case VK_ERROR_INITIALIZATION_FAILED:
        return "initialization failed";
    case VK_ERROR_DEVICE_LOST:
        return "the GPU was lost (driver reset or crash)";
    case VK_ERROR_MEMORY_MAP_FAILED:
        return "memory map failed";
    case VK_ERROR_LAYER_NOT_PRESENT:
        return "layer not present";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
        return "extension not present";
    case VK_ERROR_FEATURE_NOT_PRESENT:
        return "feature not present";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
        return "no compatible Vulkan driver";
    case VK_ERROR_TOO_MANY_OBJECTS:
        return "too many objects";
    case VK_ERROR_FORMAT_NOT_SUPPORTED:
        return "format not supported";
    case VK_ERROR_FRAGMENTED_POOL:
        return "fragmented pool";
    case VK_ERROR_OUT_OF_POOL_MEMORY:
        return "out of pool memory";
    case VK_ERROR_INVALID_SHADER_NV:
        return "invalid shader";
    default:
        return "unknown error";
    }
}

inline Error vk_error(const std::string& what, VkResult result) {
    return Error{"Vulkan: " + what + " failed: " + vk_result_name(result) + " (VkResult " +
                 std::to_string(static_cast<int>(result)) + ")"};
}

} // namespace lectern::kernels::vulkan

// Returns the error from the enclosing function (which returns a Result) when a Vulkan call fails.
#define LECTERN_VK_TRY(call, what)                                                                           \
    do {                                                                                                     \
        const VkResult lectern_vk_result = (call);                                                           \
        if (lectern_vk_result != VK_SUCCESS)                                                                 \
            return ::lectern::kernels::vulkan::vk_error(what, lectern_vk_result);                            \
    } while (false)
