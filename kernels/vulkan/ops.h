#pragma once
// The Vulkan backend's op set: the same ops and meaning as kernels/cpu/ops.h, on device buffers. Each op
// records its dispatches into a Stream; nothing runs until Stream::submit(). Each picks the shader variant
// that the Context's features allow (subgroup arithmetic, 16-bit and 8-bit storage) or the portable one.

#include "kernels/result.h"
#include "kernels/vulkan/stream.h"

#include <cstdint>
#include <optional>

namespace lectern::kernels::vulkan {

// y[i] = x[i] / sqrt(mean(x^2) + eps) * (weight ? weight[i] : 1), for each of `rows` rows of `n` floats.
Result<void> rms_norm(Stream& stream, BufferSpan x, std::optional<BufferSpan> weight, BufferSpan y,
                      std::int64_t rows, std::int64_t n, float eps);

} // namespace lectern::kernels::vulkan
