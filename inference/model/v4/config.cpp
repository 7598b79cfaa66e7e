#include "inference/model/v4/config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lectern::model::v4 {
namespace {

using nlohmann::json;

// Reads a field under either of its two names; `required` fields must be present under one of them.
class FieldReader {
public:
    FieldReader(const json& root, std::string source, std::string prefix = {})
        : root_(root), source_(std::move(source)), prefix_(std::move(prefix)) {}

    const json* find(const std::string& hf_name, const std::string& inference_name) const {
        if (!hf_name.empty() && root_.contains(hf_name)) return &root_.at(hf_name);
        if (!inference_name.empty() && root_.contains(inference_name)) return &root_.at(inference_name);
        return nullptr;
    }

    std::string label(const std::string& hf_name, const std::string& inference_name) const {
        if (hf_name.empty()) return "`" + prefix_ + inference_name + "`";
        if (inference_name.empty() || inference_name == hf_name) return "`" + prefix_ + hf_name + "`";
        return "`" + prefix_ + hf_name + "` (`" + prefix_ + inference_name + "`)";
    }

    bool integer(const std::string& hf, const std::string& inf, std::int64_t& out, bool required = true) {
        const json* value = find(hf, inf);
        if (!value) return missing(hf, inf, required);
        if (!value->is_number_integer()) return fail(label(hf, inf) + " must be a whole number");
        out = value->get<std::int64_t>();
        return true;
    }

    bool number(const std::string& hf, const std::string& inf, double& out, bool required = true) {
        const json* value = find(hf, inf);
        if (!value) return missing(hf, inf, required);
        if (!value->is_number()) return fail(label(hf, inf) + " must be a number");
        out = value->get<double>();
        return true;
    }

    bool text(const std::string& hf, const std::string& inf, std::string& out, bool required = true) {
        const json* value = find(hf, inf);
        if (!value) return missing(hf, inf, required);
        if (!value->is_string()) return fail(label(hf, inf) + " must be a string");
        out = value->get<std::string>();
        return true;
    }

    bool fail(const std::string& message) {
        if (message_.empty()) message_ = message;
        return false;
    }
    const std::string& message() const { return message_; }
    std::string error() const { return message_.empty() ? std::string() : source_ + ": " + message_; }

private:
    bool missing(const std::string& hf, const std::string& inf, bool required) {
        if (!required) return true;
        return fail("missing field " + label(hf, inf));
    }

    const json& root_;
    std::string source_;
    std::string prefix_;
    std::string message_;
};

bool is_power_of_two(std::int64_t value) {
    return value > 0 && (value & (value - 1)) == 0;
}

} // namespace

