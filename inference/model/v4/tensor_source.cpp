#include "inference/model/v4/tensor_source.h"

#include "inference/model/v4/gguf_layout.h"
#include "kernels/cpu/numerics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <vector>

namespace lectern::model::v4 {
namespace {

using kernels::DType;
namespace k = kernels::cpu;

class SafetensorsSource final : public TensorSource {
public:
    SafetensorsSource(formats::SafetensorsCheckpoint checkpoint, std::string folder)
        : checkpoint_(std::move(checkpoint)), folder_(std::move(folder)) {}

    const formats::TensorView* find(const std::string& name) override { return checkpoint_.find(name); }
    std::string label(const std::string& name) const override { return name; }
    std::string description() const override { return "the checkpoint " + folder_; }
    const std::string& problem() const override { return problem_; }
    std::uint64_t converted_bytes() const override { return 0; }

private:
    formats::SafetensorsCheckpoint checkpoint_;
    std::string folder_;
    std::string problem_; // safetensors tensors are never converted
};

class GgufSource final : public TensorSource {
public:
    GgufSource(formats::GgufFile file, const Config& config) : file_(std::move(file)), config_(config) {
        const formats::GgufValue* marked = file_.find(gguf::kFp8LinearsKey);
        fp8_linears_ = marked && marked->as_bool().value_or(false);
    }

    const formats::TensorView* find(const std::string& name) override {
        if (const auto made = made_.find(name); made != made_.end()) return &made->second;
        if (name.ends_with(".scale")) {
            // Scales exist only beside a converted FP8 or FP4 matrix: convert the matrix first.
            const std::string weight = name.substr(0, name.size() - 6) + ".weight";
            if (made_.count(weight) == 0) find(weight);
            const auto made = made_.find(name);
            return made == made_.end() ? nullptr : &made->second;
        }
        if (auto slice = gguf::expert_slice(name, config_.n_layers)) return expert(name, *slice);
        const auto gguf_name = gguf::tensor_name(name, config_.n_layers);
        if (!gguf_name) return nullptr;
        const formats::TensorView* view = file_.find_tensor(*gguf_name);
        if (!view) return nullptr;
        if (fp8_linears_ && gguf::is_fp8_linear(name)) return restore_fp8(name, *view);
        return convert(name, *view, view->data, view->shape);
    }

    std::string label(const std::string& name) const override {
        if (auto slice = gguf::expert_slice(name, config_.n_layers))
            return "expert " + std::to_string(slice->expert) + " of " + slice->merged_name + " (" + name +
                   ")";
        if (auto gguf_name = gguf::tensor_name(name, config_.n_layers)) return *gguf_name + " (" + name + ")";
        return name;
    }
    std::string description() const override { return "the GGUF file " + file_.path(); }
    const std::string& problem() const override { return problem_; }
    std::uint64_t converted_bytes() const override {
        std::uint64_t bytes = 0;
        for (const std::vector<std::byte>& owned : owned_) bytes += owned.size();
        return bytes;
    }

private:
    const formats::TensorView* keep(const std::string& name, const formats::TensorView& from, DType dtype,
                                    std::vector<std::int64_t> shape, std::vector<std::byte> bytes) {
        owned_.push_back(std::move(bytes));
        formats::TensorView view;
        view.name = from.name;
        view.file = from.file;
        view.dtype = dtype;
        view.shape = std::move(shape);
        view.data = owned_.back();
        return &made_.insert_or_assign(name, std::move(view)).first->second;
    }

    const formats::TensorView* fail(const std::string& message) {
        if (problem_.empty()) problem_ = message;
        return nullptr;
    }

