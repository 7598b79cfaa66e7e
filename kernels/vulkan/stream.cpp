#include "kernels/vulkan/stream.h"

#include "kernels/vulkan/errors.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace lectern::kernels::vulkan {

Stream::Stream(Stream&& other) noexcept
    : context_(other.context_), pool_(std::exchange(other.pool_, VK_NULL_HANDLE)),
      commands_(std::exchange(other.commands_, VK_NULL_HANDLE)),
      fence_(std::exchange(other.fence_, VK_NULL_HANDLE)),
      descriptors_(std::exchange(other.descriptors_, VK_NULL_HANDLE)),
      queries_(std::exchange(other.queries_, VK_NULL_HANDLE)), timestamps_(other.timestamps_),
      dispatches_(other.dispatches_), recording_(other.recording_), recorded_(other.recorded_),
      scratch_(std::move(other.scratch_)) {}

Stream::~Stream() {
    if (!context_) return;
    const VkDevice device = context_->vk_device();
    // A recording is only ever executing inside submit(), which waits for it, so nothing is in flight here.
    if (queries_) vkDestroyQueryPool(device, queries_, nullptr);
    if (descriptors_) vkDestroyDescriptorPool(device, descriptors_, nullptr);
    if (fence_) vkDestroyFence(device, fence_, nullptr);
    if (pool_) vkDestroyCommandPool(device, pool_, nullptr);
}

Result<void> Stream::init() {
    const VkDevice device = context_->vk_device();
    VkCommandPoolCreateInfo pool_info{};
    pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool_info.queueFamilyIndex = context_->queue_family();
    LECTERN_VK_TRY(vkCreateCommandPool(device, &pool_info, nullptr, &pool_), "creating a command pool");
    VkCommandBufferAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    alloc.commandPool = pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    LECTERN_VK_TRY(vkAllocateCommandBuffers(device, &alloc, &commands_), "allocating a command buffer");
    VkFenceCreateInfo fence_info{};
    fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    LECTERN_VK_TRY(vkCreateFence(device, &fence_info, nullptr, &fence_), "creating a fence");

    const VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kMaxDispatches * 8};
    VkDescriptorPoolCreateInfo descriptor_info{};
    descriptor_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
    descriptor_info.maxSets = kMaxDispatches;
    descriptor_info.poolSizeCount = 1;
    descriptor_info.pPoolSizes = &size;
    LECTERN_VK_TRY(vkCreateDescriptorPool(device, &descriptor_info, nullptr, &descriptors_),
                   "creating a descriptor pool");

    if (context_->device().timestamp_period_ns > 0) {
        VkQueryPoolCreateInfo query_info{};
        query_info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
        query_info.queryType = VK_QUERY_TYPE_TIMESTAMP;
        query_info.queryCount = kMaxTimestamps;
        LECTERN_VK_TRY(vkCreateQueryPool(device, &query_info, nullptr, &queries_), "creating a query pool");
    }
    return {};
}

Result<void> Stream::begin_if_needed() {
    if (recorded_) return Error{"Vulkan: this stream's recording was finished by submit(); reset() it first"};
    if (recording_) return {};
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    LECTERN_VK_TRY(vkBeginCommandBuffer(commands_, &begin), "starting a recording");
    if (queries_) vkCmdResetQueryPool(commands_, queries_, 0, kMaxTimestamps);
    recording_ = true;
    return {};
}

