#include "kernels/cuda/check.h"
#include "kernels/cuda/graph_ops.h"
#include "kernels/cuda/numbers.cuh"

#include <string>

namespace lectern::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarp = 32;
constexpr unsigned kNoIndex = 0xFFFFFFFFu;

__device__ inline std::int64_t thread_index() {
    return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// 2^k for k in [-126, 127], exactly.
__device__ inline float power_of_two(int k) {
    return __uint_as_float(static_cast<unsigned>(k + 127) << 23);
}

// cpu::numerics round_to_format on a value already divided by its scale: nearest even with
// `mantissa_bits` explicit bits, smallest normal exponent `min_exponent`, saturating at `max_value`.
__device__ inline float round_to_format(float value, int mantissa_bits, int min_exponent, float max_value) {
    const unsigned bits = __float_as_uint(value);
    const unsigned magnitude_bits = bits & 0x7FFFFFFFu;
    if (magnitude_bits > 0x7F800000u || magnitude_bits == 0u) return value; // NaN, zero
    // A subnormal's exponent field reads -127, below every min_exponent used here, as ilogb's would be.
    const int exponent = max(static_cast<int>(magnitude_bits >> 23) - 127, min_exponent);
    const int quantum = exponent - mantissa_bits;
    const float rounded = fminf(
        rintf(__uint_as_float(magnitude_bits) * power_of_two(-quantum)) * power_of_two(quantum), max_value);
    return (bits & 0x80000000u) ? -rounded : rounded;
}

// top_k's order as one unsigned key: a larger key ranks above, equal keys rank by the lower index. NaN is
// below every number (key 0, under -infinity's) and -0 equals +0.
__device__ inline unsigned order_key(float value) {
    if (value != value) return 0u;
    unsigned bits = __float_as_uint(value);
    if ((bits & 0x7FFFFFFFu) == 0u) bits = 0u;
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Whether (key_a, index_a) ranks above (key_b, index_b).
__device__ inline bool ranks_above(unsigned key_a, unsigned index_a, unsigned key_b, unsigned index_b) {
    return key_a != key_b ? key_a > key_b : index_a < index_b;
}

__global__ void add_kernel(const float* a, const float* b, float* y, std::int64_t n) {
    const std::int64_t i = thread_index();
    if (i < n) y[i] = __fadd_rn(a[i], b[i]);
}

__global__ void copy_rows_kernel(const float* src, std::int64_t src_stride, float* dst,
                                 std::int64_t dst_stride, std::int64_t rows, std::int64_t n) {
    const std::int64_t i = thread_index();
    if (i >= rows * n) return;
    const std::int64_t r = i / n, c = i % n;
    dst[r * dst_stride + c] = src[r * src_stride + c];
}

// cpu::f32_to_bf16: the top half of round_bf16's bits (its NaN keeps the CPU's quieted bits).
__global__ void store_bf16_kernel(const float* src, std::int64_t src_stride, std::uint16_t* dst,
                                  std::int64_t dst_stride, std::int64_t rows, std::int64_t n) {
    const std::int64_t i = thread_index();
    if (i >= rows * n) return;
    const std::int64_t r = i / n, c = i % n;
    dst[r * dst_stride + c] =
        static_cast<std::uint16_t>(__float_as_uint(round_bf16(src[r * src_stride + c])) >> 16);
}

__global__ void scale_kernel(float* x, std::int64_t n, float factor) {
    const std::int64_t i = thread_index();
    if (i < n) x[i] = __fmul_rn(x[i], factor);
}

__global__ void round_to_bf16_kernel(float* x, std::int64_t n) {
    const std::int64_t i = thread_index();
    if (i < n) x[i] = round_bf16(x[i]);
}

// One warp per block of values: the block's largest magnitude, then each value scaled, rounded and scaled
// back. The scale exponent is ceil of the CPU's fp32 log2 (glibc's log2f, not always correctly rounded);
// ceil of log2 in double rounded to fp32 equals it for every normal float (checked exhaustively), and a
// double log2's last-bit error is far from every fp32 rounding boundary there. A block holding an infinity
// has an infinite scale on the CPU, which makes every value of the block NaN; so here.
__global__ void qat_kernel(float* x, std::int64_t rows, std::int64_t row_stride, std::int64_t count,
                           std::int64_t block, bool fp4) {
    const std::int64_t blocks_per_row = (count + block - 1) / block;
    const std::int64_t id = thread_index() / kWarp;
    const int lane = static_cast<int>(threadIdx.x % kWarp);
    if (id >= rows * blocks_per_row) return; // whole warps leave together
    const std::int64_t row = id / blocks_per_row, first = (id % blocks_per_row) * block;
    float* values = x + row * row_stride;
    const std::int64_t end = min(count, first + block);
    float amax = 0.0f;
    for (std::int64_t i = first + lane; i < end; i += kWarp) {
        const float magnitude = fabsf(values[i]);
        if (magnitude > amax) amax = magnitude; // NaN is skipped, as std::max(amax, NaN) keeps amax
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2)
        amax = fmaxf(amax, __shfl_xor_sync(~0u, amax, offset));
    const float format_max = fp4 ? 6.0f : 448.0f;
    const float ratio = fmaxf(amax, 1e-4f) / format_max;
    if (isinf(ratio)) {
        for (std::int64_t i = first + lane; i < end; i += kWarp) values[i] = __uint_as_float(0x7FC00000u);
        return;
    }
    const int exponent = static_cast<int>(ceilf(static_cast<float>(log2(static_cast<double>(ratio)))));
    for (std::int64_t i = first + lane; i < end; i += kWarp) {
        const float scaled = values[i] * power_of_two(-exponent);
        values[i] = (fp4 ? round_to_format(scaled, 1, 0, 6.0f) : round_to_format(scaled, 3, -6, 448.0f)) *
                    power_of_two(exponent);
    }
}

__global__ void swiglu_kernel(const float* gate, const float* up, const float* row_scale, float* y,
                              std::int64_t rows, std::int64_t n, float limit) {
    const std::int64_t i = thread_index();
    if (i >= rows * n) return;
    // std::min and std::clamp keep a NaN (fminf and fmaxf would drop it).
    const float g = limit < gate[i] ? limit : gate[i];
    const float u = up[i] < -limit ? -limit : (limit < up[i] ? limit : up[i]);
    const auto silu = static_cast<float>(g / (1.0 + exp(-static_cast<double>(g))));
    y[i] = __fmul_rn(__fmul_rn(silu, u), row_scale ? row_scale[i / n] : 1.0f);
}

__global__ void sqrt_softplus_kernel(const float* logits, float* scores, std::int64_t n) {
    const std::int64_t i = thread_index();
    if (i >= n) return;
    const double v = logits[i];
    scores[i] = static_cast<float>(sqrt(v > 20.0 ? v : log1p(exp(v))));
}

constexpr int kTopKThreads = 1024;

// One block per row. A radix select over the order keys (four passes of 8 bits) finds the key of the k-th
// best value and how many values with exactly that key still belong in; one pass in index order takes every
// value above it and the first of those equal to it (the tie rule: lower index first); a bitonic sort puts
// the chosen in the order asked for.
__global__ void __launch_bounds__(kTopKThreads)
    top_k_kernel(const float* values, std::int64_t n, std::int64_t k, bool by_index, std::uint32_t* indices,
                 const std::uint32_t* counts) {
    __shared__ unsigned histogram[256];
    __shared__ unsigned chosen_key[kMaxTopK];
    __shared__ unsigned chosen_index[kMaxTopK];
    __shared__ unsigned warp_ties[kTopKThreads / kWarp];
    __shared__ unsigned prefix, remaining, taken, ties_before;

    const std::int64_t row = blockIdx.x;
    const float* v = values + row * n;
    std::uint32_t* out = indices + row * k;
    const std::int64_t considered = counts ? min(static_cast<std::int64_t>(counts[row]), n) : n;
    const std::int64_t wanted = min(k, considered);
    for (std::int64_t i = wanted + threadIdx.x; i < k; i += blockDim.x) out[i] = kNoIndex;
    if (wanted == 0) return;

    if (threadIdx.x == 0) {
        prefix = 0u;
        remaining = static_cast<unsigned>(wanted);
        taken = 0u;
        ties_before = 0u;
    }
    unsigned mask = 0u;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) histogram[b] = 0u;
        __syncthreads();
        for (std::int64_t i = threadIdx.x; i < considered; i += blockDim.x) {
            const unsigned key = order_key(v[i]);
            if ((key & mask) == prefix) atomicAdd(&histogram[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned above = 0u;
            for (int b = 255; b >= 0; --b) {
                if (above + histogram[b] >= remaining) {
                    remaining -= above;
                    prefix |= static_cast<unsigned>(b) << shift;
                    break;
                }
                above += histogram[b];
            }
        }
        mask |= 255u << shift;
        __syncthreads();
    }

    const unsigned threshold = prefix, ties_wanted = remaining;
    const int lane = static_cast<int>(threadIdx.x % kWarp), warp = static_cast<int>(threadIdx.x / kWarp);
    for (std::int64_t start = 0; start < considered; start += blockDim.x) {
        const std::int64_t i = start + threadIdx.x;
        const unsigned key = i < considered ? order_key(v[i]) : 0u;
        const bool tie = i < considered && key == threshold;
        const unsigned ballot = __ballot_sync(~0u, tie);
        if (lane == 0) warp_ties[warp] = __popc(ballot);
        __syncthreads();
        unsigned rank = ties_before + __popc(ballot & ((1u << lane) - 1u));
        for (int w = 0; w < warp; ++w) rank += warp_ties[w];
        if ((i < considered && key > threshold) || (tie && rank < ties_wanted)) {
            const unsigned slot = atomicAdd(&taken, 1u);
            chosen_key[slot] = key;
            chosen_index[slot] = static_cast<unsigned>(i);
        }
        __syncthreads();
        if (threadIdx.x == 0)
            for (int w = 0; w < static_cast<int>(blockDim.x / kWarp); ++w) ties_before += warp_ties[w];
        __syncthreads();
    }

    int size = 1;
    while (size < wanted) size *= 2;
    for (int i = static_cast<int>(wanted) + threadIdx.x; i < size; i += blockDim.x) {
        chosen_key[i] = 0u; // after every real entry in either order
        chosen_index[i] = kNoIndex;
    }
    __syncthreads();
    for (int span = 2; span <= size; span *= 2) {
        for (int stride = span / 2; stride > 0; stride /= 2) {
            for (int i = threadIdx.x; i < size; i += blockDim.x) {
                const int j = i ^ stride;
                if (j <= i) continue;
                const bool j_first =
                    by_index ? chosen_index[j] < chosen_index[i]
                             : ranks_above(chosen_key[j], chosen_index[j], chosen_key[i], chosen_index[i]);
                const bool i_first =
                    by_index ? chosen_index[i] < chosen_index[j]
                             : ranks_above(chosen_key[i], chosen_index[i], chosen_key[j], chosen_index[j]);
                if ((i & span) == 0 ? j_first : i_first) {
                    const unsigned key = chosen_key[i], index = chosen_index[i];
                    chosen_key[i] = chosen_key[j];
                    chosen_index[i] = chosen_index[j];
                    chosen_key[j] = key;
                    chosen_index[j] = index;
                }
            }
            __syncthreads();
        }
    }
    for (std::int64_t i = threadIdx.x; i < wanted; i += blockDim.x) out[i] = chosen_index[i];
}

constexpr int kMaxExperts = 4096;

// One block: the experts' counts, their running sum, then each expert's entries in row order (so each
// expert's rows ascend, as the CPU's).
__global__ void moe_group_kernel(const std::uint32_t* chosen, std::int64_t entries, std::int64_t active,
                                 int experts, std::uint32_t* offsets, std::uint32_t* tokens,
                                 std::uint32_t* slots) {
    __shared__ unsigned starts[kMaxExperts + 1];
    for (int e = threadIdx.x; e <= experts; e += blockDim.x) starts[e] = 0u;
    __syncthreads();
    for (std::int64_t i = threadIdx.x; i < entries; i += blockDim.x)
        if (chosen[i] < static_cast<unsigned>(experts)) atomicAdd(&starts[chosen[i] + 1], 1u);
    __syncthreads();
    if (threadIdx.x == 0)
        for (int e = 1; e <= experts; ++e) starts[e] += starts[e - 1];
    __syncthreads();
    for (int e = threadIdx.x; e <= experts; e += blockDim.x) offsets[e] = starts[e];
    for (int e = threadIdx.x; e < experts; e += blockDim.x) {
        unsigned at = starts[e];
        for (std::int64_t i = 0; i < entries; ++i) {
            if (chosen[i] != static_cast<unsigned>(e)) continue;
            tokens[at] = static_cast<unsigned>(i / active);
            slots[at] = static_cast<unsigned>(i);
            ++at;
        }
    }
}

__global__ void gather_rows_kernel(const float* src, std::int64_t src_rows, const std::uint32_t* rows,
                                   std::int64_t count, std::int64_t dim, float* dst) {
    const std::int64_t i = thread_index();
    if (i >= count * dim) return;
    const std::int64_t row = rows[i / dim];
    dst[i] = row < src_rows ? src[row * dim + i % dim] : __uint_as_float(0x7FC00000u);
}

__global__ void scatter_add_rows_kernel(const float* src, const std::uint32_t* rows, std::int64_t count,
                                        std::int64_t dim, float* dst, std::int64_t dst_rows) {
    const std::int64_t i = thread_index();
    if (i >= count * dim) return;
    const std::int64_t row = rows[i / dim];
    if (row < dst_rows) dst[row * dim + i % dim] = __fadd_rn(dst[row * dim + i % dim], src[i]);
}

// The weights of one row's chosen experts: the fp32 sum of their scores in the order chosen, then each
// score / total * route_scale.
__device__ void route_weights(const float* scores, const std::uint32_t* chosen, std::int64_t active,
                              float route_scale, float* weights) {
    float total = 0.0f;
    for (std::int64_t j = 0; j < active; ++j) total = __fadd_rn(total, scores[chosen[j]]);
    for (std::int64_t j = 0; j < active; ++j)
        weights[j] = __fmul_rn(__fdiv_rn(scores[chosen[j]], total), route_scale);
}

// One block per row: `active` rounds of a block-wide best over the experts not yet chosen, by score + bias
// in top_k's order; then the weights from the scores alone.
__global__ void moe_route_kernel(const float* scores, const float* bias, std::int64_t experts,
                                 std::int64_t active, float route_scale, std::uint32_t* chosen,
                                 float* weights) {
    __shared__ unsigned keys[kMaxExperts];
    __shared__ unsigned best_key[kThreads / kWarp], best_index[kThreads / kWarp];
    const std::int64_t row = blockIdx.x;
    const float* s = scores + row * experts;
    std::uint32_t* c = chosen + row * active;
    for (std::int64_t e = threadIdx.x; e < experts; e += blockDim.x)
        keys[e] = order_key(bias ? __fadd_rn(s[e], bias[e]) : s[e]);
    __syncthreads();
    const int lane = static_cast<int>(threadIdx.x % kWarp), warp = static_cast<int>(threadIdx.x / kWarp);
    for (std::int64_t j = 0; j < active; ++j) {
        // A taken expert has index kNoIndex in the search, so it ranks below every untaken one.
        unsigned key = 0u, index = kNoIndex;
        for (std::int64_t e = threadIdx.x; e < experts; e += blockDim.x) {
            bool taken = false;
            for (std::int64_t t = 0; t < j; ++t) taken = taken || c[t] == static_cast<unsigned>(e);
            if (!taken && (index == kNoIndex || ranks_above(keys[e], static_cast<unsigned>(e), key, index))) {
                key = keys[e];
                index = static_cast<unsigned>(e);
            }
        }
        for (int offset = kWarp / 2; offset > 0; offset /= 2) {
            const unsigned other_key = __shfl_xor_sync(~0u, key, offset);
            const unsigned other_index = __shfl_xor_sync(~0u, index, offset);
            if (other_index != kNoIndex &&
                (index == kNoIndex || ranks_above(other_key, other_index, key, index))) {
                key = other_key;
                index = other_index;
            }
        }
        if (lane == 0) {
            best_key[warp] = key;
            best_index[warp] = index;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < static_cast<int>(blockDim.x / kWarp); ++w)
                if (best_index[w] != kNoIndex &&
                    (index == kNoIndex || ranks_above(best_key[w], best_index[w], key, index))) {
                    key = best_key[w];
                    index = best_index[w];
                }
            c[j] = index;
        }
        __syncthreads(); // c[j] is read by every thread in the next round
    }
    if (threadIdx.x == 0) route_weights(s, c, active, route_scale, weights + row * active);
}

__global__ void moe_route_weights_kernel(const float* scores, const std::uint32_t* chosen, std::int64_t rows,
                                         std::int64_t experts, std::int64_t active, float route_scale,
                                         float* weights) {
    const std::int64_t row = thread_index();
    if (row < rows)
        route_weights(scores + row * experts, chosen + row * active, active, route_scale,
                      weights + row * active);
}

// One thread per (state, channel), as cpu::compressor_pool: fp32 maximum, exp and sums in double.
__global__ void compressor_pool_kernel(const float* kv, const float* score, std::int64_t count,
                                       std::int64_t ratio, std::int64_t width, bool overlap, float* pooled) {
    const std::int64_t id = thread_index();
    if (id >= count * width) return;
    const std::int64_t state = id / width, c = id % width;
    const std::int64_t row_width = (overlap ? 2 : 1) * width;
    const std::int64_t candidates = overlap ? 2 * ratio : ratio;
    const std::int64_t first = state * candidates * row_width;
    const auto at = [&](std::int64_t r) {
        return first + r * row_width + (overlap && r >= ratio ? width : 0) + c;
    };
    float top = -INFINITY;
    for (std::int64_t r = 0; r < candidates; ++r) top = fmaxf(top, score[at(r)]);
    double sum = 0.0, weighted = 0.0;
    for (std::int64_t r = 0; r < candidates; ++r) {
        const double e = exp(static_cast<double>(score[at(r)]) - top);
        sum += e;
        weighted += e * kv[at(r)];
    }
    pooled[id] = static_cast<float>(weighted / sum);
}

constexpr int kMaxIndexerQuery = 12288; // floats of one row's queries in shared memory

__device__ inline float key_at(const float* keys, std::int64_t i) {
    return keys[i];
}

__device__ inline float key_at(const std::uint16_t* keys, std::int64_t i) {
    return bf16_to_f32(keys[i]);
}

// Grid (key tiles, rows); the row's queries in shared memory; one warp per key: each head's dot split over
// the lanes and summed across the warp, then the heads' weighted sum in head order. bf16 keys widen exactly,
// so both instantiations compute on the same floats and give the same bits.
template <typename Key>
__global__ void indexer_scores_kernel(const float* queries, const float* weights, const Key* keys,
                                      std::int64_t heads, std::int64_t count, std::int64_t dim,
                                      float* scores) {
    extern __shared__ float query[];
    const std::int64_t row = blockIdx.y;
    for (std::int64_t i = threadIdx.x; i < heads * dim; i += blockDim.x)
        query[i] = queries[row * heads * dim + i];
    __syncthreads();
    const int lane = static_cast<int>(threadIdx.x % kWarp);
    const std::int64_t warps = blockDim.x / kWarp;
    const std::int64_t key = static_cast<std::int64_t>(blockIdx.x) * warps + threadIdx.x / kWarp;
    if (key >= count) return;
    const Key* k = keys + key * dim;
    float score = 0.0f;
    for (std::int64_t h = 0; h < heads; ++h) {
        float dot = 0.0f;
        for (std::int64_t d = lane; d < dim; d += kWarp) dot = fmaf(query[h * dim + d], key_at(k, d), dot);
        for (int offset = kWarp / 2; offset > 0; offset /= 2) dot += __shfl_xor_sync(~0u, dot, offset);
        score = __fadd_rn(score, __fmul_rn(weights[row * heads + h], fmaxf(0.0f, dot)));
    }
    if (lane == 0) scores[row * count + key] = score;
}

constexpr int kMaxHcProjections = 256;

// One block per token: the streams' mean square (double, as the CPU's), then one thread per coefficient.
__global__ void hc_coefficients_kernel(const float* projections, const float* streams, std::int64_t hc,
                                       std::int64_t dim, float norm_eps, const float* scale,
                                       const float* base, float hc_eps, float* pre, float* post,
                                       float* comb) {
    __shared__ double partial[kThreads];
    const std::int64_t row = blockIdx.x, n = hc * dim;
    const float* s = streams + row * n;
    double squares = 0.0;
    for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) squares += static_cast<double>(s[i]) * s[i];
    partial[threadIdx.x] = squares;
    __syncthreads();
    for (int stride = kThreads / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    const float inverse_rms = __fdiv_rn(
        1.0f, sqrtf(__fadd_rn(__fdiv_rn(static_cast<float>(partial[0]), static_cast<float>(n)), norm_eps)));
    const std::int64_t count = (post ? 2 + hc : 1) * hc;
    const std::int64_t r = threadIdx.x;
    if (r >= count) return;
    const float m = __fmul_rn(projections[row * count + r], inverse_rms);
    const auto sigmoid = [](float v) {
        return static_cast<float>(1.0 / (1.0 + exp(-static_cast<double>(v))));
    };
    if (r < hc)
        pre[row * hc + r] = __fadd_rn(sigmoid(__fadd_rn(__fmul_rn(scale[0], m), base[r])), hc_eps);
    else if (r < 2 * hc)
        post[row * hc + r - hc] = 2.0f * sigmoid(__fadd_rn(__fmul_rn(scale[1], m), base[r]));
    else
        comb[row * hc * hc + r - 2 * hc] = __fadd_rn(__fmul_rn(scale[2], m), base[r]);
}

__global__ void hc_pre_mix_kernel(const float* pre, const float* streams, std::int64_t rows, std::int64_t hc,
                                  std::int64_t dim, float* u) {
    const std::int64_t id = thread_index();
    if (id >= rows * dim) return;
    const std::int64_t row = id / dim, i = id % dim;
    double sum = 0.0;
    for (std::int64_t j = 0; j < hc; ++j)
        sum += static_cast<double>(pre[row * hc + j]) * streams[(row * hc + j) * dim + i];
    u[id] = static_cast<float>(sum);
}

__global__ void hc_post_mix_kernel(const float* post, const float* comb, const float* y, const float* streams,
                                   std::int64_t rows, std::int64_t hc, std::int64_t dim, float* out) {
    const std::int64_t id = thread_index();
    if (id >= rows * hc * dim) return;
    const std::int64_t row = id / (hc * dim), k = id / dim % hc, i = id % dim;
    double sum = static_cast<double>(post[row * hc + k]) * y[row * dim + i];
    for (std::int64_t j = 0; j < hc; ++j)
        sum += static_cast<double>(comb[(row * hc + j) * hc + k]) * streams[(row * hc + j) * dim + i];
    out[id] = static_cast<float>(sum);
}

Result<void> shape_error(const char* op, const std::string& what) {
    return Error{std::string(op) + ": " + what};
}

} // namespace