    // A tensor (or an expert's part of one) in the form the graph reads: in place but for the conversions
    // above. A type the binder does not take stays as it is, and the binder names it.
    const formats::TensorView* convert(const std::string& name, const formats::TensorView& view,
                                       std::span<const std::byte> data, std::vector<std::int64_t> shape) {
        if (view.dtype == DType::MXFP4 && shape.size() == 2) return mxfp4_to_fp4(name, view, data, shape);
        if (view.dtype == DType::I32 && name.ends_with("tid2eid")) {
            std::int64_t elements = 1;
            for (const std::int64_t extent : shape) elements *= extent;
            const auto count = static_cast<std::size_t>(elements);
            std::vector<std::byte> bytes(count * 8);
            for (std::size_t i = 0; i < count; ++i) {
                std::int32_t value = 0;
                std::memcpy(&value, data.data() + 4 * i, 4);
                const std::int64_t wide = value;
                std::memcpy(bytes.data() + 8 * i, &wide, 8);
            }
            return keep(name, view, DType::I64, std::move(shape), std::move(bytes));
        }
        formats::TensorView same = view;
        same.data = data;
        same.shape = std::move(shape);
        return &made_.insert_or_assign(name, std::move(same)).first->second;
    }

    // ggml's MXFP4 block: an E8M0 byte, then 16 bytes holding element j in the low nibble of byte j and
    // element j + 16 in the high one; the checkpoint's packed FP4 holds elements 2i, 2i + 1 in byte i
    // (low nibble first) with the scales apart. Same e2m1 codes, same scale bytes.
    const formats::TensorView* mxfp4_to_fp4(const std::string& name, const formats::TensorView& view,
                                            std::span<const std::byte> data,
                                            const std::vector<std::int64_t>& shape) {
        const std::int64_t rows = shape[0], columns = shape[1], blocks = rows * columns / 32;
        std::vector<std::byte> packed(static_cast<std::size_t>(rows * columns / 2));
        std::vector<std::byte> scales(static_cast<std::size_t>(blocks));
        for (std::int64_t b = 0; b < blocks; ++b) {
            const auto* block = reinterpret_cast<const std::uint8_t*>(data.data()) + b * 17;
            scales[static_cast<std::size_t>(b)] = static_cast<std::byte>(block[0]);
            std::uint8_t nibbles[32];
            for (int j = 0; j < 16; ++j) {
                nibbles[j] = block[1 + j] & 0x0F;
                nibbles[j + 16] = block[1 + j] >> 4;
            }
            for (int i = 0; i < 16; ++i)
                packed[static_cast<std::size_t>(b * 16 + i)] =
                    static_cast<std::byte>(nibbles[2 * i] | (nibbles[2 * i + 1] << 4));
        }
        const std::string scale_name = name.substr(0, name.size() - 7) + ".scale";
        keep(scale_name, view, DType::F8_E8M0, {rows, columns / 32}, std::move(scales));
        return keep(name, view, DType::I8, {rows, columns / 2}, std::move(packed));
    }

    const formats::TensorView* expert(const std::string& name, const gguf::ExpertSlice& slice) {
        const formats::TensorView* merged = file_.find_tensor(slice.merged_name);
        if (!merged) return nullptr;
        const bool down = name.ends_with(".w2.weight");
        const std::vector<std::int64_t> expected = {config_.n_routed_experts,
                                                    down ? config_.dim : config_.moe_inter_dim,
                                                    down ? config_.moe_inter_dim : config_.dim};
        if (merged->shape != expected) {
            std::string shape, wanted;
            for (std::size_t i = 0; i < merged->shape.size(); ++i)
                shape += (i ? ", " : "") + std::to_string(merged->shape[i]);
            for (std::size_t i = 0; i < expected.size(); ++i)
                wanted += (i ? ", " : "") + std::to_string(expected[i]);
            return fail("tensor " + slice.merged_name + " in " + file_.path() + " has shape [" + shape +
                        "]; the config implies [" + wanted + "] (experts, rows, columns)");
        }
        const std::size_t part = merged->data.size() / static_cast<std::size_t>(merged->shape[0]);
        return convert(name, *merged,
                       merged->data.subspan(static_cast<std::size_t>(slice.expert) * part, part),
                       {merged->shape[1], merged->shape[2]});
    }

