#include "kernels/vulkan/context.h"

#include "kernels/vulkan/errors.h"
#include "kernels/vulkan/shaders.h"
#include "kernels/vulkan/stream.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unistd.h>
#include <utility>

namespace lectern::kernels::vulkan {
namespace {

constexpr std::size_t kStagingBytes = 32u << 20;

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

const char* device_type_name(VkPhysicalDeviceType type) {
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
        return "CPU (software)";
    default:
        return "other";
    }
}

int device_preference(VkPhysicalDeviceType type) {
    switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
        return 1;
    default:
        return 0;
    }
}

std::optional<std::uint32_t> compute_queue_family(VkPhysicalDevice device) {
    std::uint32_t count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
    // A compute-only family is often an async-compute queue that does not contend with the display.
    std::optional<std::uint32_t> any;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        if (!(families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return i;
        if (!any) any = i;
    }
    return any;
}

bool has_extension(VkPhysicalDevice device, const char* name) {
    std::uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> extensions(count);
    vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data());
    return std::any_of(extensions.begin(), extensions.end(), [&](const VkExtensionProperties& e) {
        return std::strcmp(e.extensionName, name) == 0;
    });
}

bool env_flag(const char* name) {
    const char* value = std::getenv(name);
    return value && *value && std::strcmp(value, "0") != 0;
}

} // namespace

Buffer::~Buffer() {
    release();
}

Buffer::Buffer(Buffer&& other) noexcept
    : device_(std::exchange(other.device_, VK_NULL_HANDLE)),
      buffer_(std::exchange(other.buffer_, VK_NULL_HANDLE)),
      memory_(std::exchange(other.memory_, VK_NULL_HANDLE)), size_(std::exchange(other.size_, 0)),
      held_(std::exchange(other.held_, nullptr)), allocated_(std::exchange(other.allocated_, 0)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
    if (this != &other) {
        release();
        device_ = std::exchange(other.device_, VK_NULL_HANDLE);
        buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
        memory_ = std::exchange(other.memory_, VK_NULL_HANDLE);
        size_ = std::exchange(other.size_, 0);
        held_ = std::exchange(other.held_, nullptr);
        allocated_ = std::exchange(other.allocated_, 0);
    }
    return *this;
}

void Buffer::release() {
    if (!device_) return;
    vkDestroyBuffer(device_, buffer_, nullptr);
    vkFreeMemory(device_, memory_, nullptr);
    if (held_) *held_ -= allocated_;
    held_ = nullptr;
    allocated_ = 0;
    device_ = VK_NULL_HANDLE;
    buffer_ = VK_NULL_HANDLE;
    memory_ = VK_NULL_HANDLE;
    size_ = 0;
}

Result<std::unique_ptr<Context>> Context::create(const ContextOptions& options) {
    std::unique_ptr<Context> context(new Context());
    if (Result<void> ok = context->init(options); !ok) return std::move(ok).take_error();
    return context;
}

Result<void> Context::init(const ContextOptions& options) {
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "Lectern";
    app.pEngineName = "Lectern";
    app.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo instance_info{};
    instance_info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    instance_info.pApplicationInfo = &app;
    const VkResult created = vkCreateInstance(&instance_info, nullptr, &instance_);
    if (created == VK_ERROR_INCOMPATIBLE_DRIVER)
        return Error{"Vulkan: no Vulkan driver is installed. Install your GPU's Vulkan driver, or "
                     "mesa-vulkan-drivers for the CPU driver (lavapipe)."};
    LECTERN_VK_TRY(created, "creating the instance");

    std::string wanted = options.device;
    if (wanted.empty())
        if (const char* env = std::getenv("LECTERN_VULKAN_DEVICE")) wanted = env;
    if (Result<void> ok = pick_device(wanted); !ok) return ok;
    if (Result<void> ok = create_device(options.force_fallback || env_flag("LECTERN_VULKAN_FALLBACK")); !ok)
        return ok;
    if (Result<void> ok = create_transfer_objects(); !ok) return ok;
    memory_limit_ = options.memory_limit;

    return create_pipeline_cache(options.pipeline_cache_dir);
}

