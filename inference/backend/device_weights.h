#pragma once
// Weights placed on a Vulkan device: each tensor is uploaded once, through the context's staging buffer
// straight from the mapped model file, into a few large device buffers (one allocation per tensor would
// run into the device's allocation count), at offsets every device can bind.

#include "kernels/result.h"
#include "kernels/vulkan/context.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lectern::backend {

class DeviceWeights {
public:
    explicit DeviceWeights(kernels::vulkan::Context& context);

    // The total bytes and count of the tensors about to be uploaded, so that the buffers are sized to
    // them rather than to a fixed chunk.
    void plan(std::uint64_t bytes, std::size_t tensors);

    // Copies `bytes` to the device; the span stays valid as long as this object. `name` is for errors.
    Result<kernels::vulkan::BufferSpan> upload(std::span<const std::byte> bytes, const std::string& name);

    std::uint64_t bytes() const { return bytes_; } // the device memory allocated for weights

private:
    kernels::vulkan::Context* context_;
    std::vector<kernels::vulkan::Buffer> chunks_;
    std::size_t used_ = 0; // in the last chunk
    std::uint64_t bytes_ = 0;
    std::uint64_t planned_ = 0; // bytes still to come, with each tensor's alignment padding
};

} // namespace lectern::backend
