#include "kernels/cuda/check.h"
#include "kernels/cuda/dense_ops.h"

#include <cuda_fp16.h>

#include <limits>
#include <string>

namespace lectern::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarp = 32;
// Attention: one block per (row, head). Each thread scores every kAttentionThreads-th position, and sums
// the output dims d with d % kAttentionThreads == its index.
constexpr int kAttentionThreads = 128;
constexpr int kDimsPerThread = static_cast<int>(kMaxAttentionHeadDim) / kAttentionThreads;

__device__ inline std::int64_t thread_index() {
    return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// quant::float_to_half, operation for operation, so that the cache holds the CPU graph's bits, NaN and
// overflow included (__float2half_rn makes another NaN).
__device__ inline std::uint16_t float_to_half_bits(float value) {
    const unsigned bits = __float_as_uint(value);
    const unsigned sign = (bits >> 16) & 0x8000u;
    const unsigned abs_bits = bits & 0x7FFFFFFFu;
    if (abs_bits > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);
    if (abs_bits >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u); // rounds past 65504
    if (abs_bits < 0x38800000u) { // half subnormal or zero: the float adder rounds at 2^-24
        const float magnitude = __fadd_rn(__uint_as_float(abs_bits), 0.5f);
        return static_cast<std::uint16_t>(sign | (__float_as_uint(magnitude) - 0x3F000000u));
    }
    const unsigned odd = (abs_bits >> 13) & 1u;
    return static_cast<std::uint16_t>(sign | ((abs_bits + 0xFFFu + odd - (112u << 23)) >> 13));
}

__device__ inline float half_bits_to_f32(std::uint16_t bits) {
    return __half2float(__ushort_as_half(bits));
}

__device__ inline float round_to_half(float value) {
    return half_bits_to_f32(float_to_half_bits(value));
}

__global__ void silu_mul_kernel(float* gate, const float* up, std::int64_t count) {
    const std::int64_t i = thread_index();
    if (i >= count) return;
    const float g = gate[i];
    gate[i] = __fmul_rn(__fdiv_rn(g, __fadd_rn(1.0f, expf(-g))), up[i]);
}

__global__ void kv_store_kernel(const float* keys, const float* values, std::int64_t rows,
                                std::int64_t kv_dim, std::uint16_t* key_cache, std::uint16_t* value_cache,
                                std::int64_t capacity, const std::uint32_t* first_position) {
    const std::int64_t i = thread_index();
    if (i >= rows * kv_dim) return;
    const std::int64_t position = static_cast<std::int64_t>(*first_position) + i / kv_dim;
    if (position >= capacity) return; // the host keeps first + rows within capacity
    const std::int64_t to = position * kv_dim + i % kv_dim;
    key_cache[to] = float_to_half_bits(keys[i]);
    value_cache[to] = float_to_half_bits(values[i]);
}

// The block's maximum or sum of one value per thread; every thread gets it. Every thread must call it.
__device__ float block_reduce(float value, float* partial, bool take_max) {
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
        const float other = __shfl_xor_sync(~0u, value, offset);
        value = take_max ? fmaxf(value, other) : __fadd_rn(value, other);
    }
    __syncthreads(); // every thread has read the previous reduction's partials
    if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = value;
    __syncthreads();
    float result = partial[0];
    for (int w = 1; w < kAttentionThreads / kWarp; ++w)
        result = take_max ? fmaxf(result, partial[w]) : __fadd_rn(result, partial[w]);
    return result;
}

