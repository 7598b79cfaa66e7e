#pragma once
// The Vulkan backend's graph-level ops: the meaning of kernels/cpu/graph_ops.h, on device buffers, batched
// over rows where the graph has several. Sums are fp32 where the CPU sums in double (tolerances in
// tests/vulkan/); selections (top_k, moe_route) use exactly the CPU's order and tie rule, so equal inputs
// choose equal indices. Indices on the device are uint32. The residual add is dense_ops.h add_in_place.

#include "kernels/cpu/graph_ops.h"
#include "kernels/result.h"
#include "kernels/vulkan/storage.h"
#include "kernels/vulkan/stream.h"

#include <cstdint>
#include <optional>

namespace lectern::kernels::vulkan {

// x = bf16(x) for `count` floats, in place.
Result<void> round_to_bf16(Stream& stream, BufferSpan x, std::int64_t count);

// The QAT simulations of kernels/cpu/numerics.h in place, as the V4 graph applies them to activations:
// in each of `rows` rows (`row_stride` floats apart), the first `count` values in blocks of `block`.
// Fp8E4M3 is cpu::fp8_qat (scale floor 1e-4, max 448), Fp4E2M1 cpu::fp4_qat (max 6).
enum class QatFormat : std::uint8_t { Fp8E4M3, Fp4E2M1 };
Result<void> qat(Stream& stream, BufferSpan x, std::int64_t rows, std::int64_t row_stride, std::int64_t count,
                 std::int64_t block, QatFormat format);

// Rows of a buffer addressed in 4-byte elements: row r starts at element offset + r * stride. Unlike a
// BufferSpan's byte offset, an element offset needs no alignment, so any row of any buffer is reachable.
struct Rows {
    BufferSpan span;
    std::int64_t offset = 0;
    std::int64_t stride = 0;
};

// dst row r = src row r (+ add row r), `n` elements each, for `rows` rows. Without `add` the words are
// copied bit for bit (floats or uint32 indices alike); with it they are floats and the sum is fp32.
// dst may be the buffer of src when the rows do not overlap.
Result<void> copy_rows(Stream& stream, Rows src, Rows dst, std::int64_t rows, std::int64_t n,
                       std::optional<Rows> add = std::nullopt);

// dst row r = bf16(src row r), `n` values each, for `rows` rows, rounded to nearest even bit for bit as
// kernels/cpu/numerics.h f32_to_bf16 (NaN included). src is fp32 (Rows in floats); dst holds bf16
// (Storage::BF16), its offset and stride counted in bf16 values. Each dst row must fill whole 32-bit
// words, so dst's offset, its stride (with more than one row) and n must be even: a word is then written
// by one invocation only.
Result<void> store_bf16(Stream& stream, Rows src, Rows dst, std::int64_t rows, std::int64_t n);

// x *= factor for `count` floats, in place.
Result<void> scale(Stream& stream, BufferSpan x, std::int64_t count, float factor);

// cpu::swiglu on [rows, n]; row_scale [rows] is optional; y may be gate or up.
Result<void> swiglu(Stream& stream, BufferSpan gate, BufferSpan up, std::optional<BufferSpan> row_scale,
                    BufferSpan y, std::int64_t rows, std::int64_t n, float limit);

// cpu::sqrt_softplus on `count` floats; scores may be logits.
Result<void> sqrt_softplus(Stream& stream, BufferSpan logits, BufferSpan scores, std::int64_t count);

// cpu::top_k on each of `rows` rows of n values [rows, n] into indices [rows, k] (uint32), 1 <= k <= n.
// ByValue allows k up to 1024; argmax (greedy sampling) is k = 1.
// With `counts` ([rows] uint32), row r considers only values[r, 0 .. counts[r]) (a count past n counts as
// n) and chooses k_r = min(k, counts[r]) indices, exactly cpu::top_k on that prefix; entries k_r .. k - 1
// of its row of `indices` are 0xFFFFFFFF (a count of 0 fills the row). k may then exceed n (ByValue: up to
// 1024 unless n is smaller).
Result<void> top_k(Stream& stream, BufferSpan values, std::int64_t rows, std::int64_t n, std::int64_t k,
                   cpu::TopKOrder order, BufferSpan indices, std::optional<BufferSpan> counts = std::nullopt);

// cpu::moe_group on the device: chosen [rows, active] (uint32) -> offsets [experts + 1], tokens and slots
// [rows * active] (uint32), in one workgroup (experts at most 2048). A chosen index at or past `experts` is
// left out of every group (the last offset then counts fewer entries than rows * active).
Result<void> moe_group(Stream& stream, BufferSpan chosen, std::int64_t rows, std::int64_t active,
                       std::int64_t experts, BufferSpan offsets, BufferSpan tokens, BufferSpan slots);

// cpu::gather_rows / cpu::scatter_add_rows with uint32 row indices [count]: dst [count, dim] from src rows,
// and dst rows += src [count, dim] (rows distinct). An index at or past `src_rows` / `dst_rows` is not
// followed (gather writes NaN for it, scatter skips it), so a bad index cannot reach other memory.
Result<void> gather_rows(Stream& stream, BufferSpan src, std::int64_t src_rows, BufferSpan rows,
                         std::int64_t count, std::int64_t dim, BufferSpan dst);
Result<void> scatter_add_rows(Stream& stream, BufferSpan src, BufferSpan rows, std::int64_t count,
                              std::int64_t dim, BufferSpan dst, std::int64_t dst_rows);

// cpu::moe_route: scores [rows, experts], bias [experts] (optional) -> chosen [rows, active] (uint32) and
// weights [rows, active].
Result<void> moe_route(Stream& stream, BufferSpan scores, std::optional<BufferSpan> bias, std::int64_t rows,
                       std::int64_t experts, std::int64_t active, float route_scale, BufferSpan chosen,
                       BufferSpan weights);

// cpu::moe_route_weights for choices already in `chosen` [rows, active] (uint32).
Result<void> moe_route_weights(Stream& stream, BufferSpan scores, BufferSpan chosen, std::int64_t rows,
                               std::int64_t experts, std::int64_t active, float route_scale,
                               BufferSpan weights);

// cpu::compressor_pool for `count` full compressor states laid one after another (each slots x lanes *
// width floats of kv and of score) into pooled [count, width].
Result<void> compressor_pool(Stream& stream, BufferSpan kv, BufferSpan score, std::int64_t count,
                             std::int64_t ratio, std::int64_t width, bool overlap, BufferSpan pooled);

// cpu::indexer_scores for `rows` queries [rows, heads, dim] with head weights [rows, heads] over the same
// `count` keys [count, dim] into scores [rows, count]. `keys_storage` is how the keys hold their values;
// with BF16 the scores equal the F32 path's on the same values widened.
Result<void> indexer_scores(Stream& stream, BufferSpan queries, BufferSpan weights, BufferSpan keys,
                            std::int64_t rows, std::int64_t heads, std::int64_t count, std::int64_t dim,
                            BufferSpan scores, Storage keys_storage = Storage::F32);

// cpu::hc_coefficients for `rows` tokens: projections [rows, P] (P = (2 + hc) hc, or hc without post),
// streams [rows, hc, dim], scale [3] (or [1]), base [P] -> pre [rows, hc], and when `post` is given post
// [rows, hc] and comb [rows, hc, hc] (then sinkhorn). (2 + hc) hc must be at most 256.
Result<void> hc_coefficients(Stream& stream, BufferSpan projections, BufferSpan streams, std::int64_t rows,
                             std::int64_t hc, std::int64_t dim, float norm_eps, BufferSpan scale,
                             BufferSpan base, float hc_eps, BufferSpan pre, std::optional<BufferSpan> post,
                             std::optional<BufferSpan> comb);

// cpu::hc_pre_mix for `rows` tokens: pre [rows, hc], streams [rows, hc, dim] -> u [rows, dim].
Result<void> hc_pre_mix(Stream& stream, BufferSpan pre, BufferSpan streams, std::int64_t rows,
                        std::int64_t hc, std::int64_t dim, BufferSpan u);

// cpu::hc_post_mix for `rows` tokens: post [rows, hc], comb [rows, hc, hc], y [rows, dim], streams
// [rows, hc, dim] -> out [rows, hc, dim] (not aliasing streams).
Result<void> hc_post_mix(Stream& stream, BufferSpan post, BufferSpan comb, BufferSpan y, BufferSpan streams,
                         std::int64_t rows, std::int64_t hc, std::int64_t dim, BufferSpan out);

} // namespace lectern::kernels::vulkan
