#include "inference/model/v4/weights.h"

#include "kernels/cpu/numerics.h"
#include "kernels/cpu/quant/dequantize.h"

#include <cstring>

namespace lectern::model::v4 {
namespace {

using kernels::DType;
using kernels::cpu::WeightFormat;

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::int64_t blocks(std::int64_t extent, std::int64_t block) {
    return (extent + block - 1) / block;
}

// `dtypes` and the GGUF types the CPU kernels read in place (F16 and ggml's block types).
std::vector<DType> with_gguf_types(std::initializer_list<DType> dtypes) {
    std::vector<DType> all(dtypes);
    for (int i = 0; i < static_cast<int>(DType::Count); ++i) {
        const auto type = static_cast<DType>(i);
        if (type != DType::F32 && type != DType::BF16 && kernels::quant::is_weight_type(type))
            all.push_back(type);
    }
    return all;
}

// A matrix in the type it is stored in: F32 and BF16 as themselves, GGUF types as their blocks.
WeightMatrix in_place(const formats::TensorView& view, std::int64_t out, std::int64_t in) {
    WeightMatrix matrix{WeightFormat::GGUF_BLOCK, view.data.data(), nullptr, out, in, view.dtype};
    if (view.dtype == DType::F32) matrix.format = WeightFormat::F32;
    if (view.dtype == DType::BF16) matrix.format = WeightFormat::BF16;
    return matrix;
}

// Finds tensors and checks them; the first problem is kept as the error.
class Binder {
public:
    explicit Binder(TensorSource& source) : source_(source) {}

    const std::string& error() const { return error_; }
    bool failed() const { return !error_.empty(); }

    const formats::TensorView* find(const std::string& name, const std::vector<DType>& dtypes,
                                    const std::vector<std::int64_t>& shape) {
        if (failed()) return nullptr;
        const formats::TensorView* view = source_.find(name);
        if (!source_.problem().empty()) {
            fail(source_.problem());
            return nullptr;
        }
        if (!view) {
            fail(source_.description() + " has no tensor " + source_.label(name) + " (expected " +
                 shape_text(shape) + "); is it a complete DeepSeek-V4 checkpoint matching its config?");
            return nullptr;
        }
        bool dtype_ok = false;
        std::string allowed;
        for (std::size_t i = 0; i < dtypes.size(); ++i) {
            dtype_ok = dtype_ok || view->dtype == dtypes[i];
            allowed += (i == 0                   ? ""
                        : i + 1 == dtypes.size() ? " or "
                                                 : ", ") +
                       std::string(kernels::dtype_info(dtypes[i]).name);
        }
        if (!dtype_ok) {
            fail("tensor " + source_.label(name) + " in " + view->file + " is " + view->describe() +
                 "; expected " + allowed);
            return nullptr;
        }
        if (view->shape != shape) {
            fail("tensor " + source_.label(name) + " in " + view->file + " has shape " +
                 shape_text(view->shape) + "; the config implies " + shape_text(shape));
            return nullptr;
        }
        return view;
    }

    // A dense linear stored as F8_E4M3 with E8M0 128x128 block scales, as BF16 / F32, or (GGUF) as F16
    // or a block type.
    WeightMatrix dense(const std::string& prefix, std::int64_t out, std::int64_t in) {
        const auto* view =
            find(prefix + ".weight", with_gguf_types({DType::F8_E4M3, DType::BF16, DType::F32}), {out, in});
        if (!view) return {};
        if (view->dtype != DType::F8_E4M3) return in_place(*view, out, in);
        const auto* scale = find(prefix + ".scale", {DType::F8_E8M0}, {blocks(out, 128), blocks(in, 128)});
        if (!scale) return {};
        return {WeightFormat::F8_E4M3_BLOCK128, view->data.data(),
                reinterpret_cast<const std::uint8_t*>(scale->data.data()), out, in};
    }

    // A routed expert's matrix: packed FP4 (I8 [out, in/2]) with E8M0 1x32 scales, or as a dense linear.
    WeightMatrix expert(const std::string& prefix, std::int64_t out, std::int64_t in) {
        if (failed()) return {};
        const formats::TensorView* view = source_.find(prefix + ".weight");
        if (view && view->dtype != DType::I8) return dense(prefix, out, in);
        WeightMatrix matrix;
        const auto* weight = find(prefix + ".weight", {DType::I8}, {out, in / 2});
        const auto* scale = find(prefix + ".scale", {DType::F8_E8M0}, {out, in / 32});
        if (!weight || !scale) return matrix;
        return {WeightFormat::FP4_E2M1_BLOCK32, weight->data.data(),
                reinterpret_cast<const std::uint8_t*>(scale->data.data()), out, in};
    }

