#pragma once
// DeepSeek-V4 hyperparameters, read from a checkpoint's config.json in either naming: the HF one
// (`hidden_size`, `num_hidden_layers`, ...) or the official inference one (`dim`, `n_layers`, ...).
// Every missing, mistyped or inconsistent field is an error that names the field.

#include "kernels/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lectern::model::v4 {

struct Config {
    std::int64_t vocab_size = 0;
    std::int64_t dim = 0;      // hidden_size
    std::int64_t n_layers = 0; // main layers, without the MTP block
    std::int64_t n_heads = 0;
    std::int64_t head_dim = 0;
    std::int64_t rope_head_dim = 0; // RoPE on the last rope_head_dim dims of each head
    std::int64_t q_lora_rank = 0;
    std::int64_t o_groups = 0;
    std::int64_t o_lora_rank = 0;
    std::int64_t window_size = 0;
    std::vector<std::int64_t> compress_ratios; // n_layers + n_mtp_layers entries: 0 SWA, 4 CSA, 128 HCA
    double rope_theta = 0;
    double compress_rope_theta = 0;
    double rope_factor = 1; // YaRN, compressed layers only
    std::int64_t original_seq_len = 0;
    double beta_fast = 0;
    double beta_slow = 0;
    std::int64_t max_seq_len = 0;
    std::int64_t index_n_heads = 0;
    std::int64_t index_head_dim = 0;
    std::int64_t index_topk = 0;
    std::int64_t n_routed_experts = 0;
    std::int64_t n_shared_experts = 0;
    std::int64_t n_activated_experts = 0;
    std::int64_t moe_inter_dim = 0;
    double route_scale = 1;
    std::int64_t n_hash_layers = 0;
    double swiglu_limit = 0;
    std::int64_t hc_mult = 0;
    std::int64_t hc_sinkhorn_iters = 0;
    double hc_eps = 0;
    double norm_eps = 0;
    std::int64_t n_mtp_layers = 0;
    std::int32_t bos_token_id = -1;
    std::int32_t eos_token_id = -1;

    std::int64_t nope_head_dim() const { return head_dim - rope_head_dim; }
    std::int64_t ratio(std::int64_t layer) const {
        return compress_ratios.at(static_cast<std::size_t>(layer));
    }
};

// Parses JSON text; `source` names the file in errors.
Result<Config> parse_config(const std::string& json_text, const std::string& source);
Result<Config> load_config(const std::string& path);

} // namespace lectern::model::v4