Result<void> add(const float* a, const float* b, float* y, std::int64_t n) {
    if (n <= 0) return {};
    add_kernel<<<blocks_for(n, kThreads), kThreads>>>(a, b, y, n);
    return finish_launch("add");
}

Result<void> copy_rows(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride,
                       std::int64_t rows, std::int64_t n) {
    if (src_stride < 0 || dst_stride < 0 || (rows > 1 && n > 0 && dst_stride < n))
        return shape_error("copy_rows", "strides " + std::to_string(src_stride) + " and " +
                                            std::to_string(dst_stride) + " for rows of " + std::to_string(n));
    if (rows <= 0 || n <= 0) return {};
    copy_rows_kernel<<<blocks_for(rows * n, kThreads), kThreads>>>(src, src_stride, dst, dst_stride, rows, n);
    return finish_launch("copy_rows");
}

Result<void> store_bf16(const float* src, std::int64_t src_stride, std::uint16_t* dst,
                        std::int64_t dst_stride, std::int64_t rows, std::int64_t n) {
    if (src_stride < 0 || dst_stride < 0 || (rows > 1 && n > 0 && dst_stride < n))
        return shape_error("store_bf16", "strides " + std::to_string(src_stride) + " and " +
                                             std::to_string(dst_stride) + " for rows of " +
                                             std::to_string(n));
    if (rows <= 0 || n <= 0) return {};
    store_bf16_kernel<<<blocks_for(rows * n, kThreads), kThreads>>>(src, src_stride, dst, dst_stride, rows,
                                                                    n);
    return finish_launch("store_bf16");
}