// One block per (row, head), as the Vulkan shader. Pass 1: each thread scores its positions with a running
// maximum and sum, and the block combines them. Pass 2 rescores each position rather than keeping the
// scores (their count is only known on the device and may pass shared memory); the score is explicit fma
// and round-to-nearest products, so both passes get the same bits and exp(score - top) <= 1. Pass 2 goes
// kAttentionThreads positions at a time: each thread makes one fp16-rounded probability in shared memory,
// then sums its output dims over them.
__global__ void causal_attention_kernel(const float* queries, std::int64_t heads, std::int64_t kv_heads,
                                        int head_dim, const std::uint16_t* key_cache,
                                        const std::uint16_t* value_cache, std::int64_t capacity,
                                        const std::uint32_t* first_position, float scale, float* out) {
    __shared__ float query[kMaxAttentionHeadDim];
    __shared__ float probabilities[kAttentionThreads];
    __shared__ float partial[kAttentionThreads / kWarp];
    const std::int64_t job = blockIdx.x, row = job / heads, head = job % heads;
    const std::int64_t kv_dim = kv_heads * head_dim, kv_offset = head / (heads / kv_heads) * head_dim;
    const std::int64_t visible = min(static_cast<std::int64_t>(*first_position) + row + 1, capacity);
    // The CPU graph (as llama.cpp) multiplies the fp16 cache by an fp16 copy of the query.
    for (int d = threadIdx.x; d < head_dim; d += kAttentionThreads)
        query[d] = round_to_half(queries[job * head_dim + d]);
    __syncthreads();
    const auto score = [&](std::int64_t position) {
        const std::uint16_t* key = key_cache + position * kv_dim + kv_offset;
        float sum = 0.0f;
        for (int i = 0; i < head_dim; ++i) sum = fmaf(query[i], half_bits_to_f32(key[i]), sum);
        return __fmul_rn(sum, scale);
    };

    float local_max = -INFINITY, local_sum = 0.0f;
    for (std::int64_t j = threadIdx.x; j < visible; j += kAttentionThreads) {
        const float s = score(j);
        if (s > local_max) {
            local_sum = fmaf(local_sum, expf(__fsub_rn(local_max, s)), 1.0f);
            local_max = s;
        } else {
            local_sum = __fadd_rn(local_sum, expf(__fsub_rn(s, local_max)));
        }
    }
    const float top = block_reduce(local_max, partial, true);
    // A thread without positions has local_max -infinity: its share is 0, not 0 * exp(-inf - top).
    const float total = block_reduce(
        local_sum > 0.0f ? __fmul_rn(local_sum, expf(__fsub_rn(local_max, top))) : 0.0f, partial, false);
    const float inverse = __fdiv_rn(1.0f, total); // the CPU's softmax multiplies by float(1 / sum) too

    float acc[kDimsPerThread] = {};
    for (std::int64_t tile = 0; tile < visible; tile += kAttentionThreads) {
        const std::int64_t j = tile + threadIdx.x;
        // The CPU graph rounds the probabilities to fp16 before they multiply the fp16 value cache.
        const float probability =
            j < visible ? round_to_half(__fmul_rn(expf(__fsub_rn(score(j), top)), inverse)) : 0.0f;
        __syncthreads(); // the previous tile's probabilities are no longer read
        probabilities[threadIdx.x] = probability;
        __syncthreads();
        const int count = static_cast<int>(min(static_cast<std::int64_t>(kAttentionThreads), visible - tile));
        for (int c = 0; c < kDimsPerThread; ++c) {
            const int d = static_cast<int>(threadIdx.x) + c * kAttentionThreads;
            if (d >= head_dim) break;
            const std::uint16_t* value = value_cache + tile * kv_dim + kv_offset + d;
            for (int t = 0; t < count; ++t)
                acc[c] = fmaf(probabilities[t], half_bits_to_f32(value[t * kv_dim]), acc[c]);
        }
    }
    for (int c = 0; c < kDimsPerThread; ++c) {
        const int d = static_cast<int>(threadIdx.x) + c * kAttentionThreads;
        if (d < head_dim) out[job * head_dim + d] = acc[c];
    }
}

Result<void> shape_error(const char* op, const std::string& what) {
    return Error{std::string(op) + ": " + what};
}

} // namespace

Result<void> silu_mul(float* gate, const float* up, std::int64_t count) {
    if (count <= 0) return {};
    silu_mul_kernel<<<blocks_for(count, kThreads), kThreads>>>(gate, up, count);
    return finish_launch("silu_mul");
}

Result<void> kv_store(const float* keys, const float* values, std::int64_t rows, std::int64_t kv_dim,
                      std::uint16_t* key_cache, std::uint16_t* value_cache, std::int64_t capacity,
                      const std::uint32_t* first_position) {
    if (kv_dim <= 0 || rows < 0 || capacity < rows)
        return shape_error("kv_store", "kv_dim must be positive and the cache hold at least the " +
                                           std::to_string(rows) + " rows written (capacity " +
                                           std::to_string(capacity) + ")");
    if (rows == 0) return {};
    kv_store_kernel<<<blocks_for(rows * kv_dim, kThreads), kThreads>>>(keys, values, rows, kv_dim, key_cache,
                                                                       value_cache, capacity, first_position);
    return finish_launch("kv_store");
}

Result<void> causal_attention(const float* queries, std::int64_t rows, std::int64_t heads,
                              std::int64_t kv_heads, std::int64_t head_dim, const std::uint16_t* key_cache,
                              const std::uint16_t* value_cache, std::int64_t capacity,
                              const std::uint32_t* first_position, float scale, float* out) {
    if (rows < 0 || heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 ||
        rows * heads > std::numeric_limits<int>::max())
        return shape_error("causal_attention", std::to_string(rows) + " rows of " + std::to_string(heads) +
                                                   " query heads, which must be a multiple of the " +
                                                   std::to_string(kv_heads) + " key/value heads");
    if (head_dim <= 0 || head_dim % 2 != 0 || head_dim > kMaxAttentionHeadDim)
        return shape_error("causal_attention", "the head size must be even and at most " +
                                                   std::to_string(kMaxAttentionHeadDim) + ", not " +
                                                   std::to_string(head_dim));
    if (capacity < rows)
        return shape_error("causal_attention", "the cache of " + std::to_string(capacity) +
                                                   " positions cannot hold " + std::to_string(rows) +
                                                   " rows");
    if (rows == 0) return {};
    causal_attention_kernel<<<static_cast<unsigned>(rows * heads), kAttentionThreads>>>(
        queries, heads, kv_heads, static_cast<int>(head_dim), key_cache, value_cache, capacity,
        first_position, scale, out);
    return finish_launch("causal_attention");
}

} // namespace lectern::kernels::cuda
