#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

#include <utility>

namespace lectern::kernels::cuda {

Result<void> device_available() {
    int count = 0;
    if (const cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess)
        return cuda_error("device query", err);
    if (count == 0) return Error{"no CUDA device"};
    return {};
}

Result<DeviceBuffer> DeviceBuffer::allocate(std::size_t bytes) {
    DeviceBuffer buffer;
    if (const cudaError_t err = cudaMalloc(&buffer.data_, bytes == 0 ? 1 : bytes); err != cudaSuccess)
        return Error{"cannot allocate " + std::to_string(bytes) +
                     " bytes of GPU memory: " + cudaGetErrorString(err)};
    buffer.size_ = bytes;
    return Result<DeviceBuffer>(
        std::move(buffer)); // C++17 has no implicit move into a converting constructor
}

DeviceBuffer::~DeviceBuffer() {
    if (data_) cudaFree(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
}

Result<void> DeviceBuffer::upload(const void* host, std::size_t bytes) {
    if (bytes > size_) return Error{"upload of " + std::to_string(bytes) + " bytes into a smaller buffer"};
    if (const cudaError_t err = cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice); err != cudaSuccess)
        return cuda_error("upload", err);
    return {};
}

Result<void> DeviceBuffer::download(void* host, std::size_t bytes) const {
    if (bytes > size_) return Error{"download of " + std::to_string(bytes) + " bytes from a smaller buffer"};
    if (const cudaError_t err = cudaMemcpy(host, data_, bytes, cudaMemcpyDeviceToHost); err != cudaSuccess)
        return cuda_error("download", err);
    return {};
}

} // namespace lectern::kernels::cuda