Result<void> scale(float* x, std::int64_t n, float factor) {
    if (n <= 0) return {};
    scale_kernel<<<blocks_for(n, kThreads), kThreads>>>(x, n, factor);
    return finish_launch("scale");
}

Result<void> round_to_bf16(float* x, std::int64_t n) {
    if (n <= 0) return {};
    round_to_bf16_kernel<<<blocks_for(n, kThreads), kThreads>>>(x, n);
    return finish_launch("round_to_bf16");
}

Result<void> qat(float* x, std::int64_t rows, std::int64_t row_stride, std::int64_t count, std::int64_t block,
                 QatFormat format) {
    if (block <= 0 || count > row_stride)
        return shape_error("qat", "block must be positive and count fit a row");
    if (rows <= 0 || count <= 0) return {};
    const std::int64_t blocks = rows * ((count + block - 1) / block);
    qat_kernel<<<blocks_for(blocks * kWarp, kThreads), kThreads>>>(x, rows, row_stride, count, block,
                                                                   format == QatFormat::Fp4E2M1);
    return finish_launch("qat");
}

Result<void> swiglu(const float* gate, const float* up, const float* row_scale, float* y, std::int64_t rows,
                    std::int64_t n, float limit) {
    if (rows <= 0 || n <= 0) return {};
    swiglu_kernel<<<blocks_for(rows * n, kThreads), kThreads>>>(gate, up, row_scale, y, rows, n, limit);
    return finish_launch("swiglu");
}

