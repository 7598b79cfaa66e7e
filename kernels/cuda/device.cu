#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

#include <atomic>
#include <string>
#include <utility>

namespace lectern::kernels::cuda {

Result<void> device_available() {
    int count = 0;
    if (const cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess)
        return cuda_error("device query", err);
    if (count == 0) return Error{"no CUDA device"};
    return {};
}

Result<std::string> device_name() {
    if (auto available = device_available(); !available) return std::move(available).take_error();
    cudaDeviceProp properties{};
    if (const cudaError_t err = cudaGetDeviceProperties(&properties, 0); err != cudaSuccess)
        return cuda_error("device query", err).take_error();
    return std::string(properties.name);
}

namespace {

std::atomic<std::uint64_t> live_bytes{0};

} // namespace

std::uint64_t free_device_memory() {
    std::size_t free = 0, total = 0;
    return cudaMemGetInfo(&free, &total) == cudaSuccess ? free : 0;
}

std::uint64_t allocated_bytes() {
    return live_bytes.load();
}

Result<DeviceBuffer> DeviceBuffer::allocate(std::size_t bytes) {
    DeviceBuffer buffer;
    if (const cudaError_t err = cudaMalloc(&buffer.data_, bytes == 0 ? 1 : bytes); err != cudaSuccess)
        return Error{"cannot allocate " + std::to_string(bytes) +
                     " bytes of GPU memory: " + cudaGetErrorString(err)};
    buffer.size_ = bytes;
    live_bytes += bytes;
    return Result<DeviceBuffer>(
        std::move(buffer)); // C++17 has no implicit move into a converting constructor
}

DeviceBuffer::~DeviceBuffer() {
    if (!data_) return;
    cudaFree(data_);
    live_bytes -= size_;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
}

Result<void> DeviceBuffer::upload(const void* host, std::size_t bytes, std::size_t offset) {
    if (offset > size_ || bytes > size_ - offset)
        return Error{"upload of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                     " into a buffer of " + std::to_string(size_)};
    if (const cudaError_t err =
            cudaMemcpy(static_cast<char*>(data_) + offset, host, bytes, cudaMemcpyHostToDevice);
        err != cudaSuccess)
        return cuda_error("upload", err);
    return {};
}

Result<void> DeviceBuffer::download(void* host, std::size_t bytes, std::size_t offset) const {
    if (offset > size_ || bytes > size_ - offset)
        return Error{"download of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                     " from a buffer of " + std::to_string(size_)};
    if (const cudaError_t err =
            cudaMemcpy(host, static_cast<const char*>(data_) + offset, bytes, cudaMemcpyDeviceToHost);
        err != cudaSuccess)
        return cuda_error("download", err);
    return {};
}

} // namespace lectern::kernels::cuda
