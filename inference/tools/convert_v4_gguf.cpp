#include "inference/tools/convert_v4_gguf.h"

#include "inference/formats/gguf_writer.h"
#include "inference/formats/safetensors.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/gguf_layout.h"
#include "inference/model/v4/tensor_source.h"
#include "inference/model/v4/weights.h"
#include "inference/tokenizer/gguf_vocab.h"
#include "kernels/cpu/numerics.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace lectern::tools {
namespace {

using formats::TensorView;
using kernels::DType;
namespace fs = std::filesystem;
namespace k = kernels::cpu;
namespace gguf = model::v4::gguf;

std::vector<std::byte> floats_as_bytes(const std::vector<float>& values) {
    std::vector<std::byte> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

// FP8 e4m3 codes times their E8M0 128x128 block scales, as BF16: exact, since an e4m3 value has 3
// mantissa bits and the scale is a power of two (checked all the same).
Result<std::vector<std::byte>> fp8_to_bf16(const TensorView& weight, const TensorView& scale) {
    const std::int64_t rows = weight.shape[0], columns = weight.shape[1];
    const std::int64_t column_blocks = (columns + 127) / 128;
    std::vector<std::byte> bytes(static_cast<std::size_t>(rows * columns * 2));
    const auto* codes = reinterpret_cast<const std::uint8_t*>(weight.data.data());
    const auto* scales = reinterpret_cast<const std::uint8_t*>(scale.data.data());
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < columns; ++c) {
            const float value = k::e4m3_to_f32(codes[r * columns + c]) *
                                k::e8m0_to_f32(scales[(r / 128) * column_blocks + c / 128]);
            const std::uint16_t bits = k::f32_to_bf16(value);
            if (k::bf16_to_f32(bits) != value)
                return Error{"tensor " + weight.name + " in " + weight.file +
                             " holds an FP8 value that BF16 cannot represent exactly (its block scale is "
                             "out of range); this checkpoint cannot be converted losslessly"};
            std::memcpy(bytes.data() + 2 * (r * columns + c), &bits, 2);
        }
    }
    return bytes;
}

// One routed expert's packed FP4 (byte i: elements 2i, 2i + 1, low nibble first) and E8M0 1x32 scales as
// ggml MXFP4 blocks (an E8M0 byte, then element j in the low and element j + 16 in the high nibble of
// byte j), appended to `out`.
void append_mxfp4(const TensorView& weight, const TensorView& scale, std::vector<std::byte>& out) {
    const std::int64_t blocks = scale.elements();
    const auto* packed = reinterpret_cast<const std::uint8_t*>(weight.data.data());
    const auto* scales = reinterpret_cast<const std::uint8_t*>(scale.data.data());
    for (std::int64_t b = 0; b < blocks; ++b) {
        std::uint8_t nibbles[32];
        for (int i = 0; i < 16; ++i) {
            nibbles[2 * i] = packed[b * 16 + i] & 0x0F;
            nibbles[2 * i + 1] = packed[b * 16 + i] >> 4;
        }
        out.push_back(static_cast<std::byte>(scales[b]));
        for (int j = 0; j < 16; ++j)
            out.push_back(static_cast<std::byte>(nibbles[j] | (nibbles[j + 16] << 4)));
    }
}

