#include "inference/tools/tiny_v4.h"

#include "inference/formats/safetensors.h"
#include "inference/model/v4/config.h"
#include "kernels/cpu/numerics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lectern::tools {
namespace {

using formats::TensorToWrite;
using kernels::DType;
namespace k = kernels::cpu;

// splitmix64: a tiny, portable generator; values come out identical on every platform.
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [-limit, limit), built from 24 random bits (exact in float).
    float uniform(float limit) {
        const auto bits = static_cast<float>(next() >> 40); // [0, 2^24)
        return (bits / 8388608.0f - 1.0f) * limit;
    }

private:
    std::uint64_t state_;
};

template <typename T>
std::vector<std::byte> as_bytes(const std::vector<T>& values) {
    std::vector<std::byte> bytes(values.size() * sizeof(T));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
}

// Uniform values with the given standard deviation (uniform on [-a, a] has sd a / sqrt(3)).
std::vector<float> random_values(Random& random, std::int64_t count, float sd) {
    std::vector<float> values(static_cast<std::size_t>(count));
    const float limit = sd * 1.7320508f;
    for (float& v : values) v = random.uniform(limit);
    return values;
}

class Builder {
public:
    explicit Builder(std::uint64_t seed) : random_(seed) {}

    void f32(const std::string& name, std::vector<std::int64_t> shape, float sd, float mean = 0.0f) {
        std::vector<float> values = random_values(random_, product(shape), sd);
        for (float& v : values) v += mean;
        add(name, DType::F32, std::move(shape), as_bytes(values));
    }
    void bf16(const std::string& name, std::vector<std::int64_t> shape, float sd, float mean = 0.0f) {
        const std::vector<float> values = random_values(random_, product(shape), sd);
        std::vector<std::uint16_t> bits(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) bits[i] = k::f32_to_bf16(values[i] + mean);
        add(name, DType::BF16, std::move(shape), as_bytes(bits));
    }
    // F8_E4M3 weight with E8M0 128x128 block scales.
    void fp8(const std::string& prefix, std::int64_t out, std::int64_t in, float sd) {
        const std::vector<float> values = random_values(random_, out * in, sd);
        const std::int64_t row_blocks = (out + 127) / 128, column_blocks = (in + 127) / 128;
        std::vector<std::uint8_t> bytes(static_cast<std::size_t>(out * in));
        std::vector<std::uint8_t> scales(static_cast<std::size_t>(row_blocks * column_blocks));
        for (std::int64_t rb = 0; rb < row_blocks; ++rb) {
            for (std::int64_t cb = 0; cb < column_blocks; ++cb) {
                float amax = 0.0f;
                for (std::int64_t r = rb * 128; r < std::min(out, rb * 128 + 128); ++r)
                    for (std::int64_t c = cb * 128; c < std::min(in, cb * 128 + 128); ++c)
                        amax = std::max(amax, std::fabs(values[static_cast<std::size_t>(r * in + c)]));
                const float scale = k::pow2_scale(amax, 448.0f, 1e-4f);
                scales[static_cast<std::size_t>(rb * column_blocks + cb)] =
                    k::e8m0_from_exponent(std::ilogb(scale));
                for (std::int64_t r = rb * 128; r < std::min(out, rb * 128 + 128); ++r)
                    for (std::int64_t c = cb * 128; c < std::min(in, cb * 128 + 128); ++c)
                        bytes[static_cast<std::size_t>(r * in + c)] =
                            k::f32_to_e4m3(values[static_cast<std::size_t>(r * in + c)] / scale);
            }
        }
        add(prefix + ".weight", DType::F8_E4M3, {out, in}, as_bytes(bytes));
        add(prefix + ".scale", DType::F8_E8M0, {row_blocks, column_blocks}, as_bytes(scales));
    }
    // Packed FP4 e2m1 (I8 [out, in/2], low nibble = even column) with E8M0 1x32 scales.
    void fp4(const std::string& prefix, std::int64_t out, std::int64_t in, float sd) {
        const std::vector<float> values = random_values(random_, out * in, sd);
        std::vector<std::uint8_t> packed(static_cast<std::size_t>(out * in / 2), 0);
        std::vector<std::uint8_t> scales(static_cast<std::size_t>(out * in / 32));
        for (std::int64_t r = 0; r < out; ++r) {
            for (std::int64_t b = 0; b < in / 32; ++b) {
                const float* block = values.data() + r * in + b * 32;
                float amax = 0.0f;
                for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(block[i]));
                const float scale = k::pow2_scale(amax, 6.0f, 1e-4f);
                scales[static_cast<std::size_t>(r * (in / 32) + b)] =
                    k::e8m0_from_exponent(std::ilogb(scale));
                for (int i = 0; i < 32; ++i) {
                    const std::uint8_t nibble = k::f32_to_fp4(block[i] / scale);
                    const std::int64_t column = b * 32 + i;
                    std::uint8_t& byte = packed[static_cast<std::size_t>((r * in + column) / 2)];
                    byte = static_cast<std::uint8_t>(byte | (column % 2 == 0 ? nibble : nibble << 4));
                }
            }
        }
        add(prefix + ".weight", DType::I8, {out, in / 2}, as_bytes(packed));
        add(prefix + ".scale", DType::F8_E8M0, {out, in / 32}, as_bytes(scales));
    }
    void i64_table(const std::string& name, std::int64_t rows, std::int64_t columns, std::int64_t limit) {
        // Distinct experts per token, as a real hash table has.
        std::vector<std::int64_t> table(static_cast<std::size_t>(rows * columns));
        for (std::int64_t r = 0; r < rows; ++r) {
            for (std::int64_t c = 0; c < columns; ++c) {
                std::int64_t expert;
                bool repeated;
                do {
                    expert = static_cast<std::int64_t>(random_.next() % static_cast<std::uint64_t>(limit));
                    repeated = std::find(table.begin() + r * columns, table.begin() + r * columns + c,
                                         expert) != table.begin() + r * columns + c;
                } while (repeated);
                table[static_cast<std::size_t>(r * columns + c)] = expert;
            }
        }
        add(name, DType::I64, {rows, columns}, as_bytes(table));
    }

    std::vector<TensorToWrite>& tensors() { return tensors_; }

