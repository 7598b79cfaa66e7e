#include "kernels/vulkan/graph_ops.h"

#include "kernels/vulkan/dispatch.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>

namespace lectern::kernels::vulkan {
namespace {

using detail::grid;

// One workgroup of `group_size` invocations per `group_size` elements.
std::array<std::uint32_t, 3> grid_for(std::int64_t elements, std::uint64_t group_size) {
    return grid((static_cast<std::uint64_t>(elements) + group_size - 1) / group_size);
}

// Counts must be positive, and shaders index with 32-bit unsigned integers.
Result<void> check_counts(const char* op, std::initializer_list<std::int64_t> counts) {
    for (const std::int64_t count : counts)
        if (count <= 0 || count > std::numeric_limits<std::uint32_t>::max())
            return Error{std::string(op) + ": " + std::to_string(count) +
                         " is not a size one Vulkan dispatch handles (1 .. 2^32 - 1)"};
    return {};
}

struct Need {
    const char* name;
    BufferSpan span;
    std::int64_t elements; // of 4 bytes
};

Result<void> check_spans(const char* op, std::initializer_list<Need> needs) {
    for (const Need& need : needs)
        if (need.span.bytes < static_cast<std::uint64_t>(need.elements) * 4)
            return Error{std::string(op) + ": " + need.name + " holds " + std::to_string(need.span.bytes) +
                         " bytes but needs " + std::to_string(static_cast<std::uint64_t>(need.elements) * 4)};
    return {};
}

std::uint32_t u32(std::int64_t value) {
    return static_cast<std::uint32_t>(value);
}

Result<void> route(Stream& stream, BufferSpan scores, std::optional<BufferSpan> bias, std::int64_t rows,
                   std::int64_t experts, std::int64_t active, float route_scale, BufferSpan chosen,
                   BufferSpan weights, bool chosen_given) {
    const char* op = chosen_given ? "moe_route_weights" : "moe_route";
    if (Result<void> ok = check_counts(op, {rows, experts, active, rows * experts, rows * active}); !ok)
        return ok;
    if (active > experts)
        return Error{std::string(op) + ": " + std::to_string(active) + " active experts of only " +
                     std::to_string(experts)};
    if (Result<void> ok = check_spans(op, {{"scores", scores, rows * experts},
                                           {"chosen", chosen, rows * active},
                                           {"weights", weights, rows * active}});
        !ok)
        return ok;
    if (bias)
        if (Result<void> ok = check_spans(op, {{"bias", *bias, experts}}); !ok) return ok;
    const struct {
        std::uint32_t rows, experts, active, has_bias, chosen_given;
        float route_scale;
    } push{u32(rows), u32(experts), u32(active), bias ? 1u : 0u, chosen_given ? 1u : 0u, route_scale};
    // Without a bias the shader never reads binding 1; the scores stand in so that every binding is valid.
    return stream.dispatch("moe_route", {scores, bias.value_or(scores), chosen, weights}, &push, sizeof(push),
                           grid_for(rows, 64));
}

} // namespace

Result<void> copy_rows(Stream& stream, Rows src, Rows dst, std::int64_t rows, std::int64_t n,
                       std::optional<Rows> add) {
    if (Result<void> ok = check_counts("copy_rows", {rows, n, rows * n}); !ok) return ok;
    // The last element each side reads or writes, +1, must lie inside its span and within 32 bits.
    const auto reach = [](const Rows& r, std::int64_t rows_, std::int64_t n_) {
        return r.offset + (rows_ - 1) * r.stride + n_;
    };
    if (Result<void> ok = check_spans(
            "copy_rows", {{"src", src.span, reach(src, rows, n)}, {"dst", dst.span, reach(dst, rows, n)}});
        !ok)
        return ok;
    if (add)
        if (Result<void> ok = check_spans("copy_rows", {{"add", add->span, reach(*add, rows, n)}}); !ok)
            return ok;
    for (const Rows* r : {&src, &dst})
        if (r->offset < 0 || r->stride < 0 || reach(*r, rows, n) > std::numeric_limits<std::uint32_t>::max())
            return Error{"copy_rows: an offset or stride is negative or past 32-bit indexing"};
    const Rows addend = add.value_or(src);
    const struct {
        std::uint32_t rows, n, src_offset, src_stride, dst_offset, dst_stride, add_offset, add_stride,
            has_add;
    } push{u32(rows),       u32(n),          u32(src.offset),    u32(src.stride),
           u32(dst.offset), u32(dst.stride), u32(addend.offset), u32(addend.stride),
           add ? 1u : 0u};
    // Without an addend the shader never reads binding 2; src stands in so that every binding is valid.
    return stream.dispatch("copy_rows", {src.span, dst.span, addend.span}, &push, sizeof(push),
                           grid_for(rows * n, 256));
}

Result<void> store_bf16(Stream& stream, Rows src, Rows dst, std::int64_t rows, std::int64_t n) {
    if (Result<void> ok = check_counts("store_bf16", {rows, n, rows * n}); !ok) return ok;
    if (dst.offset % 2 != 0 || (rows > 1 && dst.stride % 2 != 0) || n % 2 != 0)
        return Error{"store_bf16: dst's offset (" + std::to_string(dst.offset) + "), stride (" +
                     std::to_string(dst.stride) + ") and the row length (" + std::to_string(n) +
                     ") must be even, so that each row fills whole 32-bit words"};
    for (const Rows* r : {&src, &dst})
        if (r->offset < 0 || r->stride < 0 ||
            r->offset + (rows - 1) * r->stride + n > std::numeric_limits<std::uint32_t>::max())
            return Error{"store_bf16: an offset or stride is negative or past 32-bit indexing"};
    const std::int64_t src_reach = src.offset + (rows - 1) * src.stride + n;
    const std::int64_t dst_reach = dst.offset + (rows - 1) * dst.stride + n;
    if (Result<void> ok =
            check_spans("store_bf16", {{"src", src.span, src_reach}, {"dst", dst.span, dst_reach / 2}});
        !ok)
        return ok;
    const struct {
        std::uint32_t rows, pairs, src_offset, src_stride, dst_offset, dst_stride;
    } push{u32(rows), u32(n / 2), u32(src.offset), u32(src.stride), u32(dst.offset / 2), u32(dst.stride / 2)};
    return stream.dispatch("store_bf16", {src.span, dst.span}, &push, sizeof(push),
                           grid_for(rows * n / 2, 256));
}

Result<void> round_to_bf16(Stream& stream, BufferSpan x, std::int64_t count) {
    if (Result<void> ok = check_counts("round_to_bf16", {count}); !ok) return ok;
    if (Result<void> ok = check_spans("round_to_bf16", {{"x", x, count}}); !ok) return ok;
    const std::uint32_t push = u32(count);
    return stream.dispatch("round_bf16", {x}, &push, sizeof(push), grid_for(count, 256));
}

Result<void> qat(Stream& stream, BufferSpan x, std::int64_t rows, std::int64_t row_stride, std::int64_t count,
                 std::int64_t block, QatFormat format) {
    if (Result<void> ok = check_counts("qat", {rows, row_stride, count, block, rows * row_stride}); !ok)
        return ok;
    if (count > row_stride)
        return Error{"qat: " + std::to_string(count) + " values per row do not fit a row stride of " +
                     std::to_string(row_stride)};
    if (Result<void> ok = check_spans("qat", {{"x", x, (rows - 1) * row_stride + count}}); !ok) return ok;
    const struct {
        std::uint32_t rows, row_stride, count, block, fp4;
    } push{u32(rows), u32(row_stride), u32(count), u32(block), format == QatFormat::Fp4E2M1 ? 1u : 0u};
    return stream.dispatch("qat", {x}, &push, sizeof(push),
                           grid_for(rows * ((count + block - 1) / block), 64));
}

Result<void> scale(Stream& stream, BufferSpan x, std::int64_t count, float factor) {
    if (Result<void> ok = check_counts("scale", {count}); !ok) return ok;
    if (Result<void> ok = check_spans("scale", {{"x", x, count}}); !ok) return ok;
    const struct {
        std::uint32_t count;
        float factor;
    } push{u32(count), factor};
    return stream.dispatch("scale", {x}, &push, sizeof(push), grid_for(count, 256));
}

Result<void> swiglu(Stream& stream, BufferSpan gate, BufferSpan up, std::optional<BufferSpan> row_scale,
                    BufferSpan y, std::int64_t rows, std::int64_t n, float limit) {
    if (Result<void> ok = check_counts("swiglu", {rows, n, rows * n}); !ok) return ok;
    if (Result<void> ok =
            check_spans("swiglu", {{"gate", gate, rows * n}, {"up", up, rows * n}, {"y", y, rows * n}});
        !ok)
        return ok;
    if (row_scale)
        if (Result<void> ok = check_spans("swiglu", {{"row_scale", *row_scale, rows}}); !ok) return ok;
    const struct {
        std::uint32_t rows, n, has_row_scale;
        float limit;
    } push{u32(rows), u32(n), row_scale ? 1u : 0u, limit};
    return stream.dispatch("swiglu", {gate, up, row_scale.value_or(gate), y}, &push, sizeof(push),
                           grid_for(rows * n, 256));
}

Result<void> sqrt_softplus(Stream& stream, BufferSpan logits, BufferSpan scores, std::int64_t count) {
    if (Result<void> ok = check_counts("sqrt_softplus", {count}); !ok) return ok;
    if (Result<void> ok =
            check_spans("sqrt_softplus", {{"logits", logits, count}, {"scores", scores, count}});
        !ok)
        return ok;
    const std::uint32_t push = u32(count);
    return stream.dispatch("sqrt_softplus", {logits, scores}, &push, sizeof(push), grid_for(count, 256));
}

Result<void> top_k(Stream& stream, BufferSpan values, std::int64_t rows, std::int64_t n, std::int64_t k,
                   cpu::TopKOrder order, BufferSpan indices, std::optional<BufferSpan> counts) {
    constexpr std::int64_t kMaxSorted = 1024; // MAX_SORTED in top_k.comp
    if (Result<void> ok = check_counts("top_k", {rows, n, k, rows * n, rows * k}); !ok) return ok;
    if (k > n && !counts)
        return Error{"top_k: k = " + std::to_string(k) + " is more than the " + std::to_string(n) +
                     " values"};
    if (order == cpu::TopKOrder::ByValue && std::min(k, n) > kMaxSorted)
        return Error{"top_k: best-first order takes k up to 1024, not " + std::to_string(k) +
                     "; ask for index order instead"};
    if (Result<void> ok =
            check_spans("top_k", {{"values", values, rows * n}, {"indices", indices, rows * k}});
        !ok)
        return ok;
    if (counts)
        if (Result<void> ok = check_spans("top_k", {{"counts", *counts, rows}}); !ok) return ok;
    const struct {
        std::uint32_t rows, n, k, by_value, has_counts;
    } push{u32(rows), u32(n), u32(k), order == cpu::TopKOrder::ByValue ? 1u : 0u, counts ? 1u : 0u};
    // Without counts the shader never reads binding 2; the values stand in so that every binding is valid.
    return stream.dispatch("top_k", {values, indices, counts.value_or(values)}, &push, sizeof(push),
                           grid(static_cast<std::uint64_t>(rows)));
}

Result<void> moe_group(Stream& stream, BufferSpan chosen, std::int64_t rows, std::int64_t active,
                       std::int64_t experts, BufferSpan offsets, BufferSpan tokens, BufferSpan slots) {
    constexpr std::int64_t kMaxExperts = 2048; // MAX_EXPERTS in moe_group.comp
    if (Result<void> ok = check_counts("moe_group", {rows, active, experts, rows * active}); !ok) return ok;
    if (experts > kMaxExperts)
        return Error{"moe_group: " + std::to_string(experts) + " experts; at most 2048 in one call"};
    if (Result<void> ok = check_spans("moe_group", {{"chosen", chosen, rows * active},
                                                    {"offsets", offsets, experts + 1},
                                                    {"tokens", tokens, rows * active},
                                                    {"slots", slots, rows * active}});
        !ok)
        return ok;
    const struct { std::uint32_t rows, active, experts; } push{u32(rows), u32(active), u32(experts)};
    return stream.dispatch("moe_group", {chosen, offsets, tokens, slots}, &push, sizeof(push), {1, 1, 1});
}

Result<void> gather_rows(Stream& stream, BufferSpan src, std::int64_t src_rows, BufferSpan rows,
                         std::int64_t count, std::int64_t dim, BufferSpan dst) {
    if (Result<void> ok = check_counts("gather_rows", {src_rows, count, dim, src_rows * dim, count * dim});
        !ok)
        return ok;
    if (Result<void> ok = check_spans(
            "gather_rows", {{"src", src, src_rows * dim}, {"rows", rows, count}, {"dst", dst, count * dim}});
        !ok)
        return ok;
    const struct { std::uint32_t count, dim, bound; } push{u32(count), u32(dim), u32(src_rows)};
    return stream.dispatch("gather_rows", {src, rows, dst}, &push, sizeof(push), grid_for(count * dim, 256));
}

Result<void> scatter_add_rows(Stream& stream, BufferSpan src, BufferSpan rows, std::int64_t count,
                              std::int64_t dim, BufferSpan dst, std::int64_t dst_rows) {
    if (Result<void> ok =
            check_counts("scatter_add_rows", {dst_rows, count, dim, dst_rows * dim, count * dim});
        !ok)
        return ok;
    if (Result<void> ok =
            check_spans("scatter_add_rows",
                        {{"src", src, count * dim}, {"rows", rows, count}, {"dst", dst, dst_rows * dim}});
        !ok)
        return ok;
    const struct { std::uint32_t count, dim, bound; } push{u32(count), u32(dim), u32(dst_rows)};
    return stream.dispatch("scatter_add_rows", {src, rows, dst}, &push, sizeof(push),
                           grid_for(count * dim, 256));
}

Result<void> moe_route(Stream& stream, BufferSpan scores, std::optional<BufferSpan> bias, std::int64_t rows,
                       std::int64_t experts, std::int64_t active, float route_scale, BufferSpan chosen,
                       BufferSpan weights) {
    return route(stream, scores, bias, rows, experts, active, route_scale, chosen, weights, false);
}

Result<void> moe_route_weights(Stream& stream, BufferSpan scores, BufferSpan chosen, std::int64_t rows,
                               std::int64_t experts, std::int64_t active, float route_scale,
                               BufferSpan weights) {
    return route(stream, scores, std::nullopt, rows, experts, active, route_scale, chosen, weights, true);
}

Result<void> compressor_pool(Stream& stream, BufferSpan kv, BufferSpan score, std::int64_t count,
                             std::int64_t ratio, std::int64_t width, bool overlap, BufferSpan pooled) {
    const std::int64_t state = (overlap ? 4 : 1) * ratio * width; // slots x lanes x width
    if (Result<void> ok = check_counts("compressor_pool", {count, ratio, width, count * state}); !ok)
        return ok;
    if (Result<void> ok = check_spans(
            "compressor_pool",
            {{"kv", kv, count * state}, {"score", score, count * state}, {"pooled", pooled, count * width}});
        !ok)
        return ok;
    const struct {
        std::uint32_t count, ratio, width, overlap;
    } push{u32(count), u32(ratio), u32(width), overlap ? 1u : 0u};
    return stream.dispatch("compressor_pool", {kv, score, pooled}, &push, sizeof(push),
                           grid_for(count * width, 64));
}

Result<void> indexer_scores(Stream& stream, BufferSpan queries, BufferSpan weights, BufferSpan keys,
                            std::int64_t rows, std::int64_t heads, std::int64_t count, std::int64_t dim,
                            BufferSpan scores, Storage keys_storage) {
    if (Result<void> ok = check_counts(
            "indexer_scores", {rows, heads, count, dim, rows * heads * dim, count * dim, rows * count});
        !ok)
        return ok;
    if (Result<void> ok = check_spans("indexer_scores", {{"queries", queries, rows * heads * dim},
                                                         {"weights", weights, rows * heads},
                                                         {"scores", scores, rows * count}});
        !ok)
        return ok;
    if (Result<void> ok =
            detail::check_span("indexer_scores", "keys", keys, storage_bytes(keys_storage, count * dim));
        !ok)
        return ok;
    const struct { std::uint32_t rows, heads, count, dim; } push{u32(rows), u32(heads), u32(count), u32(dim)};
    constexpr std::int64_t kKeys = 64; // KEYS in indexer_scores.comp: keys per workgroup
    if (rows > 65535 || (count + kKeys - 1) / kKeys > 65535)
        return Error{"indexer_scores: at most 65535 query rows and 4194240 keys in one call; split them"};
    return stream.dispatch(
        keys_storage == Storage::BF16 ? "indexer_scores_bf16" : "indexer_scores",
        {queries, weights, keys, scores}, &push, sizeof(push),
        {static_cast<std::uint32_t>((count + kKeys - 1) / kKeys), static_cast<std::uint32_t>(rows), 1});
}

Result<void> hc_coefficients(Stream& stream, BufferSpan projections, BufferSpan streams, std::int64_t rows,
                             std::int64_t hc, std::int64_t dim, float norm_eps, BufferSpan scale,
                             BufferSpan base, float hc_eps, BufferSpan pre, std::optional<BufferSpan> post,
                             std::optional<BufferSpan> comb) {
    constexpr std::int64_t kWorkgroup =
        256; // WG_SIZE in hc_coefficients.comp: one invocation per coefficient
    if (Result<void> ok = check_counts("hc_coefficients", {rows, hc, dim, rows * hc * dim}); !ok) return ok;
    if (post.has_value() != comb.has_value())
        return Error{"hc_coefficients: post and comb go together (both for a layer, neither for a head)"};
    const std::int64_t count = (post ? 2 + hc : 1) * hc;
    if (count > kWorkgroup)
        return Error{"hc_coefficients: " + std::to_string(count) + " coefficients per token; at most 256"};
    if (Result<void> ok = check_spans("hc_coefficients", {{"projections", projections, rows * count},
                                                          {"streams", streams, rows * hc * dim},
                                                          {"scale", scale, post ? 3 : 1},
                                                          {"base", base, count},
                                                          {"pre", pre, rows * hc}});
        !ok)
        return ok;
    if (post)
        if (Result<void> ok =
                check_spans("hc_coefficients", {{"post", *post, rows * hc}, {"comb", *comb, rows * hc * hc}});
            !ok)
            return ok;
    const struct {
        std::uint32_t rows, hc, dim, with_post;
        float norm_eps, hc_eps;
    } push{u32(rows), u32(hc), u32(dim), post ? 1u : 0u, norm_eps, hc_eps};
    // A head writes pre only; pre stands in for the other two bindings.
    const std::string shader =
        stream.context().features().subgroup_arithmetic ? "hc_coefficients_sg" : "hc_coefficients";
    return stream.dispatch(shader,
                           {projections, streams, scale, base, pre, post.value_or(pre), comb.value_or(pre)},
                           &push, sizeof(push), grid(static_cast<std::uint64_t>(rows)));
}

Result<void> hc_pre_mix(Stream& stream, BufferSpan pre, BufferSpan streams, std::int64_t rows,
                        std::int64_t hc, std::int64_t dim, BufferSpan u) {
    if (Result<void> ok = check_counts("hc_pre_mix", {rows, hc, dim, rows * hc * dim}); !ok) return ok;
    if (Result<void> ok = check_spans(
            "hc_pre_mix",
            {{"pre", pre, rows * hc}, {"streams", streams, rows * hc * dim}, {"u", u, rows * dim}});
        !ok)
        return ok;
    const struct { std::uint32_t rows, hc, dim; } push{u32(rows), u32(hc), u32(dim)};
    // The pre mix never reads bindings 2 and 3; the streams stand in.
    return stream.dispatch("hc_pre_mix", {streams, pre, streams, streams, u}, &push, sizeof(push),
                           grid_for(rows * dim, 256));
}

Result<void> hc_post_mix(Stream& stream, BufferSpan post, BufferSpan comb, BufferSpan y, BufferSpan streams,
                         std::int64_t rows, std::int64_t hc, std::int64_t dim, BufferSpan out) {
    if (Result<void> ok = check_counts("hc_post_mix", {rows, hc, dim, rows * hc * dim}); !ok) return ok;
    if (Result<void> ok = check_spans("hc_post_mix", {{"post", post, rows * hc},
                                                      {"comb", comb, rows * hc * hc},
                                                      {"y", y, rows * dim},
                                                      {"streams", streams, rows * hc * dim},
                                                      {"out", out, rows * hc * dim}});
        !ok)
        return ok;
    const struct { std::uint32_t rows, hc, dim; } push{u32(rows), u32(hc), u32(dim)};
    return stream.dispatch("hc_post_mix", {streams, post, comb, y, out}, &push, sizeof(push),
                           grid_for(rows * hc * dim, 256));
}

} // namespace lectern::kernels::vulkan