    // A BF16 matrix (or F32, F16 or a block type where a GGUF file stored one).
    WeightMatrix bf16_matrix(const std::string& name, std::int64_t out, std::int64_t in) {
        const auto* view = find(name, with_gguf_types({DType::BF16, DType::F32}), {out, in});
        if (!view) return {};
        return in_place(*view, out, in);
    }

    std::vector<float> bf16_vector(const std::string& name, std::int64_t n) {
        const auto* view = find(name, with_gguf_types({DType::BF16, DType::F32}), {n});
        if (!view) return {};
        return to_floats(*view);
    }

    std::vector<float> f32(const std::string& name, const std::vector<std::int64_t>& shape) {
        const auto* view = find(name, with_gguf_types({DType::F32, DType::BF16}), shape);
        if (!view) return {};
        return to_floats(*view);
    }

    std::string label(const std::string& name) const { return source_.label(name); }

    void fail(std::string message) {
        if (error_.empty()) error_ = std::move(message);
    }

private:
    // The exact values, decoded row by row (a GGUF tensor's rows are whole blocks).
    static std::vector<float> to_floats(const formats::TensorView& view) {
        std::vector<float> values(static_cast<std::size_t>(view.elements()));
        if (values.empty()) return values;
        const std::int64_t row = view.shape.empty() ? 1 : view.shape.back();
        const std::int64_t row_bytes = *kernels::dtype_bytes(view.dtype, row);
        for (std::int64_t r = 0; r < view.elements() / row; ++r)
            kernels::quant::dequantize_row(view.dtype, view.data.data() + r * row_bytes,
                                           values.data() + r * row, row);
        return values;
    }