Result<void> Context::create_pipeline_cache(const std::string& folder) {
    VkPhysicalDeviceProperties properties{};
    vkGetPhysicalDeviceProperties(physical_, &properties);
    std::vector<char> data;
    if (!folder.empty()) {
        char name[64];
        std::snprintf(name, sizeof name, "pipelines-%04x-%04x.bin", properties.vendorID, properties.deviceID);
        std::error_code ignored; // without the folder the cache is only kept in memory
        std::filesystem::create_directories(folder, ignored);
        pipeline_cache_file_ = (std::filesystem::path(folder) / name).string();
        std::ifstream in(pipeline_cache_file_, std::ios::binary | std::ios::ate);
        const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : 0;
        if (size > 0) {
            data.resize(static_cast<std::size_t>(size));
            in.seekg(0);
            if (!in.read(data.data(), size)) data.clear();
        }
    }
    // Only a cache this very device and driver wrote is handed over: the spec lets drivers ignore others,
    // but a damaged file is safer never passed at all.
    VkPipelineCacheHeaderVersionOne header{};
    if (data.size() >= sizeof header) std::memcpy(&header, data.data(), sizeof header);
    const bool ours = data.size() >= sizeof header && header.headerSize >= sizeof header &&
                      header.headerSize <= data.size() &&
                      header.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
                      header.vendorID == properties.vendorID && header.deviceID == properties.deviceID &&
                      std::memcmp(header.pipelineCacheUUID, properties.pipelineCacheUUID, VK_UUID_SIZE) == 0;
    if (!ours) data.clear();
    VkPipelineCacheCreateInfo cache_info{};
    cache_info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
    cache_info.initialDataSize = data.size();
    cache_info.pInitialData = data.data();
    if (vkCreatePipelineCache(device_, &cache_info, nullptr, &pipeline_cache_) == VK_SUCCESS) {
        pipeline_cache_loaded_bytes_ = data.size();
        return {};
    }
    cache_info.initialDataSize = 0;
    cache_info.pInitialData = nullptr;
    LECTERN_VK_TRY(vkCreatePipelineCache(device_, &cache_info, nullptr, &pipeline_cache_),
                   "creating the pipeline cache");
    return {};
}

Result<void> Context::pick_device(const std::string& wanted) {
    std::uint32_t count = 0;
    LECTERN_VK_TRY(vkEnumeratePhysicalDevices(instance_, &count, nullptr), "listing devices");
    std::vector<VkPhysicalDevice> devices(count);
    LECTERN_VK_TRY(vkEnumeratePhysicalDevices(instance_, &count, devices.data()), "listing devices");
    if (devices.empty())
        return Error{"Vulkan: no device found. Install your GPU's Vulkan driver, or mesa-vulkan-drivers for "
                     "the CPU driver (lavapipe)."};

    std::string names;
    int best_score = -1;
    for (std::uint32_t i = 0; i < count; ++i) {
        VkPhysicalDeviceProperties props;
        vkGetPhysicalDeviceProperties(devices[i], &props);
        names += (names.empty() ? "" : ", ") + std::to_string(i) + ": " + props.deviceName;
        const bool usable = props.apiVersion >= VK_API_VERSION_1_1 && compute_queue_family(devices[i]);
        if (!usable) continue;
        const bool matches = wanted.empty() || wanted == std::to_string(i) ||
                             lowercase(props.deviceName).find(lowercase(wanted)) != std::string::npos;
        if (!matches) continue;
        const int score = device_preference(props.deviceType);
        if (score > best_score) {
            best_score = score;
            physical_ = devices[i];
        }
    }
    if (!physical_) {
        if (!wanted.empty())
            return Error{"Vulkan: no usable device matches \"" + wanted + "\" (devices: " + names +
                         "). Set LECTERN_VULKAN_DEVICE to a device's index or part of its name."};
        return Error{"Vulkan: no device supports Vulkan 1.1 with a compute queue (devices: " + names + ")."};
    }
    queue_family_ = *compute_queue_family(physical_);
    return {};
}