Result<void> sqrt_softplus(const float* logits, float* scores, std::int64_t n) {
    if (n <= 0) return {};
    sqrt_softplus_kernel<<<blocks_for(n, kThreads), kThreads>>>(logits, scores, n);
    return finish_launch("sqrt_softplus");
}

Result<void> top_k(const float* values, std::int64_t rows, std::int64_t n, std::int64_t k,
                   cpu::TopKOrder order, std::uint32_t* indices, const std::uint32_t* counts) {
    if (k < 1 || k > kMaxTopK || (!counts && k > n) || n >= kNoIndex)
        return shape_error("top_k", "k = " + std::to_string(k) + " of " + std::to_string(n) + " values");
    if (rows <= 0) return {};
    top_k_kernel<<<static_cast<unsigned>(rows), kTopKThreads>>>(
        values, n, k, order == cpu::TopKOrder::ByIndex, indices, counts);
    return finish_launch("top_k");
}

Result<void> moe_group(const std::uint32_t* chosen, std::int64_t rows, std::int64_t active,
                       std::int64_t experts, std::uint32_t* offsets, std::uint32_t* tokens,
                       std::uint32_t* slots) {
    if (rows < 0 || experts < 1 || experts > kMaxExperts || active < 1 || rows * active >= kNoIndex)
        return shape_error("moe_group", std::to_string(rows) + " rows, " + std::to_string(experts) +
                                            " experts, " + std::to_string(active) + " active");
    moe_group_kernel<<<1, kThreads>>>(chosen, rows * active, active, static_cast<int>(experts), offsets,
                                      tokens, slots);
    return finish_launch("moe_group");
}

