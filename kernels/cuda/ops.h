#pragma once
// The CUDA backend's op set: the same ops and meaning as kernels/cpu/ops.h, on device pointers, on the
// default stream, in the order called. Each call checks its launch and returns without waiting for the
// kernel, so a step's kernels queue back to back; a copy to or from the host (DeviceBuffer) waits for what
// was launched before it, and a fault in a kernel shows there or at synchronize(). With
// CUDA_LAUNCH_BLOCKING=1 every launch waits, and the error names the op that faulted.

#include "kernels/cpu/ops.h"
#include "kernels/dtype.h"
#include "kernels/result.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lectern::kernels::cuda {

// Whether a usable CUDA device is present; the error says what is missing.
Result<void> device_available();
// Device 0's name, or why there is no usable device.
Result<std::string> device_name();

// Waits for every op launched so far; a fault while one ran comes back as `what`'s.
Result<void> synchronize(const char* what);

// Device 0's free memory now (cudaMemGetInfo: what other programs hold is taken already), or 0 when it
// cannot be asked.
std::uint64_t free_device_memory();

// The device memory one group of buffers (one model's) may hold: an allocation that would pass the limit
// fails, as under a Vulkan context's memory_limit. Buffers made with an account give their bytes back to
// it when freed.
class MemoryAccount {
public:
    explicit MemoryAccount(std::uint64_t limit = 0) : limit_(limit) {} // 0: no limit
    std::uint64_t used() const { return used_.load(); }

private:
    friend class DeviceBuffer;
    std::uint64_t limit_;
    std::atomic<std::uint64_t> used_{0};
};

// Device memory: RAII, move-only.
class DeviceBuffer {
public:
    // `account` (optional) counts the bytes and may refuse them.
    static Result<DeviceBuffer> allocate(std::size_t bytes, std::shared_ptr<MemoryAccount> account = {});

    DeviceBuffer() = default;
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& other) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* data() const { return data_; }
    template <typename T>
    T* as() const {
        return static_cast<T*>(data_);
    }
    std::size_t size() const { return size_; }
    // Copies `bytes` from host memory to the buffer at `offset`, or from there back.
    Result<void> upload(const void* host, std::size_t bytes, std::size_t offset = 0);
    Result<void> download(void* host, std::size_t bytes, std::size_t offset = 0) const;

private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
    std::shared_ptr<MemoryAccount> account_;
};

// y[i] = x[i] / sqrt(mean(x^2) + eps) * (weight ? weight[i] : 1), for each of `rows` rows of `n` values.
Result<void> rms_norm(const float* x, const float* weight, float* y, std::int64_t rows, std::int64_t n,
                      float eps);

// A weight [out_features, in_features] in device memory, laid out as cpu::WeightMatrix.
struct DeviceWeight {
    cpu::WeightFormat format = cpu::WeightFormat::F32;
    const void* data = nullptr;
    const std::uint8_t* scales = nullptr; // e8m0, for the block-scaled formats
    std::int64_t out_features = 0;
    std::int64_t in_features = 0;
    DType gguf_type = DType::F32; // GGUF_BLOCK only
};

// y[r, o] = sum_i x[r, i] * W[o, i]; dequantises on the fly, accumulates in fp32. A GGUF_BLOCK weight runs
// through linear_gguf.
Result<void> linear(const float* x, std::int64_t rows, const DeviceWeight& weight, float* y);

// linear for a weight in a GGUF tensor type, [out_features, in_features] with each row a whole number of
// blocks, byte for byte as the file stores it, computed as quant::matmul computes it. Q4_0, Q4_1 and Q8_0
// weights meet activations quantized to 8-bit blocks of 32 (Q8_0 blocks, Q8_1 with the block's scaled sum
// for Q4_1), bit for bit as the CPU quantizes them, in integer block products: the CPU's per-block values,
// summed in fp32 in another order. Every other type is decoded exactly as quant::dequantize_row does and
// summed in fp32 with the activations, within quant::matmul's float-path bound of the exact product.
Result<void> linear_gguf(const float* x, std::int64_t rows, DType type, const void* weight,
                         std::int64_t out_features, std::int64_t in_features, float* y);
// Whether linear_gguf has a kernel for `type` (every quant::is_weight_type type).
bool linear_gguf_supports(DType type);

// rope_interleaved on x [rows, heads, head_dim]: dims [rope_offset, rope_offset + 2*pairs) of every head
// of row r rotate by row r of `cos_sin` ([rows, pairs] (cos, sin) pairs from cpu::rope_cos_sin, or the
// dense graph's quant::rope_angles); `inverse` rotates by the negative angle. Bit for bit as the CPU.
Result<void> rope_interleaved(float* x, const float* cos_sin, std::int64_t rows, std::int64_t heads,
                              std::int64_t head_dim, std::int64_t rope_offset, std::int64_t pairs,
                              bool inverse);

// hadamard on each of `rows` rows of n values (n a power of two, at most 8192), in place.
Result<void> hadamard(float* x, std::int64_t rows, std::int64_t n);

// sinkhorn on each of `count` k x k matrices (k at most 16), in place, in double.
Result<void> sinkhorn(float* matrices, std::int64_t count, std::int64_t k, std::int64_t iterations,
                      float eps);

// sink_attention for `heads` queries [heads, dim] over the same `count` entries [count, dim], head h
// with sink logit sinks[h]; out is [heads, dim]. `scratch` holds heads * count floats.
Result<void> sink_attention(const float* queries, std::int64_t heads, const float* entries,
                            std::int64_t count, std::int64_t dim, float scale, const float* sinks,
                            float* scratch, float* out);

} // namespace lectern::kernels::cuda