    // A BF16 matrix that was FP8 e4m3 with E8M0 128x128 scales, restored exactly: per block the smallest
    // power-of-two scale that brings its largest value within e4m3's 448 leaves every value an e4m3 code
    // (an e4m3 value times 2^k, k >= 0, is one as long as it fits), so this finds codes and scale whose
    // products are the stored values; anything else means the file was not written from FP8.
    const formats::TensorView* restore_fp8(const std::string& name, const formats::TensorView& view) {
        if (view.dtype != DType::BF16 || view.shape.size() != 2)
            return convert(name, view, view.data, view.shape);
        const std::int64_t rows = view.shape[0], columns = view.shape[1];
        const std::int64_t row_blocks = (rows + 127) / 128, column_blocks = (columns + 127) / 128;
        std::vector<std::byte> codes(static_cast<std::size_t>(rows * columns));
        std::vector<std::byte> scales(static_cast<std::size_t>(row_blocks * column_blocks));
        auto value = [&](std::int64_t r, std::int64_t c) {
            std::uint16_t bits = 0;
            std::memcpy(&bits, view.data.data() + 2 * (r * columns + c), 2);
            return k::bf16_to_f32(bits);
        };
        for (std::int64_t rb = 0; rb < row_blocks; ++rb) {
            for (std::int64_t cb = 0; cb < column_blocks; ++cb) {
                const std::int64_t r_end = std::min(rows, rb * 128 + 128),
                                   c_end = std::min(columns, cb * 128 + 128);
                float amax = 0.0f;
                for (std::int64_t r = rb * 128; r < r_end; ++r)
                    for (std::int64_t c = cb * 128; c < c_end; ++c)
                        amax = std::max(amax, std::fabs(value(r, c)));
                int exponent = amax > 0.0f ? static_cast<int>(std::ceil(std::log2(amax / 448.0f))) : 0;
                while (exponent > -127 && std::ldexp(448.0f, exponent - 1) >= amax) --exponent;
                while (std::ldexp(448.0f, exponent) < amax) ++exponent;
                if (exponent < -127 || exponent > 127)
                    return fail(
                        "tensor " + label(name) + " in " + file_.path() +
                        " has a value no FP8 block scale can reach; the file says its dense linears came "
                        "from FP8 (" +
                        std::string(gguf::kFp8LinearsKey) + ") but this one did not");
                scales[static_cast<std::size_t>(rb * column_blocks + cb)] =
                    static_cast<std::byte>(k::e8m0_from_exponent(exponent));
                for (std::int64_t r = rb * 128; r < r_end; ++r) {
                    for (std::int64_t c = cb * 128; c < c_end; ++c) {
                        const float v = value(r, c);
                        const std::uint8_t code = k::f32_to_e4m3(std::ldexp(v, -exponent));
                        if (std::ldexp(k::e4m3_to_f32(code), exponent) != v)
                            return fail("tensor " + label(name) + " in " + file_.path() + " holds " +
                                        std::to_string(v) +
                                        ", which is not an FP8 e4m3 value of its 128x128 "
                                        "block; the file says its dense linears came from FP8 (" +
                                        std::string(gguf::kFp8LinearsKey) + ") but this one did not");
                        codes[static_cast<std::size_t>(r * columns + c)] = static_cast<std::byte>(code);
                    }
                }
            }
        }
        const std::string scale_name = name.substr(0, name.size() - 7) + ".scale";
        keep(scale_name, view, DType::F8_E8M0, {row_blocks, column_blocks}, std::move(scales));
        return keep(name, view, DType::F8_E4M3, view.shape, std::move(codes));
    }

    formats::GgufFile file_;
    Config config_;
    bool fp8_linears_ = false;
    std::map<std::string, formats::TensorView> made_; // by official name; node-based, so views stay put
    std::deque<std::vector<std::byte>> owned_;
    std::string problem_;
};

} // namespace

std::unique_ptr<TensorSource> safetensors_source(formats::SafetensorsCheckpoint checkpoint,
                                                 std::string folder) {
    return std::make_unique<SafetensorsSource>(std::move(checkpoint), std::move(folder));
}

std::unique_ptr<TensorSource> gguf_source(formats::GgufFile file, const Config& config) {
    return std::make_unique<GgufSource>(std::move(file), config);
}

} // namespace lectern::model::v4
