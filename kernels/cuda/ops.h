#pragma once
// The CUDA backend's op set: the same ops and semantics as kernels/cpu/ops.h, on device memory.
// Host-facing functions return an error message instead of throwing; an empty string means success.

#include <cstdint>
#include <string>

namespace lectern::kernels::cuda {

// Whether a usable CUDA device is present; when not, `why` says what is missing.
bool device_available(std::string* why);

// rms_norm on device pointers, on the default stream.
std::string rms_norm(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n,
                     float eps);

// Device memory for tests and the engine: RAII, move-only.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& other) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* data() const { return data_; }
    std::size_t size() const { return size_; }
    std::string upload(const void* host, std::size_t bytes);
    std::string download(void* host, std::size_t bytes) const;

private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace lectern::kernels::cuda