Result<Config> parse_config(const std::string& json_text, const std::string& source) {
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& error) {
        return Error{source + " is not valid JSON: " + error.what()};
    }
    if (!root.is_object()) return Error{source + " must hold a JSON object"};

    Config c;
    FieldReader r(root, source);
    const bool hf_naming = root.contains("hidden_size");

    std::string text;
    if (r.text("model_type", "", text, false) && !text.empty() && text != "deepseek_v4")
        r.fail("`model_type` is \"" + text + "\", expected \"deepseek_v4\"");

    r.integer("vocab_size", "vocab_size", c.vocab_size);
    r.integer("hidden_size", "dim", c.dim);
    r.integer("num_hidden_layers", "n_layers", c.n_layers);
    r.integer("num_attention_heads", "n_heads", c.n_heads);
    r.integer("head_dim", "head_dim", c.head_dim);
    r.integer("qk_rope_head_dim", "rope_head_dim", c.rope_head_dim);
    r.integer("q_lora_rank", "q_lora_rank", c.q_lora_rank);
    r.integer("o_groups", "o_groups", c.o_groups);
    r.integer("o_lora_rank", "o_lora_rank", c.o_lora_rank);
    r.integer("sliding_window", "window_size", c.window_size);
    r.number("rope_theta", "rope_theta", c.rope_theta);
    r.number("compress_rope_theta", "compress_rope_theta", c.compress_rope_theta);
    r.integer("max_position_embeddings", "max_seq_len", c.max_seq_len, hf_naming);
    r.integer("index_n_heads", "index_n_heads", c.index_n_heads);
    r.integer("index_head_dim", "index_head_dim", c.index_head_dim);
    r.integer("index_topk", "index_topk", c.index_topk);
    r.integer("n_routed_experts", "n_routed_experts", c.n_routed_experts);
    r.integer("n_shared_experts", "n_shared_experts", c.n_shared_experts);
    r.integer("num_experts_per_tok", "n_activated_experts", c.n_activated_experts);
    r.integer("moe_intermediate_size", "moe_inter_dim", c.moe_inter_dim);
    r.number("routed_scaling_factor", "route_scale", c.route_scale);
    r.integer("num_hash_layers", "n_hash_layers", c.n_hash_layers);
    r.number("swiglu_limit", "swiglu_limit", c.swiglu_limit);
    r.integer("hc_mult", "hc_mult", c.hc_mult);
    r.integer("hc_sinkhorn_iters", "hc_sinkhorn_iters", c.hc_sinkhorn_iters);
    r.number("hc_eps", "hc_eps", c.hc_eps);
    r.number("rms_norm_eps", "norm_eps", c.norm_eps);
    c.n_mtp_layers = 1;
    r.integer("num_nextn_predict_layers", "n_mtp_layers", c.n_mtp_layers, false);
    if (!hf_naming && c.max_seq_len == 0) c.max_seq_len = 1048576; // the inference config omits it

    std::int64_t kv_heads = 1;
    r.integer("num_key_value_heads", "", kv_heads, false);
    if (kv_heads != 1) r.fail("`num_key_value_heads` is " + std::to_string(kv_heads) + "; DeepSeek-V4 has 1");

    std::int64_t token_id = 0;
    if (r.integer("bos_token_id", "", token_id, false)) c.bos_token_id = static_cast<std::int32_t>(token_id);
    if (!root.contains("bos_token_id")) c.bos_token_id = 0;
    if (r.integer("eos_token_id", "", token_id, false)) c.eos_token_id = static_cast<std::int32_t>(token_id);
    if (!root.contains("eos_token_id")) c.eos_token_id = 1;

    if (root.contains("tie_word_embeddings") && root.at("tie_word_embeddings") != false)
        r.fail("`tie_word_embeddings` must be false: DeepSeek-V4 has a separate `head.weight`");

    if (r.text("scoring_func", "score_func", text)) {
        if (text != "sqrtsoftplus")
            r.fail("`scoring_func` (`score_func`) is \"" + text + "\", expected \"sqrtsoftplus\"");
    }

    // YaRN: HF nests it in rope_scaling; the inference config has flat fields.
    if (root.contains("rope_scaling") && !root.at("rope_scaling").is_null()) {
        const json& scaling = root.at("rope_scaling");
        if (!scaling.is_object()) return Error{source + ": `rope_scaling` must be an object"};
        FieldReader s(scaling, source, "rope_scaling.");
        std::string type;
        if (s.text("type", "rope_type", type) && type != "yarn")
            s.fail("`rope_scaling.type` is \"" + type + "\", expected \"yarn\"");
        s.number("factor", "", c.rope_factor);
        s.integer("original_max_position_embeddings", "", c.original_seq_len);
        s.number("beta_fast", "", c.beta_fast);
        s.number("beta_slow", "", c.beta_slow);
        if (!s.message().empty()) r.fail(s.message());
    } else {
        r.number("", "rope_factor", c.rope_factor);
        r.integer("", "original_seq_len", c.original_seq_len);
        r.number("", "beta_fast", c.beta_fast);
        r.number("", "beta_slow", c.beta_slow);
    }

    const json* ratios = r.find("compress_ratios", "compress_ratios");
    if (!ratios) {
        r.fail("missing field `compress_ratios`");
    } else if (!ratios->is_array()) {
        r.fail("`compress_ratios` must be a list of whole numbers");
    } else {
        for (const json& value : *ratios) {
            if (!value.is_number_integer()) {
                r.fail("`compress_ratios` must be a list of whole numbers");
                break;
            }
            c.compress_ratios.push_back(value.get<std::int64_t>());
        }
    }

    // The checkpoint's quantisation must be the one the kernels implement.
    if (root.contains("quantization_config")) {
        const json& q = root.at("quantization_config");
        if (!q.is_object())
            r.fail("`quantization_config` must be an object");
        else {
            if (q.value("fmt", std::string("e4m3")) != "e4m3")
                r.fail("`quantization_config.fmt` must be \"e4m3\"");
            if (q.value("scale_fmt", std::string("ue8m0")) != "ue8m0")
                r.fail("`quantization_config.scale_fmt` must be \"ue8m0\"");
            if (q.contains("weight_block_size") && q.at("weight_block_size") != json::array({128, 128}))
                r.fail("`quantization_config.weight_block_size` must be [128, 128]");
        }
    }
    if (root.contains("scale_fmt") && root.at("scale_fmt") != "ue8m0")
        r.fail("`scale_fmt` must be \"ue8m0\"");
    if (!r.error().empty()) return Error{r.error()};

    // Consistency. Each message names the field(s) and the rule.
    auto positive = [&](std::int64_t value, const char* name) {
        if (value <= 0) r.fail(std::string("`") + name + "` must be positive, got " + std::to_string(value));
    };
    positive(c.vocab_size, "vocab_size");
    positive(c.dim, "hidden_size");
    positive(c.n_layers, "num_hidden_layers");
    positive(c.n_heads, "num_attention_heads");
    positive(c.head_dim, "head_dim");
    positive(c.rope_head_dim, "qk_rope_head_dim");
    positive(c.q_lora_rank, "q_lora_rank");
    positive(c.o_groups, "o_groups");
    positive(c.o_lora_rank, "o_lora_rank");
    positive(c.window_size, "sliding_window");
    positive(c.max_seq_len, "max_position_embeddings");
    positive(c.index_n_heads, "index_n_heads");
    positive(c.index_head_dim, "index_head_dim");
    positive(c.index_topk, "index_topk");
    positive(c.n_routed_experts, "n_routed_experts");
    positive(c.n_activated_experts, "num_experts_per_tok");
    positive(c.moe_inter_dim, "moe_intermediate_size");
    positive(c.hc_mult, "hc_mult");
    positive(c.hc_sinkhorn_iters, "hc_sinkhorn_iters");
    positive(c.original_seq_len, "rope_scaling.original_max_position_embeddings");
    if (c.rope_theta <= 0) r.fail("`rope_theta` must be positive");
    if (c.compress_rope_theta <= 0) r.fail("`compress_rope_theta` must be positive");
    if (c.rope_factor < 1) r.fail("`rope_scaling.factor` must be at least 1");
    if (c.norm_eps <= 0 || c.hc_eps < 0) r.fail("`rms_norm_eps` must be positive and `hc_eps` not negative");
    if (c.swiglu_limit <= 0) r.fail("`swiglu_limit` must be positive");
    if (c.route_scale <= 0) r.fail("`routed_scaling_factor` must be positive");
    if (!r.error().empty()) return Error{r.error()};

    if (c.rope_head_dim % 2 != 0 || c.rope_head_dim >= c.head_dim)
        r.fail("`qk_rope_head_dim` must be even and smaller than `head_dim`");
    else if (c.nope_head_dim() % 64 != 0)
        r.fail("`head_dim` - `qk_rope_head_dim` must be a multiple of 64 (the FP8 QAT block)");
    if (!is_power_of_two(c.index_head_dim) || c.index_head_dim < c.rope_head_dim ||
        c.index_head_dim % 32 != 0)
        r.fail("`index_head_dim` must be a power of two, a multiple of 32 and at least `qk_rope_head_dim`");
    if (c.n_heads % c.o_groups != 0) r.fail("`num_attention_heads` must be a multiple of `o_groups`");
    if (c.n_activated_experts > c.n_routed_experts)
        r.fail("`num_experts_per_tok` is larger than `n_routed_experts`");
    if (c.n_shared_experts != 1) r.fail("`n_shared_experts` must be 1 (as in every DeepSeek-V4 checkpoint)");
    if (c.n_hash_layers < 0 || c.n_hash_layers > c.n_layers)
        r.fail("`num_hash_layers` must be between 0 and `num_hidden_layers`");
    if (c.dim % 32 != 0 || c.moe_inter_dim % 32 != 0)
        r.fail("`hidden_size` and `moe_intermediate_size` must be multiples of 32 (the FP4 scale block)");
    if (c.n_mtp_layers < 0 || c.n_mtp_layers > 1) r.fail("`num_nextn_predict_layers` must be 0 or 1");
    if (static_cast<std::int64_t>(c.compress_ratios.size()) != c.n_layers + c.n_mtp_layers)
        r.fail("`compress_ratios` has " + std::to_string(c.compress_ratios.size()) + " entries; expected " +
               std::to_string(c.n_layers + c.n_mtp_layers) +
               " (`num_hidden_layers` + `num_nextn_predict_layers`)");
    for (std::size_t i = 0; i < c.compress_ratios.size(); ++i) {
        const std::int64_t ratio = c.compress_ratios[i];
        if (ratio != 0 && ratio != 4 && ratio != 128)
            r.fail("`compress_ratios[" + std::to_string(i) + "]` is " + std::to_string(ratio) +
                   "; each must be 0 (sliding window only), 4 (CSA) or 128 (HCA)");
        if (static_cast<std::int64_t>(i) >= c.n_layers && ratio != 0)
            r.fail("`compress_ratios[" + std::to_string(i) + "]` is the MTP block's and must be 0");
    }
    if (c.bos_token_id < 0 || c.bos_token_id >= c.vocab_size || c.eos_token_id < 0 ||
        c.eos_token_id >= c.vocab_size)
        r.fail("`bos_token_id` and `eos_token_id` must be token ids below `vocab_size`");
    if (!r.error().empty()) return Error{r.error()};
    return c;
}

Result<Config> load_config(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return Error{"cannot read " + path};
    std::ostringstream text;
    text << file.rdbuf();
    return parse_config(text.str(), path);
}

} // namespace lectern::model::v4