private:
    static std::int64_t product(const std::vector<std::int64_t>& shape) {
        std::int64_t n = 1;
        for (const std::int64_t e : shape) n *= e;
        return n;
    }
    void add(const std::string& name, DType dtype, std::vector<std::int64_t> shape,
             std::vector<std::byte> bytes) {
        tensors_.push_back({name, dtype, std::move(shape), std::move(bytes)});
    }

    Random random_;
    std::vector<TensorToWrite> tensors_;
};

void add_block(Builder& b, const model::v4::Config& c, const std::string& p, std::int64_t ratio,
               bool hash_routed) {
    const std::int64_t dim = c.dim, hc = c.hc_mult;
    const float dim_sd = 1.0f / std::sqrt(static_cast<float>(dim));
    b.bf16(p + "attn_norm.weight", {dim}, 0.1f, 1.0f);
    b.bf16(p + "ffn_norm.weight", {dim}, 0.1f, 1.0f);
    for (const std::string which : {"hc_attn", "hc_ffn"}) {
        b.f32(p + which + "_fn", {(2 + hc) * hc, hc * dim}, 0.5f / std::sqrt(static_cast<float>(hc * dim)));
        b.f32(p + which + "_base", {(2 + hc) * hc}, 0.5f);
        b.f32(p + which + "_scale", {3}, 0.2f, 1.0f);
    }
    b.fp8(p + "attn.wq_a", c.q_lora_rank, dim, dim_sd);
    b.bf16(p + "attn.q_norm.weight", {c.q_lora_rank}, 0.1f, 1.0f);
    b.fp8(p + "attn.wq_b", c.n_heads * c.head_dim, c.q_lora_rank,
          1.0f / std::sqrt(static_cast<float>(c.q_lora_rank)));
    b.fp8(p + "attn.wkv", c.head_dim, dim, dim_sd);
    b.bf16(p + "attn.kv_norm.weight", {c.head_dim}, 0.1f, 1.0f);
    const std::int64_t group_in = c.n_heads / c.o_groups * c.head_dim;
    b.fp8(p + "attn.wo_a", c.o_groups * c.o_lora_rank, group_in,
          1.0f / std::sqrt(static_cast<float>(group_in)));
    b.fp8(p + "attn.wo_b", dim, c.o_groups * c.o_lora_rank,
          1.0f / std::sqrt(static_cast<float>(c.o_groups * c.o_lora_rank)));
    b.f32(p + "attn.attn_sink", {c.n_heads}, 1.0f);
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    if (ratio != 0) {
        b.bf16(p + "attn.compressor.wkv.weight", {lanes * c.head_dim, dim}, dim_sd);
        b.bf16(p + "attn.compressor.wgate.weight", {lanes * c.head_dim, dim}, dim_sd);
        b.f32(p + "attn.compressor.ape", {ratio, lanes * c.head_dim}, 0.5f);
        b.bf16(p + "attn.compressor.norm.weight", {c.head_dim}, 0.1f, 1.0f);
    }
    if (ratio == 4) {
        b.fp8(p + "attn.indexer.wq_b", c.index_n_heads * c.index_head_dim, c.q_lora_rank,
              1.0f / std::sqrt(static_cast<float>(c.q_lora_rank)));
        b.bf16(p + "attn.indexer.weights_proj.weight", {c.index_n_heads, dim}, dim_sd);
        b.bf16(p + "attn.indexer.compressor.wkv.weight", {2 * c.index_head_dim, dim}, dim_sd);
        b.bf16(p + "attn.indexer.compressor.wgate.weight", {2 * c.index_head_dim, dim}, dim_sd);
        b.f32(p + "attn.indexer.compressor.ape", {4, 2 * c.index_head_dim}, 0.5f);
        b.bf16(p + "attn.indexer.compressor.norm.weight", {c.index_head_dim}, 0.1f, 1.0f);
    }
    b.bf16(p + "ffn.gate.weight", {c.n_routed_experts, dim}, dim_sd);
    if (hash_routed)
        b.i64_table(p + "ffn.gate.tid2eid", c.vocab_size, c.n_activated_experts, c.n_routed_experts);
    else
        b.f32(p + "ffn.gate.bias", {c.n_routed_experts}, 0.1f);
    const float inter_sd = 1.0f / std::sqrt(static_cast<float>(c.moe_inter_dim));
    for (std::int64_t e = 0; e < c.n_routed_experts; ++e) {
        const std::string ep = p + "ffn.experts." + std::to_string(e);
        b.fp4(ep + ".w1", c.moe_inter_dim, dim, dim_sd);
        b.fp4(ep + ".w2", dim, c.moe_inter_dim, inter_sd);
        b.fp4(ep + ".w3", c.moe_inter_dim, dim, dim_sd);
    }
    b.fp8(p + "ffn.shared_experts.w1", c.moe_inter_dim, dim, dim_sd);
    b.fp8(p + "ffn.shared_experts.w2", dim, c.moe_inter_dim, inter_sd);
    b.fp8(p + "ffn.shared_experts.w3", c.moe_inter_dim, dim, dim_sd);
}

} // namespace