    TensorSource& source_;
    std::string error_;
};

HyperConnection bind_hc(Binder& b, const std::string& prefix, std::int64_t rows, std::int64_t width,
                        std::int64_t scales) {
    HyperConnection hc;
    hc.fn = b.f32(prefix + "_fn", {rows, width});
    hc.base = b.f32(prefix + "_base", {rows});
    hc.scale = b.f32(prefix + "_scale", {scales});
    return hc;
}

Compressor bind_compressor(Binder& b, const std::string& prefix, const Config& c, std::int64_t ratio,
                           std::int64_t width) {
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    Compressor compressor;
    compressor.wkv = b.bf16_matrix(prefix + ".wkv.weight", lanes * width, c.dim);
    compressor.wgate = b.bf16_matrix(prefix + ".wgate.weight", lanes * width, c.dim);
    compressor.ape = b.f32(prefix + ".ape", {ratio, lanes * width});
    compressor.norm = b.bf16_vector(prefix + ".norm.weight", width);
    return compressor;
}

void bind_block(Binder& b, const std::string& p, const Config& c, std::int64_t ratio, bool hash_routed,
                Layer& layer) {
    const std::int64_t hc_rows = (2 + c.hc_mult) * c.hc_mult;
    layer.ratio = ratio;
    layer.attn_norm = b.bf16_vector(p + "attn_norm.weight", c.dim);
    layer.ffn_norm = b.bf16_vector(p + "ffn_norm.weight", c.dim);
    layer.hc_attn = bind_hc(b, p + "hc_attn", hc_rows, c.hc_mult * c.dim, 3);
    layer.hc_ffn = bind_hc(b, p + "hc_ffn", hc_rows, c.hc_mult * c.dim, 3);

    layer.wq_a = b.dense(p + "attn.wq_a", c.q_lora_rank, c.dim);
    layer.q_norm = b.bf16_vector(p + "attn.q_norm.weight", c.q_lora_rank);
    layer.wq_b = b.dense(p + "attn.wq_b", c.n_heads * c.head_dim, c.q_lora_rank);
    layer.wkv = b.dense(p + "attn.wkv", c.head_dim, c.dim);
    layer.kv_norm = b.bf16_vector(p + "attn.kv_norm.weight", c.head_dim);
    layer.wo_a = b.dense(p + "attn.wo_a", c.o_groups * c.o_lora_rank, c.n_heads / c.o_groups * c.head_dim);
    layer.wo_b = b.dense(p + "attn.wo_b", c.dim, c.o_groups * c.o_lora_rank);
    layer.attn_sink = b.f32(p + "attn.attn_sink", {c.n_heads});
    if (ratio != 0) layer.compressor = bind_compressor(b, p + "attn.compressor", c, ratio, c.head_dim);
    if (ratio == 4) {
        layer.indexer_wq_b =
            b.dense(p + "attn.indexer.wq_b", c.index_n_heads * c.index_head_dim, c.q_lora_rank);
        layer.indexer_weights_proj =
            b.bf16_matrix(p + "attn.indexer.weights_proj.weight", c.index_n_heads, c.dim);
        layer.indexer_compressor =
            bind_compressor(b, p + "attn.indexer.compressor", c, ratio, c.index_head_dim);
    }

    layer.gate = b.bf16_matrix(p + "ffn.gate.weight", c.n_routed_experts, c.dim);
    if (hash_routed) {
        const auto* table =
            b.find(p + "ffn.gate.tid2eid", {kernels::DType::I64}, {c.vocab_size, c.n_activated_experts});
        if (table) {
            layer.tid2eid.resize(static_cast<std::size_t>(table->elements()));
            std::memcpy(layer.tid2eid.data(), table->data.data(), table->data.size());
            for (const std::int64_t expert : layer.tid2eid) {
                if (expert < 0 || expert >= c.n_routed_experts) {
                    b.fail("tensor " + b.label(p + "ffn.gate.tid2eid") + " in " + table->file +
                           " names expert " + std::to_string(expert) + ", outside 0.." +
                           std::to_string(c.n_routed_experts - 1));
                    break;
                }
            }
        }
    } else {
        layer.gate_bias = b.f32(p + "ffn.gate.bias", {c.n_routed_experts});
    }
    layer.experts.resize(static_cast<std::size_t>(c.n_routed_experts));
    for (std::int64_t e = 0; e < c.n_routed_experts && !b.failed(); ++e) {
        const std::string ep = p + "ffn.experts." + std::to_string(e);
        Expert& expert = layer.experts[static_cast<std::size_t>(e)];
        expert.w1 = b.expert(ep + ".w1", c.moe_inter_dim, c.dim);
        expert.w3 = b.expert(ep + ".w3", c.moe_inter_dim, c.dim);
        expert.w2 = b.expert(ep + ".w2", c.dim, c.moe_inter_dim);
    }
    layer.shared_expert.w1 = b.dense(p + "ffn.shared_experts.w1", c.moe_inter_dim, c.dim);
    layer.shared_expert.w3 = b.dense(p + "ffn.shared_experts.w3", c.moe_inter_dim, c.dim);
    layer.shared_expert.w2 = b.dense(p + "ffn.shared_experts.w2", c.dim, c.moe_inter_dim);
}

std::uint64_t matrix_bytes(const WeightMatrix& m) {
    const std::int64_t elements = m.out_features * m.in_features;
    switch (m.format) {
    case WeightFormat::F32:
        return static_cast<std::uint64_t>(elements) * 4;
    case WeightFormat::BF16:
        return static_cast<std::uint64_t>(elements) * 2;
    case WeightFormat::F8_E4M3_BLOCK128:
        return static_cast<std::uint64_t>(elements +
                                          blocks(m.out_features, 128) * blocks(m.in_features, 128));
    case WeightFormat::FP4_E2M1_BLOCK32:
        return static_cast<std::uint64_t>(elements / 2 + elements / 32);
    case WeightFormat::GGUF_BLOCK:
        return static_cast<std::uint64_t>(kernels::dtype_bytes(m.gguf_type, elements).value_or(0));
    }
    return 0;
}

std::string matrix_form(const WeightMatrix& m) {
    switch (m.format) {
    case WeightFormat::F32:
        return "F32";
    case WeightFormat::BF16:
        return "BF16";
    case WeightFormat::F8_E4M3_BLOCK128:
        return "F8_E4M3";
    case WeightFormat::FP4_E2M1_BLOCK32:
        return "FP4_E2M1";
    case WeightFormat::GGUF_BLOCK:
        return std::string(kernels::dtype_info(m.gguf_type).name);
    }
    return "?";
}

class ByteCount {
public:
    void add(const WeightMatrix& m) {
        if (m.data) bytes_[matrix_form(m)] += matrix_bytes(m);
    }
    template <typename T>
    void add(const std::vector<T>& values) {
        bytes_["fp32 vectors"] += values.size() * sizeof(T);
    }
    void add(const HyperConnection& hc) {
        add(hc.fn);
        add(hc.base);
        add(hc.scale);
    }
    void add(const Compressor& compressor) {
        add(compressor.wkv);
        add(compressor.wgate);
        add(compressor.ape);
        add(compressor.norm);
    }
    void add(const Expert& expert) {
        add(expert.w1);
        add(expert.w2);
        add(expert.w3);
    }
    void add(const Layer& layer) {
        for (const auto* vector : {&layer.attn_norm, &layer.ffn_norm, &layer.q_norm, &layer.kv_norm,
                                   &layer.attn_sink, &layer.gate_bias})
            add(*vector);
        add(layer.tid2eid);
        add(layer.hc_attn);
        add(layer.hc_ffn);
        for (const auto* matrix : {&layer.wq_a, &layer.wq_b, &layer.wkv, &layer.wo_a, &layer.wo_b,
                                   &layer.indexer_wq_b, &layer.indexer_weights_proj, &layer.gate})
            add(*matrix);
        add(layer.compressor);
        add(layer.indexer_compressor);
        for (const Expert& expert : layer.experts) add(expert);
        add(layer.shared_expert);
    }
    std::map<std::string, std::uint64_t> take() { return std::move(bytes_); }

private:
    std::map<std::string, std::uint64_t> bytes_;
};

} // namespace

std::map<std::string, std::uint64_t> weight_bytes(const Weights& w) {
    ByteCount count;
    count.add(w.embed);
    count.add(w.head);
    count.add(w.norm);
    count.add(w.hc_head);
    for (const Layer& layer : w.layers) count.add(layer);
    for (const Mtp& mtp : w.mtp) {
        count.add(mtp.block);
        count.add(mtp.e_proj);
        count.add(mtp.h_proj);
        for (const auto* vector : {&mtp.enorm, &mtp.hnorm, &mtp.norm}) count.add(*vector);
        count.add(mtp.hc_head);
    }
    return count.take();
}

Result<Weights> bind_weights(const Config& c, TensorSource& source,
                             const std::function<bool(double)>& progress) {
    if (c.o_lora_rank % 128 != 0)
        return Error{
            "config.json: `o_lora_rank` must be a multiple of 128 (the FP8 scale block of wo_a's groups)"};
    Binder b(source);
    Weights w;
    w.embed = b.bf16_matrix("embed.weight", c.vocab_size, c.dim);
    w.head = b.bf16_matrix("head.weight", c.vocab_size, c.dim);
    w.norm = b.bf16_vector("norm.weight", c.dim);
    w.hc_head = bind_hc(b, "hc_head", c.hc_mult, c.hc_mult * c.dim, 1);
    const std::int64_t total = c.n_layers + c.n_mtp_layers;
    w.layers.resize(static_cast<std::size_t>(c.n_layers));
    for (std::int64_t i = 0; i < c.n_layers && !b.failed(); ++i) {
        bind_block(b, "layers." + std::to_string(i) + ".", c, c.ratio(i), i < c.n_hash_layers,
                   w.layers[static_cast<std::size_t>(i)]);
        if (progress && !progress(static_cast<double>(i + 1) / static_cast<double>(total)))
            return Error{"binding the weights was cancelled"};
    }
    for (std::int64_t i = 0; i < c.n_mtp_layers && !b.failed(); ++i) {
        const std::string p = "mtp." + std::to_string(i) + ".";
        Mtp& mtp = w.mtp.emplace_back();
        bind_block(b, p, c, c.ratio(c.n_layers + i), false, mtp.block);
        mtp.e_proj = b.dense(p + "e_proj", c.dim, c.dim);
        mtp.h_proj = b.dense(p + "h_proj", c.dim, c.dim);
        mtp.enorm = b.bf16_vector(p + "enorm.weight", c.dim);
        mtp.hnorm = b.bf16_vector(p + "hnorm.weight", c.dim);
        mtp.norm = b.bf16_vector(p + "norm.weight", c.dim);
        mtp.hc_head = bind_hc(b, p + "hc_head", c.hc_mult, c.hc_mult * c.dim, 1);
        if (progress && !progress(1.0)) return Error{"binding the weights was cancelled"};
    }
    if (b.failed()) return Error{b.error()};
    return w;
}

WeightMatrix row_slice(const WeightMatrix& w, std::int64_t first, std::int64_t count) {
    WeightMatrix slice = w;
    slice.out_features = count;
    switch (w.format) {
    case WeightFormat::F32:
        slice.data = static_cast<const float*>(w.data) + first * w.in_features;
        break;
    case WeightFormat::BF16:
        slice.data = static_cast<const std::uint16_t*>(w.data) + first * w.in_features;
        break;
    case WeightFormat::F8_E4M3_BLOCK128:
        slice.data = static_cast<const std::uint8_t*>(w.data) + first * w.in_features;
        slice.scales = w.scales + (first / 128) * ((w.in_features + 127) / 128);
        break;
    case WeightFormat::FP4_E2M1_BLOCK32:
        slice.data = static_cast<const std::uint8_t*>(w.data) + first * w.in_features / 2;
        slice.scales = w.scales + first * (w.in_features / 32);
        break;
    case WeightFormat::GGUF_BLOCK:
        slice.data = static_cast<const std::uint8_t*>(w.data) +
                     first * *kernels::dtype_bytes(w.gguf_type, w.in_features);
        break;
    }
    return slice;
}

} // namespace lectern::model::v4