Result<void> gather_rows(const float* src, std::int64_t src_rows, const std::uint32_t* rows,
                         std::int64_t count, std::int64_t dim, float* dst) {
    if (count <= 0 || dim <= 0) return {};
    gather_rows_kernel<<<blocks_for(count * dim, kThreads), kThreads>>>(src, src_rows, rows, count, dim, dst);
    return finish_launch("gather_rows");
}

Result<void> scatter_add_rows(const float* src, const std::uint32_t* rows, std::int64_t count,
                              std::int64_t dim, float* dst, std::int64_t dst_rows) {
    if (count <= 0 || dim <= 0) return {};
    scatter_add_rows_kernel<<<blocks_for(count * dim, kThreads), kThreads>>>(src, rows, count, dim, dst,
                                                                             dst_rows);
    return finish_launch("scatter_add_rows");
}

Result<void> moe_route(const float* scores, const float* bias, std::int64_t rows, std::int64_t experts,
                       std::int64_t active, float route_scale, std::uint32_t* chosen, float* weights) {
    if (experts < 1 || experts > kMaxExperts || active < 1 || active > experts)
        return shape_error("moe_route",
                           std::to_string(active) + " of " + std::to_string(experts) + " experts");
    if (rows <= 0) return {};
    moe_route_kernel<<<static_cast<unsigned>(rows), kThreads>>>(scores, bias, experts, active, route_scale,
                                                                chosen, weights);
    return finish_launch("moe_route");
}