std::string tiny_v4_config_json() {
    return R"({
  "architectures": ["DeepseekV4ForCausalLM"],
  "model_type": "deepseek_v4",
  "vocab_size": 129280,
  "hidden_size": 128,
  "num_hidden_layers": 4,
  "num_attention_heads": 4,
  "num_key_value_heads": 1,
  "head_dim": 128,
  "qk_rope_head_dim": 64,
  "q_lora_rank": 64,
  "o_groups": 2,
  "o_lora_rank": 128,
  "sliding_window": 128,
  "compress_ratios": [0, 4, 128, 4, 0],
  "compress_rope_theta": 160000,
  "rope_theta": 10000,
  "rope_scaling": {"type": "yarn", "factor": 16, "original_max_position_embeddings": 65536, "beta_fast": 32, "beta_slow": 1},
  "max_position_embeddings": 1048576,
  "index_n_heads": 4,
  "index_head_dim": 128,
  "index_topk": 8,
  "n_routed_experts": 8,
  "n_shared_experts": 1,
  "num_experts_per_tok": 3,
  "moe_intermediate_size": 64,
  "scoring_func": "sqrtsoftplus",
  "topk_method": "noaux_tc",
  "norm_topk_prob": true,
  "routed_scaling_factor": 1.5,
  "num_hash_layers": 2,
  "swiglu_limit": 10.0,
  "hidden_act": "silu",
  "hc_mult": 4,
  "hc_sinkhorn_iters": 20,
  "hc_eps": 1e-06,
  "rms_norm_eps": 1e-06,
  "num_nextn_predict_layers": 1,
  "bos_token_id": 0,
  "eos_token_id": 1,
  "tie_word_embeddings": false,
  "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "scale_fmt": "ue8m0", "weight_block_size": [128, 128], "activation_scheme": "dynamic"}
}
)";
}

