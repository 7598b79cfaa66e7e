#pragma once
// A recording of dispatches on one command buffer. Ops append to it; submit() runs it and waits. The
// recording survives submit(), so a fixed sequence (a decode step) is recorded once and submitted again
// after new inputs are uploaded; reset() starts a new recording.

#include "kernels/result.h"
#include "kernels/vulkan/context.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace lectern::kernels::vulkan {

class Stream {
public:
    Stream(Stream&& other) noexcept;
    Stream& operator=(Stream&& other) = delete;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream();

    // Appends one dispatch of `groups` workgroups of `shader`; bindings[i] is storage buffer binding i,
    // `push` (at most Context::kPushConstantBytes) the push constants. A barrier follows every dispatch, so
    // the next one sees its writes.
    Result<void> dispatch(std::string_view shader, std::initializer_list<BufferSpan> bindings,
                          const void* push, std::size_t push_bytes, std::array<std::uint32_t, 3> groups);

    // Records a GPU timestamp after the work recorded so far; returns its index for elapsed_ms().
    Result<std::uint32_t> timestamp();

    Result<void> submit();
    void reset();

    // Milliseconds between two timestamps, as measured by the last submit().
    Result<double> elapsed_ms(std::uint32_t from, std::uint32_t to) const;

    Context& context() const { return *context_; }

    // A device buffer of at least `bytes` for intermediate results between two dispatches of one op (the
    // barrier after each dispatch orders its reuse). A larger need makes a buffer of at least 1.5 times
    // the last; buffers outgrown stay alive until reset(), as the recording may still use them.
    Result<BufferSpan> scratch(std::size_t bytes);

private:
    friend class Context;
    explicit Stream(Context& context) : context_(&context) {}
    Result<void> init();
    Result<void> begin_if_needed();

    static constexpr std::uint32_t kMaxTimestamps = 256;
    static constexpr std::uint32_t kMaxDispatches = 4096;

    Context* context_ = nullptr;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer commands_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    VkDescriptorPool descriptors_ = VK_NULL_HANDLE;
    VkQueryPool queries_ = VK_NULL_HANDLE;
    std::uint32_t timestamps_ = 0;
    std::uint32_t dispatches_ = 0;
    bool recording_ = false;      // vkBeginCommandBuffer done, not yet ended
    bool recorded_ = false;       // ended: submit() may run it (again)
    std::vector<Buffer> scratch_; // the last is the largest
};

} // namespace lectern::kernels::vulkan