Result<void> moe_route_weights(const float* scores, const std::uint32_t* chosen, std::int64_t rows,
                               std::int64_t experts, std::int64_t active, float route_scale, float* weights) {
    if (rows <= 0 || active <= 0) return {};
    moe_route_weights_kernel<<<blocks_for(rows, kThreads), kThreads>>>(scores, chosen, rows, experts, active,
                                                                       route_scale, weights);
    return finish_launch("moe_route_weights");
}

Result<void> compressor_pool(const float* kv, const float* score, std::int64_t count, std::int64_t ratio,
                             std::int64_t width, bool overlap, float* pooled) {
    if (ratio < 1) return shape_error("compressor_pool", "ratio must be positive");
    if (count <= 0 || width <= 0) return {};
    compressor_pool_kernel<<<blocks_for(count * width, kThreads), kThreads>>>(kv, score, count, ratio, width,
                                                                              overlap, pooled);
    return finish_launch("compressor_pool");
}

Result<void> indexer_scores(const float* queries, const float* weights, const void* keys, std::int64_t rows,
                            std::int64_t heads, std::int64_t count, std::int64_t dim, float* scores,
                            bool bf16_keys) {
    if (heads * dim > kMaxIndexerQuery || rows > 65535)
        return shape_error("indexer_scores", std::to_string(rows) + " rows of " + std::to_string(heads) +
                                                 " heads x " + std::to_string(dim));
    if (rows <= 0 || count <= 0 || heads <= 0 || dim <= 0) return {};
    constexpr int warps = kThreads / kWarp;
    const dim3 grid(blocks_for(count, warps), static_cast<unsigned>(rows));
    const auto bytes = static_cast<std::size_t>(heads * dim) * sizeof(float);
    if (bf16_keys)
        indexer_scores_kernel<std::uint16_t><<<grid, kThreads, bytes>>>(
            queries, weights, static_cast<const std::uint16_t*>(keys), heads, count, dim, scores);
    else
        indexer_scores_kernel<float><<<grid, kThreads, bytes>>>(
            queries, weights, static_cast<const float*>(keys), heads, count, dim, scores);
    return finish_launch("indexer_scores");
}

