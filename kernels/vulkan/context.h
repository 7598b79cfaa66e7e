#pragma once
// The Vulkan device, its memory and its pipelines. One Context per device; Buffers and Streams made by
// a Context must not outlive it. Not thread-safe: one thread drives a Context at a time.

#include "kernels/result.h"

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lectern::kernels::vulkan {

// What the shaders may use. A device's supported set, less what ContextOptions::force_fallback turns off.
struct Features {
    bool subgroup_arithmetic = false; // subgroupAdd/Max in compute shaders
    std::uint32_t subgroup_size = 0;
    bool shader_float16 = false; // float16_t arithmetic
    bool storage_16bit = false;  // float16_t/uint16_t in storage buffers
    bool storage_8bit = false;   // int8_t/uint8_t in storage buffers
    // The device runs invocations on CPU cores (lavapipe): linear sums one output per invocation
    // (shaders/linear_rows.comp), since workgroup barriers cost far more there than arithmetic.
    bool output_per_invocation = false;
};

struct MemoryHeap {
    std::uint64_t bytes = 0;
    bool device_local = false;
};

struct DeviceInfo {
    std::string name;
    std::string type; // "discrete GPU", "integrated GPU", "virtual GPU", "CPU (software)", "other"
    std::string driver;
    std::uint32_t api_version = 0;
    Features supported;
    std::vector<MemoryHeap> heaps;
    std::uint64_t max_allocation_bytes = 0; // the largest single buffer
    std::uint64_t max_storage_buffer_range = 0;
    std::uint32_t min_storage_buffer_offset_alignment = 0;
    double timestamp_period_ns = 0; // 0: the compute queue has no timestamps
};

struct ContextOptions {
    // Which device: empty picks the best (discrete > integrated > virtual > CPU); otherwise its index in
    // the device list, or a case-insensitive part of its name ("llvmpipe" is Mesa's lavapipe). When empty,
    // the environment variable LECTERN_VULKAN_DEVICE is used if set.
    std::string device;
    // Use the portable shader variants even where the device has subgroup ops, 16-bit or 8-bit storage.
    // LECTERN_VULKAN_FALLBACK=1 in the environment does the same.
    bool force_fallback = false;
    // A folder to keep the pipeline cache in between runs, one file per device model
    // (pipelines-<vendor id>-<device id>.bin, made if missing); empty keeps it in memory only.
    std::string pipeline_cache_dir;
    // The most device memory this context's buffers may hold, in bytes (0: what the device has): a buffer
    // beyond it fails as one beyond the device's memory does.
    std::uint64_t memory_limit = 0;
};

class Context;

// A range of a buffer bound to one shader binding.
struct BufferSpan {
    VkBuffer buffer = VK_NULL_HANDLE;
    std::size_t offset = 0;
    std::size_t bytes = 0;
};

// Device-local storage. Move-only; freed with its Context's device.
class Buffer {
public:
    Buffer() = default;
    ~Buffer();
    Buffer(Buffer&& other) noexcept;
    Buffer& operator=(Buffer&& other) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    std::size_t size() const { return size_; }
    BufferSpan span() const { return {buffer_, 0, size_}; }
    BufferSpan span(std::size_t offset, std::size_t bytes) const { return {buffer_, offset, bytes}; }

private:
    friend class Context;
    void release();

    VkDevice device_ = VK_NULL_HANDLE;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    std::size_t size_ = 0;
    std::atomic<std::uint64_t>* held_ = nullptr; // the context's count of device memory, less this on release
    std::uint64_t allocated_ = 0;
};

class Stream;

struct Pipeline {
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    std::uint32_t bindings = 0;
};

class Context {
public:
    // Fails with a plain message when there is no Vulkan loader, no device, or no compute queue.
    static Result<std::unique_ptr<Context>> create(const ContextOptions& options = {});
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    const DeviceInfo& device() const { return info_; }
    // What the shaders use: the device's features, or none of them when the fallback is forced.
    const Features& features() const { return enabled_; }

    Result<Buffer> create_buffer(std::size_t bytes);
    // Device memory the buffers of this context hold now, as allocated (alignment included).
    std::uint64_t allocated_bytes() const { return allocated_.load(); }
    // Device memory this process may still allocate on the device: the driver's budget less what the
    // process uses (VK_EXT_memory_budget, which counts other programs' use too), or else the largest
    // device-local heap less allocated_bytes(); at most the memory limit less allocated_bytes().
    std::uint64_t free_device_memory() const;
    // Whether free_device_memory() comes from the driver's budget (and so counts other programs' use).
    bool reports_memory_budget() const { return memory_budget_; }
    // Copies through a host-visible staging buffer, in chunks, so `data` may be any host memory,
    // a memory-mapped weights file included. Both wait until the copy is done.
    Result<void> upload(const Buffer& buffer, std::size_t offset, const void* data, std::size_t bytes);
    Result<void> download(const Buffer& buffer, std::size_t offset, void* data, std::size_t bytes);

    Result<Stream> create_stream();

    // The compute pipeline of a shader variant, built on first use through the pipeline cache.
    Result<const Pipeline*> pipeline(std::string_view shader, std::uint32_t bindings);
    static constexpr std::uint32_t kPushConstantBytes = 128; // the least every device allows

    // The pipeline cache's file (empty: kept in memory only), and how many bytes of it this device took
    // at creation: 0 when there was none or it was made by another device, driver version or damaged.
    const std::string& pipeline_cache_file() const { return pipeline_cache_file_; }
    std::size_t pipeline_cache_loaded_bytes() const { return pipeline_cache_loaded_bytes_; }

    VkDevice vk_device() const { return device_; }
    VkQueue queue() const { return queue_; }
    std::uint32_t queue_family() const { return queue_family_; }

private:
    Context() = default;
    Result<void> init(const ContextOptions& options);
    Result<void> pick_device(const std::string& wanted);
    Result<void> create_device(bool force_fallback);
    Result<void> create_transfer_objects();
    Result<void> create_pipeline_cache(const std::string& folder);
    std::uint64_t device_free_memory() const; // free_device_memory() without the limit
    std::uint64_t largest_device_local_heap() const;
    Result<std::uint32_t> memory_type(std::uint32_t allowed, VkMemoryPropertyFlags required,
                                      VkMemoryPropertyFlags preferred) const;
    Result<void> copy(VkBuffer src, std::size_t src_offset, VkBuffer dst, std::size_t dst_offset,
                      std::size_t bytes);
    void save_pipeline_cache();

    VkInstance instance_ = VK_NULL_HANDLE;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    std::uint32_t queue_family_ = 0;
    VkPhysicalDeviceMemoryProperties memory_{};
    DeviceInfo info_;
    Features enabled_;

    VkCommandPool transfer_pool_ = VK_NULL_HANDLE;
    VkCommandBuffer transfer_commands_ = VK_NULL_HANDLE;
    VkFence transfer_fence_ = VK_NULL_HANDLE;
    VkBuffer staging_ = VK_NULL_HANDLE;
    VkDeviceMemory staging_memory_ = VK_NULL_HANDLE;
    void* staging_map_ = nullptr;
    std::size_t staging_bytes_ = 0;
    bool staging_coherent_ = true;

    bool memory_budget_ = false; // VK_EXT_memory_budget enabled
    std::uint64_t memory_limit_ = 0;
    std::atomic<std::uint64_t> allocated_{0};
    VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
    std::string pipeline_cache_file_;
    std::size_t pipeline_cache_loaded_bytes_ = 0;
    std::map<std::string, Pipeline, std::less<>> pipelines_;
};

} // namespace lectern::kernels::vulkan
