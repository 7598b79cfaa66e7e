#include "inference/backend/device_weights.h"

#include <algorithm>

namespace lectern::backend {
namespace {

constexpr std::size_t kMinimumChunkBytes = std::size_t{16} << 20;

std::size_t alignment_of(const kernels::vulkan::DeviceInfo& device) {
    return std::max<std::size_t>(256, device.min_storage_buffer_offset_alignment);
}

std::size_t align_up(std::size_t value, std::size_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

} // namespace

DeviceWeights::DeviceWeights(kernels::vulkan::Context& context) : context_(&context) {}

void DeviceWeights::plan(std::uint64_t bytes, std::size_t tensors) {
    planned_ = bytes + tensors * alignment_of(context_->device());
}

Result<kernels::vulkan::BufferSpan> DeviceWeights::upload(std::span<const std::byte> bytes,
                                                          const std::string& name) {
    const kernels::vulkan::DeviceInfo& device = context_->device();
    const std::size_t alignment = alignment_of(device);
    if (bytes.size() > device.max_storage_buffer_range)
        return Error{"tensor '" + name + "' holds " + std::to_string(bytes.size()) + " bytes, more than " +
                     device.name + " binds at once (" + std::to_string(device.max_storage_buffer_range) +
                     "); run this model on the CPU backend"};
    std::size_t offset = align_up(used_, alignment);
    if (chunks_.empty() || offset + bytes.size() > chunks_.back().size()) {
        const std::uint64_t wanted = std::max<std::uint64_t>({kMinimumChunkBytes, bytes.size(), planned_});
        const std::size_t chunk = static_cast<std::size_t>(std::max<std::uint64_t>(
            std::min<std::uint64_t>(wanted, device.max_allocation_bytes), bytes.size()));
        auto buffer = context_->create_buffer(chunk);
        if (!buffer) return Error{"placing tensor '" + name + "' on " + device.name + ": " + buffer.error()};
        chunks_.push_back(std::move(*buffer));
        bytes_ += chunk;
        offset = 0;
    }
    if (auto uploaded = context_->upload(chunks_.back(), offset, bytes.data(), bytes.size()); !uploaded)
        return Error{"uploading tensor '" + name + "' to " + device.name + ": " + uploaded.error()};
    used_ = offset + bytes.size();
    planned_ -= std::min<std::uint64_t>(planned_, bytes.size() + alignment);
    return chunks_.back().span(offset, bytes.size());
}

} // namespace lectern::backend