Result<void> hc_coefficients(const float* projections, const float* streams, std::int64_t rows,
                             std::int64_t hc, std::int64_t dim, float norm_eps, const float* scale,
                             const float* base, float hc_eps, float* pre, float* post, float* comb) {
    if (hc < 1 || (2 + hc) * hc > kMaxHcProjections || (post && !comb))
        return shape_error("hc_coefficients", std::to_string(hc) + " streams");
    if (rows <= 0) return {};
    hc_coefficients_kernel<<<static_cast<unsigned>(rows), kThreads>>>(projections, streams, hc, dim, norm_eps,
                                                                      scale, base, hc_eps, pre, post, comb);
    return finish_launch("hc_coefficients");
}

Result<void> hc_pre_mix(const float* pre, const float* streams, std::int64_t rows, std::int64_t hc,
                        std::int64_t dim, float* u) {
    if (rows <= 0 || dim <= 0) return {};
    hc_pre_mix_kernel<<<blocks_for(rows * dim, kThreads), kThreads>>>(pre, streams, rows, hc, dim, u);
    return finish_launch("hc_pre_mix");
}

Result<void> hc_post_mix(const float* post, const float* comb, const float* y, const float* streams,
                         std::int64_t rows, std::int64_t hc, std::int64_t dim, float* out) {
    if (rows <= 0 || hc <= 0 || dim <= 0) return {};
    hc_post_mix_kernel<<<blocks_for(rows * hc * dim, kThreads), kThreads>>>(post, comb, y, streams, rows, hc,
                                                                            dim, out);
    return finish_launch("hc_post_mix");
}

} // namespace lectern::kernels::cuda
