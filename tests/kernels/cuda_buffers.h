#pragma once
// Host <-> device copies for the CUDA parity tests; a failed copy is a check failure.

#include "kernels/cuda/ops.h"
#include "tests/kernels/check.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

namespace lectern::test {

template <typename T>
kernels::cuda::DeviceBuffer to_device(const std::vector<T>& host) {
    auto buffer = kernels::cuda::DeviceBuffer::allocate(host.size() * sizeof(T));
    CHECK(buffer.ok());
    CHECK(buffer->upload(host.data(), host.size() * sizeof(T)).ok());
    return std::move(*buffer);
}

// `count` values of T, every byte 0xFF: NaN as floats, 0xFFFFFFFF as indices, so an element a kernel
// never wrote fails its check.
template <typename T = float>
kernels::cuda::DeviceBuffer poisoned(std::size_t count) {
    std::vector<T> host(count);
    std::memset(host.data(), 0xFF, count * sizeof(T));
    return to_device(host);
}

template <typename T = float>
std::vector<T> from_device(const kernels::cuda::DeviceBuffer& buffer, std::size_t count) {
    std::vector<T> host(count);
    CHECK(buffer.download(host.data(), count * sizeof(T)).ok());
    return host;
}

} // namespace lectern::test