Result<void> Stream::dispatch(std::string_view shader, std::initializer_list<BufferSpan> bindings,
                              const void* push, std::size_t push_bytes, std::array<std::uint32_t, 3> groups) {
    if (push_bytes > Context::kPushConstantBytes)
        return Error{"Vulkan: shader " + std::string(shader) + " was given too many push constants"};
    if (dispatches_ == kMaxDispatches)
        return Error{"Vulkan: more than " + std::to_string(kMaxDispatches) +
                     " dispatches in one recording; submit and reset between parts"};
    const DeviceInfo& info = context_->device();
    for (const BufferSpan& span : bindings) {
        if (span.buffer == VK_NULL_HANDLE || span.bytes == 0)
            return Error{"Vulkan: shader " + std::string(shader) + " was given an empty buffer"};
        const std::size_t alignment = std::max<std::size_t>(info.min_storage_buffer_offset_alignment, 4);
        if (span.offset % alignment != 0)
            return Error{"Vulkan: shader " + std::string(shader) + " was given a buffer offset of " +
                         std::to_string(span.offset) + " bytes; this device needs multiples of " +
                         std::to_string(alignment)};
        if (span.bytes > info.max_storage_buffer_range)
            return Error{"Vulkan: a tensor of " + std::to_string(span.bytes >> 20) + " MiB exceeds " +
                         info.name + "'s largest shader-visible buffer range (" +
                         std::to_string(info.max_storage_buffer_range >> 20) + " MiB); split it"};
    }
    const Result<const Pipeline*> pipeline =
        context_->pipeline(shader, static_cast<std::uint32_t>(bindings.size()));
    if (!pipeline) return Error{pipeline.error()};
    if (Result<void> ok = begin_if_needed(); !ok) return ok;

    VkDescriptorSetAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    alloc.descriptorPool = descriptors_;
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &(*pipeline)->set_layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    LECTERN_VK_TRY(vkAllocateDescriptorSets(context_->vk_device(), &alloc, &set),
                   "allocating a descriptor set");
    std::vector<VkDescriptorBufferInfo> buffer_infos;
    std::vector<VkWriteDescriptorSet> writes;
    buffer_infos.reserve(bindings.size());
    // Whole words: byte and 16-bit tensors are read as 32-bit words (buffers are padded to allow it).
    for (const BufferSpan& span : bindings)
        buffer_infos.push_back({span.buffer, span.offset, (span.bytes + 3) / 4 * 4});
    for (std::uint32_t i = 0; i < buffer_infos.size(); ++i) {
        VkWriteDescriptorSet write{};
        write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
        write.dstSet = set;
        write.dstBinding = i;
        write.descriptorCount = 1;
        write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        write.pBufferInfo = &buffer_infos[i];
        writes.push_back(write);
    }
    vkUpdateDescriptorSets(context_->vk_device(), static_cast<std::uint32_t>(writes.size()), writes.data(), 0,
                           nullptr);

    vkCmdBindPipeline(commands_, VK_PIPELINE_BIND_POINT_COMPUTE, (*pipeline)->pipeline);
    vkCmdBindDescriptorSets(commands_, VK_PIPELINE_BIND_POINT_COMPUTE, (*pipeline)->layout, 0, 1, &set, 0,
                            nullptr);
    if (push_bytes > 0)
        vkCmdPushConstants(commands_, (*pipeline)->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<std::uint32_t>(push_bytes), push);
    vkCmdDispatch(commands_, groups[0], groups[1], groups[2]);
    // Conservative but simple: every dispatch may read what any earlier one wrote.
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    barrier.dstAccessMask =
        VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    vkCmdPipelineBarrier(commands_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                         &barrier, 0, nullptr, 0, nullptr);
    ++dispatches_;
    return {};
}

Result<std::uint32_t> Stream::timestamp() {
    if (!queries_)
        return Error{"Vulkan: " + context_->device().name + " has no timestamps on its compute queue"};
    if (timestamps_ == kMaxTimestamps)
        return Error{"Vulkan: more than " + std::to_string(kMaxTimestamps) + " timestamps in one recording"};
    if (Result<void> ok = begin_if_needed(); !ok) return Error{ok.error()};
    vkCmdWriteTimestamp(commands_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, timestamps_);
    return timestamps_++;
}

Result<void> Stream::submit() {
    if (recording_) {
        LECTERN_VK_TRY(vkEndCommandBuffer(commands_), "finishing a recording");
        recording_ = false;
        recorded_ = true;
    }
    if (!recorded_) return {};
    const VkDevice device = context_->vk_device();
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &commands_;
    LECTERN_VK_TRY(vkQueueSubmit(context_->queue(), 1, &submit, fence_), "submitting work");
    LECTERN_VK_TRY(vkWaitForFences(device, 1, &fence_, VK_TRUE, UINT64_MAX), "waiting for the GPU");
    LECTERN_VK_TRY(vkResetFences(device, 1, &fence_), "resetting a fence");
    return {};
}

Result<BufferSpan> Stream::scratch(std::size_t bytes) {
    if (scratch_.empty() || scratch_.back().size() < bytes) {
        // Half as much again as before, so that a need that grows a little at a time (attention over a
        // lengthening context) makes few buffers.
        const std::size_t grown = scratch_.empty() ? bytes : std::max(bytes, scratch_.back().size() * 3 / 2);
        Result<Buffer> buffer = context_->create_buffer(grown);
        if (!buffer) return std::move(buffer).take_error();
        scratch_.push_back(std::move(*buffer));
    }
    return scratch_.back().span(0, bytes);
}

void Stream::reset() {
    if (recording_) vkEndCommandBuffer(commands_);
    // No recording refers to the scratch buffers outgrown any more: keep only the largest.
    if (scratch_.size() > 1) scratch_.erase(scratch_.begin(), scratch_.end() - 1);
    vkResetCommandBuffer(commands_, 0);
    vkResetDescriptorPool(context_->vk_device(), descriptors_, 0);
    recording_ = false;
    recorded_ = false;
    timestamps_ = 0;
    dispatches_ = 0;
}

Result<double> Stream::elapsed_ms(std::uint32_t from, std::uint32_t to) const {
    if (!queries_ || from >= timestamps_ || to >= timestamps_ || !recorded_)
        return Error{"Vulkan: no such timestamps in the last submitted recording"};
    std::uint64_t ticks[2] = {};
    const VkDevice device = context_->vk_device();
    const VkQueryResultFlags flags = VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT;
    LECTERN_VK_TRY(vkGetQueryPoolResults(device, queries_, from, 1, sizeof(ticks[0]), &ticks[0],
                                         sizeof(ticks[0]), flags),
                   "reading a timestamp");
    LECTERN_VK_TRY(
        vkGetQueryPoolResults(device, queries_, to, 1, sizeof(ticks[1]), &ticks[1], sizeof(ticks[1]), flags),
        "reading a timestamp");
    return static_cast<double>(ticks[1] - ticks[0]) * context_->device().timestamp_period_ns * 1e-6;
}

} // namespace lectern::kernels::vulkan
