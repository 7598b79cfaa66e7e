#pragma once
// The CUDA backend's graph-level ops: the meaning of kernels/cpu/graph_ops.h and of the QAT simulations of
// kernels/cpu/numerics.h, on device pointers, batched over rows where the graph has several (as
// kernels/vulkan/graph_ops.h). Indices on the device are uint32. Selections (top_k, moe_route) use exactly
// the CPU's order and tie rule; every other op states where it differs from the CPU's rounding. Each call
// checks its launch and returns without waiting, as ops.h.

#include "kernels/cpu/graph_ops.h"
#include "kernels/result.h"

#include <cstdint>

namespace lectern::kernels::cuda {

// y[i] = a[i] + b[i] in fp32 for `n` floats; y may be a or b.
Result<void> add(const float* a, const float* b, float* y, std::int64_t n);

// dst[r * dst_stride + i] = src[r * src_stride + i] for r < rows, i < n: fp32 copied bit for bit (as
// kernels/vulkan copy_rows without an addend). src and dst do not overlap; strides are in floats, not
// negative, and dst_stride >= n when rows > 1 (src rows may overlap, e.g. stride 0 repeats one row).
Result<void> copy_rows(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride,
                       std::int64_t rows, std::int64_t n);

// The same layout into bf16 bits: dst[r * dst_stride + i] = cpu::f32_to_bf16(src[r * src_stride + i]), bit
// for bit (nearest even, NaN quieted as the CPU), dst_stride counted in bf16 values (as kernels/vulkan
// store_bf16, with no evenness rule).
Result<void> store_bf16(const float* src, std::int64_t src_stride, std::uint16_t* dst,
                        std::int64_t dst_stride, std::int64_t rows, std::int64_t n);

// x[i] *= factor for `n` floats, in place.
Result<void> scale(float* x, std::int64_t n, float factor);

// x = bf16(x) for `n` floats, in place, bit for bit as cpu::round_to_bf16 (NaN included).
Result<void> round_to_bf16(float* x, std::int64_t n);

// cpu::fp8_qat (Fp8E4M3) or cpu::fp4_qat (Fp4E2M1) in place: in each of `rows` rows (`row_stride` floats
// apart), the first `count` values in blocks of `block`. Bit for bit as the CPU (its scale exponent is the
// fp32 log2 the CPU takes, computed in double and rounded).
enum class QatFormat : std::uint8_t { Fp8E4M3, Fp4E2M1 };
Result<void> qat(float* x, std::int64_t rows, std::int64_t row_stride, std::int64_t count, std::int64_t block,
                 QatFormat format);

// cpu::swiglu on [rows, n]; row_scale [rows] may be null; y may be gate or up.
Result<void> swiglu(const float* gate, const float* up, const float* row_scale, float* y, std::int64_t rows,
                    std::int64_t n, float limit);

// cpu::sqrt_softplus on `n` floats; scores may be logits.
Result<void> sqrt_softplus(const float* logits, float* scores, std::int64_t n);

// The most indices top_k chooses per row.
constexpr std::int64_t kMaxTopK = 1024;

// cpu::top_k on each of `rows` rows [rows, n] into indices [rows, k], 1 <= k <= kMaxTopK; argmax is k = 1.
// With `counts` ([rows], may be null) row r considers only values[r, 0 .. counts[r]) (a count past n counts
// as n) and chooses min(k, counts[r]) indices, exactly cpu::top_k on that prefix; the rest of its row of
// `indices` is 0xFFFFFFFF.
Result<void> top_k(const float* values, std::int64_t rows, std::int64_t n, std::int64_t k,
                   cpu::TopKOrder order, std::uint32_t* indices, const std::uint32_t* counts = nullptr);

// cpu::moe_group: chosen [rows, active] -> offsets [experts + 1], tokens and slots [rows * active] (experts
// at most 4096). A chosen index at or past `experts` is left out of every group.
Result<void> moe_group(const std::uint32_t* chosen, std::int64_t rows, std::int64_t active,
                       std::int64_t experts, std::uint32_t* offsets, std::uint32_t* tokens,
                       std::uint32_t* slots);

// cpu::gather_rows / cpu::scatter_add_rows: dst [count, dim] from src rows, and dst rows += src [count, dim]
// (rows distinct). An index at or past `src_rows` / `dst_rows` is not followed (gather writes NaN for it,
// scatter skips it).
Result<void> gather_rows(const float* src, std::int64_t src_rows, const std::uint32_t* rows,
                         std::int64_t count, std::int64_t dim, float* dst);
Result<void> scatter_add_rows(const float* src, const std::uint32_t* rows, std::int64_t count,
                              std::int64_t dim, float* dst, std::int64_t dst_rows);

// cpu::moe_route: scores [rows, experts] (experts at most 4096), bias [experts] (may be null) -> chosen
// [rows, active] and weights [rows, active].
Result<void> moe_route(const float* scores, const float* bias, std::int64_t rows, std::int64_t experts,
                       std::int64_t active, float route_scale, std::uint32_t* chosen, float* weights);

// cpu::moe_route_weights for choices already in `chosen` [rows, active].
Result<void> moe_route_weights(const float* scores, const std::uint32_t* chosen, std::int64_t rows,
                               std::int64_t experts, std::int64_t active, float route_scale, float* weights);

// cpu::compressor_pool for `count` full compressor states laid one after another (each slots x lanes *
// width floats of kv and of score) into pooled [count, width]; in double as the CPU.
Result<void> compressor_pool(const float* kv, const float* score, std::int64_t count, std::int64_t ratio,
                             std::int64_t width, bool overlap, float* pooled);

// cpu::indexer_scores for `rows` queries [rows, heads, dim] with head weights [rows, heads] over the same
// `count` keys [count, dim] into scores [rows, count] (heads * dim at most 12288). Each dot is an fp32 sum
// where the CPU's is double; the products and the sum over heads are fp32 in head order, as the CPU's. With
// `bf16_keys` the keys are bf16 bits (uint16), widened exactly; else fp32. Either way the result is bit for
// bit the same on the same values.
Result<void> indexer_scores(const float* queries, const float* weights, const void* keys, std::int64_t rows,
                            std::int64_t heads, std::int64_t count, std::int64_t dim, float* scores,
                            bool bf16_keys = false);

// cpu::hc_coefficients for `rows` tokens: projections [rows, P] (P = (2 + hc) hc, or hc without post),
// streams [rows, hc, dim], scale [3] (or [1]), base [P] -> pre [rows, hc], and unless post is null post
// [rows, hc] and comb [rows, hc, hc] (sinkhorn is the caller's next step). P at most 256.
Result<void> hc_coefficients(const float* projections, const float* streams, std::int64_t rows,
                             std::int64_t hc, std::int64_t dim, float norm_eps, const float* scale,
                             const float* base, float hc_eps, float* pre, float* post, float* comb);

// cpu::hc_pre_mix for `rows` tokens: pre [rows, hc], streams [rows, hc, dim] -> u [rows, dim].
Result<void> hc_pre_mix(const float* pre, const float* streams, std::int64_t rows, std::int64_t hc,
                        std::int64_t dim, float* u);

// cpu::hc_post_mix for `rows` tokens: post [rows, hc], comb [rows, hc, hc], y [rows, dim], streams
// [rows, hc, dim] -> out [rows, hc, dim] (not aliasing streams).
Result<void> hc_post_mix(const float* post, const float* comb, const float* y, const float* streams,
                         std::int64_t rows, std::int64_t hc, std::int64_t dim, float* out);

} // namespace lectern::kernels::cuda