// The pre-tokenizer llama.cpp calls "deepseek-v3": these three splits, then byte-level.
constexpr const char* kDeepSeekSplits[] = {
    R"(\p{N}{1,3})",
    "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

Result<void> add_tokenizer(const std::string& path, const model::v4::Config& config, formats::GgufWriter& w) {
    using nlohmann::json;
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"cannot read " + path};
    json root;
    try {
        root = json::parse(in);
    } catch (const json::exception& error) {
        return Error{path + " is not valid JSON: " + error.what()};
    }
    const auto unsupported = [&](const std::string& why) {
        return Error{path + ": " + why +
                     "; the converter writes DeepSeek-V4's byte-level BPE tokenizer only"};
    };
    if (!root.contains("model") || root["model"].value("type", "") != "BPE" ||
        !root["model"].contains("vocab") || !root["model"].contains("merges"))
        return unsupported("the tokenizer model is not BPE with a vocab and merges");
    const json& pre = root.value("pre_tokenizer", json());
    const json* splits = pre.is_object() ? &pre["pretokenizers"] : nullptr;
    bool deepseek = splits && splits->is_array() && splits->size() == 4;
    for (std::size_t i = 0; deepseek && i < 3; ++i)
        deepseek = (*splits)[i].value("type", "") == "Split" &&
                   (*splits)[i]["pattern"].value("Regex", "") == kDeepSeekSplits[i];
    if (!deepseek || (*splits)[3].value("type", "") != "ByteLevel")
        return unsupported("the pre-tokenizer is not DeepSeek's (three regex splits, then byte-level)");

    std::vector<std::string> tokens(static_cast<std::size_t>(config.vocab_size));
    std::vector<std::int32_t> types(tokens.size(), 0);
    auto place = [&](std::int64_t id, const std::string& text, tokenizer::GgufTokenType type) -> bool {
        if (id < 0 || id >= config.vocab_size) return false;
        tokens[static_cast<std::size_t>(id)] = text;
        types[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(type);
        return true;
    };
    for (const auto& [text, id] : root["model"]["vocab"].items())
        if (!place(id.get<std::int64_t>(), text, tokenizer::GgufTokenType::Normal))
            return unsupported("token '" + text + "' has id " + id.dump() +
                               ", outside the model's vocabulary");
    for (const json& added : root.value("added_tokens", json::array())) {
        const auto type = added.value("special", false) ? tokenizer::GgufTokenType::Control
                                                        : tokenizer::GgufTokenType::UserDefined;
        if (!place(added.value("id", std::int64_t{-1}), added.value("content", ""), type))
            return unsupported("added token " + added.dump() + " lies outside the model's vocabulary");
    }
    // Ids the tokenizer leaves free get llama.cpp's padding tokens.
    for (std::size_t id = 0; id < tokens.size(); ++id) {
        if (types[id] != 0) continue;
        tokens[id] = "[PAD" + std::to_string(id) + "]";
        types[id] = static_cast<std::int32_t>(tokenizer::GgufTokenType::Unused);
    }
    std::vector<std::string> merges;
    for (const json& merge : root["model"]["merges"]) {
        if (merge.is_string())
            merges.push_back(merge.get<std::string>());
        else if (merge.is_array() && merge.size() == 2)
            merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
        else
            return unsupported("a merge is neither \"a b\" nor [a, b]");
    }
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "deepseek-v3");
    w.add_strings("tokenizer.ggml.tokens", tokens);
    w.add_int32s("tokenizer.ggml.token_type", types);
    w.add_strings("tokenizer.ggml.merges", merges);
    w.add_uint32("tokenizer.ggml.bos_token_id", static_cast<std::uint32_t>(config.bos_token_id));
    w.add_uint32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(config.eos_token_id));
    return {};
}

} // namespace