Result<void> Context::create_device(bool force_fallback) {
    VkPhysicalDeviceSubgroupProperties subgroup{};
    subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceMaintenance3Properties maintenance3{};
    maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
    maintenance3.pNext = &subgroup;
    VkPhysicalDeviceProperties2 props{};
    props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    props.pNext = &maintenance3;
    vkGetPhysicalDeviceProperties2(physical_, &props);
    const VkPhysicalDeviceProperties& p = props.properties;

    info_.name = p.deviceName;
    info_.type = device_type_name(p.deviceType);
    info_.api_version = p.apiVersion;
    info_.max_allocation_bytes = maintenance3.maxMemoryAllocationSize;
    info_.max_storage_buffer_range = p.limits.maxStorageBufferRange;
    info_.min_storage_buffer_offset_alignment =
        static_cast<std::uint32_t>(p.limits.minStorageBufferOffsetAlignment);
    vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
    for (std::uint32_t i = 0; i < memory_.memoryHeapCount; ++i)
        info_.heaps.push_back({memory_.memoryHeaps[i].size,
                               (memory_.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});

    std::uint32_t family_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical_, &family_count, nullptr);
    std::vector<VkQueueFamilyProperties> families(family_count);
    vkGetPhysicalDeviceQueueFamilyProperties(physical_, &family_count, families.data());
    if (families[queue_family_].timestampValidBits > 0) info_.timestamp_period_ns = p.limits.timestampPeriod;

    // 8-bit storage and float16 arithmetic are core in 1.2; on a 1.1 device they need their extensions.
    const bool core12 = p.apiVersion >= VK_API_VERSION_1_2;
    std::vector<const char*> extensions;
    const bool has_8bit = core12 || has_extension(physical_, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
    const bool has_f16 = core12 || has_extension(physical_, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    if (!core12 && has_8bit) extensions.push_back(VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
    if (!core12 && has_f16) extensions.push_back(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    if (!core12 && has_8bit && !has_extension(physical_, VK_KHR_STORAGE_BUFFER_STORAGE_CLASS_EXTENSION_NAME))
        return Error{"Vulkan: device reports 8-bit storage without its required storage-buffer extension."};
    if (!core12 && has_8bit) extensions.push_back(VK_KHR_STORAGE_BUFFER_STORAGE_CLASS_EXTENSION_NAME);
    memory_budget_ = has_extension(physical_, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    if (memory_budget_) extensions.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);

    VkPhysicalDevice16BitStorageFeatures storage16{};
    storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    VkPhysicalDevice8BitStorageFeatures storage8{};
    storage8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
    VkPhysicalDeviceShaderFloat16Int8Features float16{};
    float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
    VkPhysicalDeviceFeatures2 features{};
    features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    void** chain = &features.pNext;
    *chain = &storage16;
    chain = &storage16.pNext;
    if (has_8bit) {
        *chain = &storage8;
        chain = &storage8.pNext;
    }
    if (has_f16) *chain = &float16;
    vkGetPhysicalDeviceFeatures2(physical_, &features);

    Features& s = info_.supported;
    s.subgroup_size = subgroup.subgroupSize;
    s.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                            (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                            (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
    s.storage_16bit = storage16.storageBuffer16BitAccess;
    s.storage_8bit = has_8bit && storage8.storageBuffer8BitAccess;
    s.shader_float16 = has_f16 && float16.shaderFloat16;
    s.output_per_invocation = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    enabled_ = force_fallback ? Features{} : s;
    enabled_.subgroup_size = s.subgroup_size;

    // Enable exactly what the chosen shader variants need, nothing the fallback would not use.
    VkPhysicalDevice16BitStorageFeatures want16{};
    want16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    want16.storageBuffer16BitAccess = enabled_.storage_16bit;
    VkPhysicalDevice8BitStorageFeatures want8{};
    want8.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
    want8.storageBuffer8BitAccess = enabled_.storage_8bit;
    VkPhysicalDeviceShaderFloat16Int8Features want_f16{};
    want_f16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
    want_f16.shaderFloat16 = enabled_.shader_float16;
    VkPhysicalDeviceFeatures2 want{};
    want.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    chain = &want.pNext;
    *chain = &want16;
    chain = &want16.pNext;
    if (has_8bit) {
        *chain = &want8;
        chain = &want8.pNext;
    }
    if (has_f16) *chain = &want_f16;

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = queue_family_;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo device_info{};
    device_info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    device_info.pNext = &want;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    device_info.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
    device_info.ppEnabledExtensionNames = extensions.data();
    LECTERN_VK_TRY(vkCreateDevice(physical_, &device_info, nullptr, &device_), "creating the device");
    vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

    VkPhysicalDeviceDriverProperties driver{};
    if (core12) {
        driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
        VkPhysicalDeviceProperties2 driver_props{};
        driver_props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
        driver_props.pNext = &driver;
        vkGetPhysicalDeviceProperties2(physical_, &driver_props);
        info_.driver = std::string(driver.driverName) + " " + driver.driverInfo;
    }
    return {};
}

Result<std::uint32_t> Context::memory_type(std::uint32_t allowed, VkMemoryPropertyFlags required,
                                           VkMemoryPropertyFlags preferred) const {
    for (const VkMemoryPropertyFlags wanted : {required | preferred, required})
        for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
            if ((allowed & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & wanted) == wanted) return i;
    return Error{"Vulkan: the device has no suitable memory type for a buffer"};
}

Result<void> Context::create_transfer_objects() {
    VkCommandPoolCreateInfo pool_info{};
    pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool_info.queueFamilyIndex = queue_family_;
    LECTERN_VK_TRY(vkCreateCommandPool(device_, &pool_info, nullptr, &transfer_pool_),
                   "creating a command pool");
    VkCommandBufferAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    alloc.commandPool = transfer_pool_;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    LECTERN_VK_TRY(vkAllocateCommandBuffers(device_, &alloc, &transfer_commands_),
                   "allocating a command buffer");
    VkFenceCreateInfo fence_info{};
    fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    LECTERN_VK_TRY(vkCreateFence(device_, &fence_info, nullptr, &transfer_fence_), "creating a fence");

    VkBufferCreateInfo buffer_info{};
    buffer_info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    buffer_info.size = kStagingBytes;
    buffer_info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    buffer_info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    LECTERN_VK_TRY(vkCreateBuffer(device_, &buffer_info, nullptr, &staging_), "creating the staging buffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device_, staging_, &req);
    // Cached memory makes downloads fast; coherent saves the flushes. Take both where offered.
    const Result<std::uint32_t> type =
        memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                    VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!type) return Error{type.error()};
    staging_coherent_ = memory_.memoryTypes[*type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    VkMemoryAllocateInfo mem_info{};
    mem_info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    mem_info.allocationSize = req.size;
    mem_info.memoryTypeIndex = *type;
    LECTERN_VK_TRY(vkAllocateMemory(device_, &mem_info, nullptr, &staging_memory_),
                   "allocating staging memory");
    LECTERN_VK_TRY(vkBindBufferMemory(device_, staging_, staging_memory_, 0), "binding staging memory");
    LECTERN_VK_TRY(vkMapMemory(device_, staging_memory_, 0, VK_WHOLE_SIZE, 0, &staging_map_),
                   "mapping staging memory");
    staging_bytes_ = kStagingBytes;
    return {};
}

Context::~Context() {
    if (device_) {
        vkDeviceWaitIdle(device_);
        save_pipeline_cache();
        for (auto& [name, p] : pipelines_) {
            vkDestroyPipeline(device_, p.pipeline, nullptr);
            vkDestroyPipelineLayout(device_, p.layout, nullptr);
            vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
        }
        vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
        vkDestroyBuffer(device_, staging_, nullptr);
        vkFreeMemory(device_, staging_memory_, nullptr);
        vkDestroyFence(device_, transfer_fence_, nullptr);
        vkDestroyCommandPool(device_, transfer_pool_, nullptr);
        vkDestroyDevice(device_, nullptr);
    }
    if (instance_) vkDestroyInstance(instance_, nullptr);
}

void Context::save_pipeline_cache() {
    if (pipeline_cache_file_.empty() || !pipeline_cache_) return;
    std::size_t bytes = 0;
    if (vkGetPipelineCacheData(device_, pipeline_cache_, &bytes, nullptr) != VK_SUCCESS || bytes == 0) return;
    std::vector<char> data(bytes);
    if (vkGetPipelineCacheData(device_, pipeline_cache_, &bytes, data.data()) != VK_SUCCESS) return;
    // A cache is only a speed-up: failing to write it (read-only folder, full disk) is not an error, and
    // writing beside it and renaming keeps a half-written file from ever being read.
    const std::string partial = pipeline_cache_file_ + "." + std::to_string(getpid()) + ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out.write(data.data(), static_cast<std::streamsize>(bytes))) return;
    }
    std::rename(partial.c_str(), pipeline_cache_file_.c_str());
}

Result<Buffer> Context::create_buffer(std::size_t bytes) {
    if (bytes == 0) return Error{"Vulkan: cannot create an empty buffer"};
    const std::uint64_t largest_heap = largest_device_local_heap();
    const auto not_enough = [&] {
        return Error{"Vulkan: not enough memory on " + info_.name + " for a buffer of " +
                     std::to_string(bytes >> 20) + " MiB (its largest memory heap holds " +
                     std::to_string(largest_heap >> 20) + " MiB in all). Place fewer layers on the GPU."};
    };
    if (bytes > largest_heap) return not_enough();
    if (bytes > info_.max_allocation_bytes)
        return Error{"Vulkan: " + info_.name + " allocates at most " +
                     std::to_string(info_.max_allocation_bytes >> 20) + " MiB in one buffer; " +
                     std::to_string(bytes >> 20) +
                     " MiB were asked for. Split the tensors "
                     "over several buffers."};
    Buffer buffer;
    buffer.device_ = device_;
    buffer.size_ = bytes;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    // Shaders read byte and 16-bit tensors as whole 32-bit words, so the last word must exist.
    info.size = (bytes + 15) / 16 * 16;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    const VkResult created = vkCreateBuffer(device_, &info, nullptr, &buffer.buffer_);
    if (created == VK_ERROR_OUT_OF_DEVICE_MEMORY || created == VK_ERROR_OUT_OF_HOST_MEMORY)
        return not_enough();
    LECTERN_VK_TRY(created, "creating a buffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device_, buffer.buffer_, &req);
    const Result<std::uint32_t> type =
        memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    if (!type) return Error{type.error()};
    if (memory_limit_ > 0 && allocated_bytes() + req.size > memory_limit_)
        return Error{"Vulkan: a buffer of " + std::to_string((req.size + (1u << 20) - 1) >> 20) + " MiB on " +
                     info_.name + " would pass the limit of " + std::to_string(memory_limit_ >> 20) +
                     " MiB set for it (" + std::to_string(allocated_bytes() >> 20) + " MiB are in use)"};
    VkMemoryAllocateInfo mem_info{};
    mem_info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    mem_info.allocationSize = req.size;
    mem_info.memoryTypeIndex = *type;
    const VkResult allocated = vkAllocateMemory(device_, &mem_info, nullptr, &buffer.memory_);
    if (allocated == VK_ERROR_OUT_OF_DEVICE_MEMORY || allocated == VK_ERROR_OUT_OF_HOST_MEMORY)
        return not_enough();
    LECTERN_VK_TRY(allocated, "allocating buffer memory");
    buffer.held_ = &allocated_;
    buffer.allocated_ = req.size;
    allocated_ += req.size;
    LECTERN_VK_TRY(vkBindBufferMemory(device_, buffer.buffer_, buffer.memory_, 0), "binding buffer memory");
    return buffer;
}

std::uint64_t Context::free_device_memory() const {
    const std::uint64_t device = device_free_memory();
    if (memory_limit_ == 0) return device;
    return std::min(device, memory_limit_ > allocated_bytes() ? memory_limit_ - allocated_bytes() : 0);
}

std::uint64_t Context::device_free_memory() const {
    std::uint64_t largest = 0, free = 0;
    if (memory_budget_) {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
        budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
        VkPhysicalDeviceMemoryProperties2 properties{};
        properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
        properties.pNext = &budget;
        vkGetPhysicalDeviceMemoryProperties2(physical_, &properties);
        for (std::uint32_t i = 0; i < properties.memoryProperties.memoryHeapCount; ++i) {
            const VkMemoryHeap& heap = properties.memoryProperties.memoryHeaps[i];
            if (!(heap.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) || heap.size <= largest) continue;
            largest = heap.size;
            free =
                budget.heapBudget[i] > budget.heapUsage[i] ? budget.heapBudget[i] - budget.heapUsage[i] : 0;
        }
        if (largest > 0) return free;
    }
    largest = largest_device_local_heap();
    return largest > allocated_bytes() ? largest - allocated_bytes() : 0;
}

std::uint64_t Context::largest_device_local_heap() const {
    std::uint64_t largest = 0;
    for (const MemoryHeap& heap : info_.heaps)
        if (heap.device_local) largest = std::max(largest, heap.bytes);
    return largest;
}

Result<void> Context::copy(VkBuffer src, std::size_t src_offset, VkBuffer dst, std::size_t dst_offset,
                           std::size_t bytes) {
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    LECTERN_VK_TRY(vkBeginCommandBuffer(transfer_commands_, &begin), "recording a copy");
    const VkBufferCopy region{src_offset, dst_offset, bytes};
    vkCmdCopyBuffer(transfer_commands_, src, dst, 1, &region);
    // Make the copy visible to later shader reads and host reads alike.
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(transfer_commands_, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0,
                         nullptr, 0, nullptr);
    LECTERN_VK_TRY(vkEndCommandBuffer(transfer_commands_), "recording a copy");
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &transfer_commands_;
    LECTERN_VK_TRY(vkQueueSubmit(queue_, 1, &submit, transfer_fence_), "submitting a copy");
    LECTERN_VK_TRY(vkWaitForFences(device_, 1, &transfer_fence_, VK_TRUE, UINT64_MAX), "waiting for a copy");
    LECTERN_VK_TRY(vkResetFences(device_, 1, &transfer_fence_), "resetting a fence");
    return {};
}

Result<void> Context::upload(const Buffer& buffer, std::size_t offset, const void* data, std::size_t bytes) {
    if (offset > buffer.size() || bytes > buffer.size() - offset)
        return Error{"Vulkan: upload of " + std::to_string(bytes) + " bytes at offset " +
                     std::to_string(offset) + " does not fit a buffer of " + std::to_string(buffer.size()) +
                     " bytes"};
    const auto* src = static_cast<const unsigned char*>(data);
    for (std::size_t done = 0; done < bytes;) {
        const std::size_t chunk = std::min(staging_bytes_, bytes - done);
        std::memcpy(staging_map_, src + done, chunk);
        if (!staging_coherent_) {
            const VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, staging_memory_,
                                            0, VK_WHOLE_SIZE};
            LECTERN_VK_TRY(vkFlushMappedMemoryRanges(device_, 1, &range), "flushing staging memory");
        }
        if (Result<void> ok = copy(staging_, 0, buffer.buffer_, offset + done, chunk); !ok) return ok;
        done += chunk;
    }
    return {};
}

Result<void> Context::download(const Buffer& buffer, std::size_t offset, void* data, std::size_t bytes) {
    if (offset > buffer.size() || bytes > buffer.size() - offset)
        return Error{"Vulkan: download of " + std::to_string(bytes) + " bytes at offset " +
                     std::to_string(offset) + " does not fit a buffer of " + std::to_string(buffer.size()) +
                     " bytes"};
    auto* dst = static_cast<unsigned char*>(data);
    for (std::size_t done = 0; done < bytes;) {
        const std::size_t chunk = std::min(staging_bytes_, bytes - done);
        if (Result<void> ok = copy(buffer.buffer_, offset + done, staging_, 0, chunk); !ok) return ok;
        if (!staging_coherent_) {
            const VkMappedMemoryRange range{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, nullptr, staging_memory_,
                                            0, VK_WHOLE_SIZE};
            LECTERN_VK_TRY(vkInvalidateMappedMemoryRanges(device_, 1, &range), "reading staging memory");
        }
        std::memcpy(dst + done, staging_map_, chunk);
        done += chunk;
    }
    return {};
}

Result<Stream> Context::create_stream() {
    Stream stream(*this);
    if (Result<void> ok = stream.init(); !ok) return std::move(ok).take_error();
    return stream;
}

Result<const Pipeline*> Context::pipeline(std::string_view shader, std::uint32_t bindings) {
    if (const auto found = pipelines_.find(shader); found != pipelines_.end()) {
        if (found->second.bindings != bindings)
            return Error{"Vulkan: shader " + std::string(shader) + " takes " +
                         std::to_string(found->second.bindings) + " buffers, not " +
                         std::to_string(bindings)};
        return &found->second;
    }
    const ShaderCode* code = find_shader(shader);
    if (!code) return Error{"Vulkan: no shader named " + std::string(shader) + " is built in"};

    Pipeline p;
    p.bindings = bindings;
    std::vector<VkDescriptorSetLayoutBinding> layout_bindings(bindings);
    for (std::uint32_t i = 0; i < bindings; ++i)
        layout_bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo set_info{};
    set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    set_info.bindingCount = bindings;
    set_info.pBindings = layout_bindings.data();
    LECTERN_VK_TRY(vkCreateDescriptorSetLayout(device_, &set_info, nullptr, &p.set_layout),
                   "creating a descriptor set layout");
    const VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantBytes};
    VkPipelineLayoutCreateInfo layout_info{};
    layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &p.set_layout;
    layout_info.pushConstantRangeCount = 1;
    layout_info.pPushConstantRanges = &push;
    if (const VkResult r = vkCreatePipelineLayout(device_, &layout_info, nullptr, &p.layout);
        r != VK_SUCCESS) {
        vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
        return vk_error("creating a pipeline layout", r);
    }

    VkShaderModuleCreateInfo module_info{};
    module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    module_info.codeSize = code->bytes;
    module_info.pCode = code->words;
    VkShaderModule module = VK_NULL_HANDLE;
    VkResult r = vkCreateShaderModule(device_, &module_info, nullptr, &module);
    if (r == VK_SUCCESS) {
        VkComputePipelineCreateInfo pipeline_info{};
        pipeline_info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
        pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        pipeline_info.stage.module = module;
        pipeline_info.stage.pName = "main";
        pipeline_info.layout = p.layout;
        r = vkCreateComputePipelines(device_, pipeline_cache_, 1, &pipeline_info, nullptr, &p.pipeline);
        vkDestroyShaderModule(device_, module, nullptr);
    }
    if (r != VK_SUCCESS) {
        vkDestroyPipelineLayout(device_, p.layout, nullptr);
        vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
        return vk_error("building the pipeline of shader " + std::string(shader), r);
    }
    return &pipelines_.emplace(std::string(shader), p).first->second;
}

} // namespace lectern::kernels::vulkan
