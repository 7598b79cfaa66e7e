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

// Whole MiB, or KiB below one MiB.
std::string size_text(std::uint64_t bytes) {
    if (bytes < (1u << 20)) return std::to_string((bytes + (1u << 9)) >> 10) + " KiB";
    return std::to_string((bytes + (1u << 19)) >> 20) + " MiB";
}

} // namespace

Result<void> synchronize(const char* what) {
    if (const cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess) return cuda_error(what, err);
    return {};
}

std::uint64_t free_device_memory() {
    std::size_t free = 0, total = 0;
    return cudaMemGetInfo(&free, &total) == cudaSuccess ? free : 0;
}

Result<DeviceBuffer> DeviceBuffer::allocate(std::size_t bytes, std::shared_ptr<MemoryAccount> account) {
    if (account && account->limit_ != 0) {
        std::uint64_t used = account->used_.load();
        do {
            if (used + bytes > account->limit_)
                return Error{"a buffer of " + size_text(bytes) +
                             " on the CUDA device would pass the limit of " + size_text(account->limit_) +
                             " set for it (" + size_text(used) + " are in use)"};
        } while (!account->used_.compare_exchange_weak(used, used + bytes));
    } else if (account) {
        account->used_ += bytes;
    }
    DeviceBuffer buffer;
    buffer.account_ = std::move(account); // from here on the destructor gives the bytes back
    buffer.size_ = bytes;
    if (const cudaError_t err = cudaMalloc(&buffer.data_, bytes == 0 ? 1 : bytes); err != cudaSuccess)
        return Error{"cannot allocate " + std::to_string(bytes) +
                     " bytes of GPU memory: " + cudaGetErrorString(err)};
    return Result<DeviceBuffer>(
        std::move(buffer)); // C++17 has no implicit move into a converting constructor
}

DeviceBuffer::~DeviceBuffer() {
    if (account_) account_->used_ -= size_;
    if (!data_) return;
    cudaFree(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      account_(std::move(other.account_)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(account_, other.account_);
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
