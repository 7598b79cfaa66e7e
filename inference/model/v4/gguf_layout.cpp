#include "inference/model/v4/gguf_layout.h"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <utility>

namespace lectern::model::v4::gguf {
namespace {

using nlohmann::json;

// Official name (after `layers.N.` / `mtp.N.`) -> GGUF name (after `blk.N.`).
constexpr std::array<std::pair<std::string_view, std::string_view>, 32> kBlockNames{{
    {"attn_norm.weight", "attn_norm.weight"},
    {"ffn_norm.weight", "ffn_norm.weight"},
    {"hc_attn_fn", "hc_attn_fn.weight"},
    {"hc_attn_base", "hc_attn_base.weight"},
    {"hc_attn_scale", "hc_attn_scale.weight"},
    {"hc_ffn_fn", "hc_ffn_fn.weight"},
    {"hc_ffn_base", "hc_ffn_base.weight"},
    {"hc_ffn_scale", "hc_ffn_scale.weight"},
    {"attn.attn_sink", "attn_sinks.weight"},
    {"attn.wq_a.weight", "attn_q_a.weight"},
    {"attn.q_norm.weight", "attn_q_a_norm.weight"},
    {"attn.wq_b.weight", "attn_q_b.weight"},
    {"attn.wkv.weight", "attn_kv.weight"},
    {"attn.kv_norm.weight", "attn_kv_a_norm.weight"},
    {"attn.wo_a.weight", "attn_output_a.weight"},
    {"attn.wo_b.weight", "attn_output_b.weight"},
    {"attn.compressor.ape", "attn_compressor_ape.weight"},
    {"attn.compressor.wkv.weight", "attn_compressor_kv.weight"},
    {"attn.compressor.wgate.weight", "attn_compressor_gate.weight"},
    {"attn.compressor.norm.weight", "attn_compressor_norm.weight"},
    {"attn.indexer.wq_b.weight", "indexer_attn_q_b.weight"},
    {"attn.indexer.weights_proj.weight", "indexer_proj.weight"},
    {"attn.indexer.compressor.ape", "indexer_compressor_ape.weight"},
    {"attn.indexer.compressor.wkv.weight", "indexer_compressor_kv.weight"},
    {"attn.indexer.compressor.wgate.weight", "indexer_compressor_gate.weight"},
    {"attn.indexer.compressor.norm.weight", "indexer_compressor_norm.weight"},
    {"ffn.gate.weight", "ffn_gate_inp.weight"},
    {"ffn.gate.bias", "exp_probs_b.bias"},
    {"ffn.gate.tid2eid", "ffn_gate_tid2eid.weight"},
    {"ffn.shared_experts.w1.weight", "ffn_gate_shexp.weight"},
    {"ffn.shared_experts.w3.weight", "ffn_up_shexp.weight"},
    {"ffn.shared_experts.w2.weight", "ffn_down_shexp.weight"},
}};

// The MTP block's own tensors, as llama.cpp's converter names them when it exports MTP.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kMtpNames{{
    {"e_proj.weight", "nextn.e_proj.weight"},
    {"h_proj.weight", "nextn.h_proj.weight"},
    {"enorm.weight", "nextn.enorm.weight"},
    {"hnorm.weight", "nextn.hnorm.weight"},
    {"norm.weight", "nextn.shared_head_norm.weight"},
    {"hc_head_fn", "nextn.hc_head_fn.weight"},
    {"hc_head_base", "nextn.hc_head_base.weight"},
    {"hc_head_scale", "nextn.hc_head_scale.weight"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTopNames{{
    {"embed.weight", "token_embd.weight"},
    {"head.weight", "output.weight"},
    {"norm.weight", "output_norm.weight"},
    {"hc_head_fn", "output_hc_fn.weight"},
    {"hc_head_base", "output_hc_base.weight"},
    {"hc_head_scale", "output_hc_scale.weight"},
}};

constexpr std::array<std::string_view, 11> kFp8Linears{"attn.wq_a.weight",
                                                       "attn.wq_b.weight",
                                                       "attn.wkv.weight",
                                                       "attn.wo_a.weight",
                                                       "attn.wo_b.weight",
                                                       "attn.indexer.wq_b.weight",
                                                       "ffn.shared_experts.w1.weight",
                                                       "ffn.shared_experts.w2.weight",
                                                       "ffn.shared_experts.w3.weight",
                                                       "e_proj.weight",
                                                       "h_proj.weight"};

// Splits `layers.N.rest` / `mtp.N.rest` into (GGUF block number, rest, is_mtp).
struct BlockName {
    std::int64_t block = 0;
    std::string_view rest;
    bool mtp = false;
};

std::optional<BlockName> split_block(std::string_view official, std::int64_t n_layers) {
    BlockName name;
    if (official.starts_with("layers.")) {
        official.remove_prefix(7);
    } else if (official.starts_with("mtp.")) {
        official.remove_prefix(4);
        name.mtp = true;
    } else {
        return std::nullopt;
    }
    const auto dot = official.find('.');
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    std::int64_t index = 0;
    const auto [end, error] = std::from_chars(official.data(), official.data() + dot, index);
    if (error != std::errc() || end != official.data() + dot) return std::nullopt;
    name.block = name.mtp ? n_layers + index : index;
    name.rest = official.substr(dot + 1);
    return name;
}

template <std::size_t N>
std::optional<std::string_view>
lookup(const std::array<std::pair<std::string_view, std::string_view>, N>& table, std::string_view key) {
    for (const auto& [official, gguf_name] : table)
        if (official == key) return gguf_name;
    return std::nullopt;
}

std::string key(std::string_view suffix) {
    return std::string(kArchitecture) + "." + std::string(suffix);
}

// Reads required (or optional) metadata with errors that name the file and the key.
class MetadataReader {
public:
    explicit MetadataReader(const formats::GgufFile& file) : file_(file) {}

    std::optional<std::int64_t> integer(std::string_view suffix, bool required = true) {
        const formats::GgufValue* value = file_.find(key(suffix));
        if (!value) return missing(suffix, required), std::nullopt;
        const auto number = value->as_int();
        if (!number) return fail(key(suffix) + " must be a whole number"), std::nullopt;
        return number;
    }
    std::optional<double> number(std::string_view suffix, bool required = true) {
        const formats::GgufValue* value = file_.find(key(suffix));
        if (!value) return missing(suffix, required), std::nullopt;
        if (auto real = value->as_float()) return real;
        if (auto whole = value->as_int()) return static_cast<double>(*whole);
        return fail(key(suffix) + " must be a number"), std::nullopt;
    }
    std::optional<std::vector<double>> numbers(std::string_view suffix, bool required = true) {
        const formats::GgufValue* value = file_.find(key(suffix));
        if (!value) return missing(suffix, required), std::nullopt;
        std::vector<double> out;
        if (const auto* array = value->as_array()) {
            for (const formats::GgufValue& element : *array) {
                if (auto real = element.as_float())
                    out.push_back(*real);
                else if (auto whole = element.as_int())
                    out.push_back(static_cast<double>(*whole));
                else
                    return fail(key(suffix) + " must be a list of numbers"), std::nullopt;
            }
        } else if (auto real = value->as_float()) {
            out.push_back(*real);
        } else if (auto whole = value->as_int()) {
            out.push_back(static_cast<double>(*whole));
        } else {
            return fail(key(suffix) + " must be a number or a list of numbers"), std::nullopt;
        }
        return out;
    }

    const std::string& error() const { return error_; }

private:
    void missing(std::string_view suffix, bool required) {
        if (required)
            fail("metadata key " + key(suffix) +
                 " is missing; is this a DeepSeek-V4 GGUF from llama.cpp's converter or "
                 "lectern-convert-v4-gguf?");
    }
    void fail(const std::string& message) {
        if (error_.empty()) error_ = file_.path() + ": " + message;
    }

    const formats::GgufFile& file_;
    std::string error_;
};

} // namespace

std::optional<std::string> tensor_name(std::string_view official, std::int64_t n_layers) {
    if (auto top = lookup(kTopNames, official)) return std::string(*top);
    const auto block = split_block(official, n_layers);
    if (!block) return std::nullopt;
    auto mapped = lookup(kBlockNames, block->rest);
    if (!mapped && block->mtp) mapped = lookup(kMtpNames, block->rest);
    if (!mapped) return std::nullopt;
    return "blk." + std::to_string(block->block) + "." + std::string(*mapped);
}

std::optional<ExpertSlice> expert_slice(std::string_view official, std::int64_t n_layers) {
    const auto block = split_block(official, n_layers);
    if (!block || !block->rest.starts_with("ffn.experts.")) return std::nullopt;
    std::string_view rest = block->rest.substr(12);
    const auto dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    std::int64_t expert = 0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + dot, expert);
    if (error != std::errc() || end != rest.data() + dot) return std::nullopt;
    rest.remove_prefix(dot + 1);
    std::string_view merged;
    if (rest == "w1.weight")
        merged = "ffn_gate_exps.weight";
    else if (rest == "w3.weight")
        merged = "ffn_up_exps.weight";
    else if (rest == "w2.weight")
        merged = "ffn_down_exps.weight";
    else
        return std::nullopt;
    return ExpertSlice{"blk." + std::to_string(block->block) + "." + std::string(merged), expert};
}

bool is_fp8_linear(std::string_view official) {
    const auto block = split_block(official, 0);
    if (!block) return false;
    for (const std::string_view name : kFp8Linears)
        if (block->rest == name) return true;
    return false;
}

Result<Config> read_config(const formats::GgufFile& file) {
    auto architecture = file.require_string("general.architecture");
    if (!architecture) return std::move(architecture).take_error();
    if (*architecture != kArchitecture)
        return Error{file.path() + ": general.architecture is '" + *architecture + "', not '" +
                     std::string(kArchitecture) + "'"};
    MetadataReader r(file);
    json config = json::object();
    auto put_int = [&](const char* field, std::string_view suffix, bool required = true) {
        if (auto value = r.integer(suffix, required)) config[field] = *value;
    };
    auto put_number = [&](const char* field, std::string_view suffix) {
        if (auto value = r.number(suffix)) config[field] = *value;
    };
    config["model_type"] = "deepseek_v4";
    config["scoring_func"] = "sqrtsoftplus";
    put_int("vocab_size", "vocab_size");
    put_int("hidden_size", "embedding_length");
    put_int("num_attention_heads", "attention.head_count");
    put_int("num_key_value_heads", "attention.head_count_kv", false);
    put_int("head_dim", "attention.key_length");
    put_int("qk_rope_head_dim", "rope.dimension_count");
    put_int("q_lora_rank", "attention.q_lora_rank");
    put_int("o_groups", "attention.output_group_count");
    put_int("o_lora_rank", "attention.output_lora_rank");
    put_int("sliding_window", "attention.sliding_window");
    put_number("rope_theta", "rope.freq_base");
    put_number("compress_rope_theta", "attention.compress_rope_freq_base");
    put_int("max_position_embeddings", "context_length");
    put_int("index_n_heads", "attention.indexer.head_count");
    put_int("index_head_dim", "attention.indexer.key_length");
    put_int("index_topk", "attention.indexer.top_k");
    put_int("n_routed_experts", "expert_count");
    put_int("n_shared_experts", "expert_shared_count");
    put_int("num_experts_per_tok", "expert_used_count");
    put_int("moe_intermediate_size", "expert_feed_forward_length");
    put_number("routed_scaling_factor", "expert_weights_scale");
    put_int("num_hash_layers", "hash_layer_count");
    put_int("hc_mult", "hyper_connection.count");
    put_int("hc_sinkhorn_iters", "hyper_connection.sinkhorn_iterations");
    put_number("hc_eps", "hyper_connection.epsilon");
    put_number("rms_norm_eps", "attention.layer_norm_rms_epsilon");
    if (auto limits = r.numbers("swiglu_clamp_exp")) {
        if (limits->empty()) return Error{file.path() + ": " + key("swiglu_clamp_exp") + " is empty"};
        for (const double limit : *limits)
            if (limit != limits->front())
                return Error{file.path() + ": " + key("swiglu_clamp_exp") +
                             " differs between layers; DeepSeek-V4 has one SwiGLU limit"};
        config["swiglu_limit"] = limits->front();
    }
    json scaling = json::object();
    scaling["type"] = "yarn";
    if (auto factor = r.number("rope.scaling.factor")) scaling["factor"] = *factor;
    if (auto original = r.integer("rope.scaling.original_context_length"))
        scaling["original_max_position_embeddings"] = *original;
    // llama.cpp's defaults when the file does not carry them; DeepSeek-V4 uses exactly these.
    scaling["beta_fast"] = r.number("rope.scaling.yarn_beta_fast", false).value_or(32.0);
    scaling["beta_slow"] = r.number("rope.scaling.yarn_beta_slow", false).value_or(1.0);
    config["rope_scaling"] = scaling;
    const auto blocks = r.integer("block_count");
    const auto nextn = r.integer("nextn_predict_layers", false).value_or(0);
    const auto ratios = r.numbers("attention.compress_ratios");
    if (!r.error().empty()) return Error{r.error()};

    // llama.cpp's convention: the MTP blocks are the last `nextn_predict_layers` blocks of block_count.
    // Files without their tensors (older converters wrote the key but dropped the blocks) run without MTP.
    std::int64_t mtp = 0;
    if (nextn > 0 && *blocks > nextn &&
        file.find_tensor("blk." + std::to_string(*blocks - 1) + ".nextn.e_proj.weight"))
        mtp = nextn;
    const std::int64_t layers = mtp > 0 ? *blocks - mtp : *blocks;
    config["num_hidden_layers"] = layers;
    config["num_nextn_predict_layers"] = mtp;
    json compress = json::array();
    for (std::size_t i = 0; i < ratios->size(); ++i) {
        // Ratios past the blocks present (an MTP block that was not exported) are not part of the model.
        if (static_cast<std::int64_t>(i) >= layers + mtp && ratios->size() > static_cast<std::size_t>(layers))
            break;
        compress.push_back(static_cast<std::int64_t>((*ratios)[i]));
    }
    config["compress_ratios"] = compress;
    if (const auto* bos = file.find("tokenizer.ggml.bos_token_id"); bos && bos->as_int())
        config["bos_token_id"] = *bos->as_int();
    if (const auto* eos = file.find("tokenizer.ggml.eos_token_id"); eos && eos->as_int())
        config["eos_token_id"] = *eos->as_int();
    return parse_config(config.dump(), file.path() + " (deepseek4.* metadata, as config.json fields)");
}

void write_config(const Config& c, formats::GgufWriter& w) {
    auto u32 = [&](std::string_view suffix, std::int64_t value) {
        w.add_uint32(key(suffix), static_cast<std::uint32_t>(value));
    };
    auto f32 = [&](std::string_view suffix, double value) {
        w.add_float32(key(suffix), static_cast<float>(value));
    };
    u32("vocab_size", c.vocab_size);
    u32("context_length", c.max_seq_len);
    u32("embedding_length", c.dim);
    u32("block_count", c.n_layers + c.n_mtp_layers);
    u32("nextn_predict_layers", c.n_mtp_layers);
    u32("attention.head_count", c.n_heads);
    u32("attention.head_count_kv", 1);
    u32("attention.key_length", c.head_dim);
    u32("attention.value_length", c.head_dim);
    f32("attention.layer_norm_rms_epsilon", c.norm_eps);
    u32("attention.q_lora_rank", c.q_lora_rank);
    u32("attention.output_lora_rank", c.o_lora_rank);
    u32("attention.output_group_count", c.o_groups);
    u32("attention.sliding_window", c.window_size);
    std::vector<std::uint32_t> ratios;
    for (const std::int64_t ratio : c.compress_ratios) ratios.push_back(static_cast<std::uint32_t>(ratio));
    w.add_uint32s(key("attention.compress_ratios"), ratios);
    f32("attention.compress_rope_freq_base", c.compress_rope_theta);
    u32("attention.indexer.head_count", c.index_n_heads);
    u32("attention.indexer.key_length", c.index_head_dim);
    u32("attention.indexer.top_k", c.index_topk);
    u32("rope.dimension_count", c.rope_head_dim);
    f32("rope.freq_base", c.rope_theta);
    w.add_string(key("rope.scaling.type"), "yarn");
    f32("rope.scaling.factor", c.rope_factor);
    u32("rope.scaling.original_context_length", c.original_seq_len);
    f32("rope.scaling.yarn_beta_fast", c.beta_fast);
    f32("rope.scaling.yarn_beta_slow", c.beta_slow);
    u32("expert_feed_forward_length", c.moe_inter_dim);
    u32("expert_count", c.n_routed_experts);
    u32("expert_used_count", c.n_activated_experts);
    u32("expert_shared_count", c.n_shared_experts);
    f32("expert_weights_scale", c.route_scale);
    w.add_bool(key("expert_weights_norm"), true);
    u32("hash_layer_count", c.n_hash_layers);
    w.add_float32s(key("swiglu_clamp_exp"),
                   std::vector<float>(static_cast<std::size_t>(c.n_layers + c.n_mtp_layers),
                                      static_cast<float>(c.swiglu_limit)));
    u32("hyper_connection.count", c.hc_mult);
    u32("hyper_connection.sinkhorn_iterations", c.hc_sinkhorn_iters);
    f32("hyper_connection.epsilon", c.hc_eps);
}

} // namespace lectern::model::v4::gguf