Result<void> write_tiny_v4(const std::string& folder, const TinyV4Options& options) {
    namespace fs = std::filesystem;
    const std::string config_text = options.config_json.empty() ? tiny_v4_config_json() : options.config_json;
    auto config = model::v4::parse_config(config_text, "tiny config");
    if (!config) return std::move(config).take_error();
    const model::v4::Config& c = *config;
    std::error_code error;
    fs::create_directories(folder, error);
    if (error) return Error{"cannot create " + folder + ": " + error.message()};

    Builder b(options.seed);
    b.bf16("embed.weight", {c.vocab_size, c.dim}, 1.0f);
    for (std::int64_t i = 0; i < c.n_layers; ++i)
        add_block(b, c, "layers." + std::to_string(i) + ".", c.ratio(i), i < c.n_hash_layers);
    b.bf16("norm.weight", {c.dim}, 0.1f, 1.0f);
    b.f32("hc_head_fn", {c.hc_mult, c.hc_mult * c.dim},
          0.5f / std::sqrt(static_cast<float>(c.hc_mult * c.dim)));
    b.f32("hc_head_base", {c.hc_mult}, 0.5f);
    b.f32("hc_head_scale", {1}, 0.2f, 1.0f);
    // A strong head gives clear top-1 margins, so parity checks are not decided by rounding noise.
    b.bf16("head.weight", {c.vocab_size, c.dim}, 1.0f);
    const std::string mtp = "mtp.0.";
    add_block(b, c, mtp, 0, false);
    b.fp8(mtp + "e_proj", c.dim, c.dim, 1.0f / std::sqrt(static_cast<float>(c.dim)));
    b.fp8(mtp + "h_proj", c.dim, c.dim, 1.0f / std::sqrt(static_cast<float>(c.dim)));
    b.bf16(mtp + "enorm.weight", {c.dim}, 0.1f, 1.0f);
    b.bf16(mtp + "hnorm.weight", {c.dim}, 0.1f, 1.0f);
    b.bf16(mtp + "norm.weight", {c.dim}, 0.1f, 1.0f);
    b.f32(mtp + "hc_head_fn", {c.hc_mult, c.hc_mult * c.dim},
          0.5f / std::sqrt(static_cast<float>(c.hc_mult * c.dim)));
    b.f32(mtp + "hc_head_base", {c.hc_mult}, 0.5f);
    b.f32(mtp + "hc_head_scale", {1}, 0.2f, 1.0f);

    // Two shards: the layers in the first, everything else in the second; and the index.
    std::vector<TensorToWrite> first, second;
    for (TensorToWrite& tensor : b.tensors())
        (tensor.name.starts_with("layers.") ? first : second).push_back(std::move(tensor));
    const std::string names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    std::string index = "{\n  \"metadata\": {},\n  \"weight_map\": {\n";
    bool first_entry = true;
    for (int shard = 0; shard < 2; ++shard) {
        const auto& tensors = shard == 0 ? first : second;
        if (auto written = formats::write_safetensors((fs::path(folder) / names[shard]).string(), tensors);
            !written)
            return written;
        for (const TensorToWrite& tensor : tensors) {
            index += std::string(first_entry ? "" : ",\n") + "    \"" + tensor.name + "\": \"" +
                     names[shard] + "\"";
            first_entry = false;
        }
    }
    index += "\n  }\n}\n";
    std::ofstream(fs::path(folder) / "model.safetensors.index.json") << index;
    std::ofstream(fs::path(folder) / "config.json") << config_text;
    if (!options.tokenizer_json.empty()) {
        fs::copy_file(options.tokenizer_json, fs::path(folder) / "tokenizer.json",
                      fs::copy_options::overwrite_existing, error);
        if (error)
            return Error{"cannot copy the tokenizer " + options.tokenizer_json + ": " + error.message()};
    }
    if (!fs::exists(fs::path(folder) / "config.json"))
        return Error{"failed writing " + folder + "/config.json"};
    return {};
}

} // namespace lectern::tools