Result<V4GgufSummary> convert_v4_to_gguf(const std::string& folder, const std::string& gguf_path) {
    if (!fs::exists(fs::path(folder) / "config.json"))
        return Error{
            folder +
            " has no config.json: point the converter at a DeepSeek-V4 safetensors checkpoint folder"};
    auto config = model::v4::load_config((fs::path(folder) / "config.json").string());
    if (!config) return std::move(config).take_error();
    auto checkpoint = formats::SafetensorsCheckpoint::open_folder(folder);
    if (!checkpoint) return std::move(checkpoint).take_error();
    const formats::SafetensorsCheckpoint& tensors = *checkpoint;
    // Binding checks every tensor's presence, dtype and shape with the engine's own messages.
    {
        auto probe = formats::SafetensorsCheckpoint::open_folder(folder);
        if (!probe) return std::move(probe).take_error();
        auto source = model::v4::safetensors_source(std::move(*probe), folder);
        if (auto bound = model::v4::bind_weights(*config, *source); !bound)
            return std::move(bound).take_error();
    }

    formats::GgufWriter w;
    V4GgufSummary summary;
    w.add_string("general.architecture", std::string(gguf::kArchitecture));
    w.add_string("general.name", fs::path(folder).filename().string());
    gguf::write_config(*config, w);
    w.add_bool(std::string(gguf::kFp8LinearsKey), true);
    const std::string tokenizer_json = (fs::path(folder) / "tokenizer.json").string();
    if (fs::exists(tokenizer_json)) {
        if (auto added = add_tokenizer(tokenizer_json, *config, w); !added)
            return std::move(added).take_error();
        summary.tokenizer = true;
    }

    std::set<std::string> written;
    const std::int64_t blocks = config->n_layers + config->n_mtp_layers;
    for (std::int64_t block = 0; block < blocks; ++block) {
        const std::string prefix = block < config->n_layers
                                       ? "layers." + std::to_string(block) + "."
                                       : "mtp." + std::to_string(block - config->n_layers) + ".";
        for (const char* matrix : {"w1", "w3", "w2"}) {
            std::vector<std::pair<const TensorView*, const TensorView*>> experts;
            for (std::int64_t e = 0; e < config->n_routed_experts; ++e) {
                const std::string name = prefix + "ffn.experts." + std::to_string(e) + "." + matrix;
                const TensorView* weight = tensors.find(name + ".weight");
                const TensorView* scale = tensors.find(name + ".scale");
                if (!weight || !scale || weight->dtype != DType::I8 || scale->dtype != DType::F8_E8M0)
                    return Error{"tensor " + name +
                                 ".weight is not packed FP4 with E8M0 scales; the converter "
                                 "writes FP4 routed experts (as MXFP4) only"};
                experts.emplace_back(weight, scale);
                written.insert(weight->name);
                written.insert(scale->name);
            }
            const std::vector<std::int64_t> shape = {config->n_routed_experts, experts[0].first->shape[0],
                                                     experts[0].first->shape[1] * 2};
            const auto slice =
                gguf::expert_slice(prefix + "ffn.experts.0." + matrix + ".weight", config->n_layers);
            w.add_tensor(slice->merged_name, DType::MXFP4, shape,
                         [experts]() -> Result<std::vector<std::byte>> {
                             std::vector<std::byte> merged;
                             for (const auto& [weight, scale] : experts)
                                 append_mxfp4(*weight, *scale, merged);
                             return merged;
                         });
            ++summary.expert_tensors;
            ++summary.tensors;
        }
    }

    for (const auto& [name, view] : tensors.tensors()) {
        if (written.count(name) || name.ends_with(".scale")) continue;
        const auto gguf_name = gguf::tensor_name(name, config->n_layers);
        if (!gguf_name)
            return Error{"tensor " + name + " in " + view.file +
                         " has no place in llama.cpp's DeepSeek-V4 layout; the converter does not know it"};
        if (view.dtype == DType::F8_E4M3) {
            const TensorView* scale = tensors.find(name.substr(0, name.size() - 7) + ".scale");
            if (!scale || !gguf::is_fp8_linear(name))
                return Error{"tensor " + name + " in " + view.file +
                             " is FP8 without its E8M0 .scale tensor"};
            w.add_tensor(*gguf_name, DType::BF16, view.shape,
                         [weight = &view, scale] { return fp8_to_bf16(*weight, *scale); });
            written.insert(scale->name);
            ++summary.fp8_linears;
        } else if (view.dtype == DType::BF16 && view.shape.size() == 1) {
            w.add_tensor(*gguf_name, DType::F32, view.shape,
                         [source = &view]() -> Result<std::vector<std::byte>> {
                             std::vector<float> values(static_cast<std::size_t>(source->elements()));
                             for (std::size_t i = 0; i < values.size(); ++i) {
                                 std::uint16_t bits = 0;
                                 std::memcpy(&bits, source->data.data() + 2 * i, 2);
                                 values[i] = k::bf16_to_f32(bits);
                             }
                             return floats_as_bytes(values);
                         });
        } else if (view.dtype == DType::I64) {
            w.add_tensor(*gguf_name, DType::I32, view.shape,
                         [source = &view]() -> Result<std::vector<std::byte>> {
                             std::vector<std::byte> bytes(static_cast<std::size_t>(source->elements()) * 4);
                             for (std::int64_t i = 0; i < source->elements(); ++i) {
                                 std::int64_t value = 0;
                                 std::memcpy(&value, source->data.data() + 8 * i, 8);
                                 const auto narrow = static_cast<std::int32_t>(value);
                                 std::memcpy(bytes.data() + 4 * i, &narrow, 4);
                             }
                             return bytes;
                         });
        } else if (view.dtype == DType::BF16 || view.dtype == DType::F32) {
            w.add_tensor(*gguf_name, view.dtype, view.shape,
                         [source = &view]() -> Result<std::vector<std::byte>> {
                             return std::vector<std::byte>(source->data.begin(), source->data.end());
                         });
        } else {
            return Error{"tensor " + name + " in " + view.file + " is " + view.describe() +
                         ", a type the converter does not handle"};
        }
        written.insert(name);
        ++summary.tensors;
    }
    for (const auto& [name, view] : tensors.tensors())
        if (!written.count(name))
            return Error{"tensor " + name + " in " + view.file +
                         " was not converted (a scale without its weight?)"};
    if (auto saved = w.write(gguf_path); !saved) return std::move(saved).take_error();
    return summary;
}

} // namespace lectern::tools
