#include "kernels/cuda/ops.h"

#include <cuda_runtime.h>

#include <new>
#include <utility>

namespace lectern::kernels::cuda {

bool device_available(std::string* why) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        if (why) *why = cudaGetErrorString(err);
        return false;
    }
    if (count == 0) {
        if (why) *why = "no CUDA device";
        return false;
    }
    return true;
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : size_(bytes) {
    if (cudaMalloc(&data_, bytes) != cudaSuccess) throw std::bad_alloc();
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

std::string DeviceBuffer::upload(const void* host, std::size_t bytes) {
    if (bytes > size_) return "upload larger than the buffer";
    const cudaError_t err = cudaMemcpy(data_, host, bytes, cudaMemcpyHostToDevice);
    return err == cudaSuccess ? std::string() : cudaGetErrorString(err);
}

std::string DeviceBuffer::download(void* host, std::size_t bytes) const {
    if (bytes > size_) return "download larger than the buffer";
    const cudaError_t err = cudaMemcpy(host, data_, bytes, cudaMemcpyDeviceToHost);
    return err == cudaSuccess ? std::string() : cudaGetErrorString(err);
}

} // namespace lectern::kernels::cuda
