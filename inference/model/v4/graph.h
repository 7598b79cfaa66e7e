#pragma once
// The DeepSeek-V4 forward pass on the CPU (architecture note §2-§6), over bound weights and one
// sequence's caches. Tokens are processed in the order the reference's decode step uses, so any split of a
// sequence into chunks gives bit-identical results to a single pass.

#include "inference/model/v4/config.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/weights.h"
#include "kernels/cpu/quant/thread_pool.h"

#include <span>
#include <vector>

namespace lectern::model::v4 {

class Graph {
public:
    // `pool` (not owned; nullptr: the calling thread only) splits the heavy ops; results are bit-identical
    // whatever its size.
    Graph(const Config& config, const Weights& weights, kernels::quant::ThreadPool* pool = nullptr);

    // Runs `tokens` at positions state.position_... through layers [0, layers) (negative: all) and
    // advances the position. Returns the residual after them [tokens, hc_mult, dim]. `observer`, when set,
    // sees each CSA layer's indexer selection.
    std::vector<float> run(V4State& state, std::span<const Token> tokens, IndexerObserver* observer = nullptr,
                           std::int64_t layers = -1) const;
    // Head: logits (fp32, vocab values per row) of residual rows [rows, hc_mult, dim].
    void logits(const float* residual, std::int64_t rows, float* out) const;

    // The MTP block (§5), for speculative decoding: from the main model's final residual rows at positions
    // start.. (before the head mix) and the tokens that follow each of them, its own residual rows; its
    // sliding-window cache is `cache` (a ratio-0 layer cache). mtp_logits are the logits for the token
    // after next (its own head mix and norm, the shared head).
    std::vector<float> mtp(LayerCache& cache, std::int64_t start, const std::vector<float>& main_residual,
                           std::span<const Token> next_tokens) const;
    void mtp_logits(const float* residual, std::int64_t rows, float* out) const;

    // The RoPE frequencies (rope_frequencies below): of ratio-0 layers, or YaRN's of compressed layers.
    const std::vector<float>& frequencies(bool compressed) const {
        return compressed ? compressed_frequencies_ : plain_frequencies_;
    }

    // MoE routing (§6) from the router's scores [rows, experts] (sqrt-softplus applied): hash-routed
    // layers choose by token, the others by score with the bias steering the choice only. chosen and
    // weights are [rows, active].
    void route(const Layer& layer, const float* scores, std::span<const Token> tokens, std::int64_t* chosen,
               float* weights) const;
    // The routed experts of rows x [rows, dim] (the normed bf16 FFN input), weighted and added into
    // `accumulate` [rows, dim] expert by expert in ascending order: the CPU half of a graph whose experts
    // stay in host memory runs exactly this.
    void routed_experts(const Layer& layer, const float* x, std::int64_t rows, const std::int64_t* chosen,
                        const float* weights, float* accumulate) const;

private:
    struct HcMix {
        std::vector<float> pre, post, comb; // per token: [hc], [hc], [hc * hc]
    };

    void block(const Layer& layer, LayerCache& cache, std::int64_t start, std::span<const Token> tokens,
               std::vector<float>& residual, const std::vector<float>& frequencies,
               IndexerObserver* observer = nullptr, std::int64_t layer_index = 0) const;
    HcMix hc_pre(const HyperConnection& hc, const std::vector<float>& residual, std::int64_t rows,
                 std::vector<float>& mixed) const;
    void hc_post(const HcMix& mix, const std::vector<float>& output, std::int64_t rows,
                 std::vector<float>& residual) const;
    std::vector<float> attention(const Layer& layer, LayerCache& cache, std::int64_t start,
                                 const std::vector<float>& x, std::int64_t rows,
                                 const std::vector<float>& frequencies, IndexerObserver* observer,
                                 std::int64_t layer_index) const;
    void compress(const Compressor& compressor, CompressorState& state, std::int64_t ratio,
                  std::int64_t width, const float* a, const float* z, std::int64_t position, bool indexer,
                  std::vector<std::uint16_t>& out, const std::vector<float>& frequencies) const;
    void head(const HyperConnection& mix, const std::vector<float>& norm, const float* residual,
              std::int64_t rows, float* out) const;
    std::vector<float> moe(const Layer& layer, const std::vector<float>& x,
                           std::span<const Token> tokens) const;
    void expert(const Expert& expert, const float* x, std::int64_t rows, const std::vector<float>& gates,
                float* accumulate, const std::vector<std::int64_t>& row_of) const;

    const Config& config_;
    const Weights& weights_;
    kernels::quant::ThreadPool* pool_;
    std::vector<float> plain_frequencies_;      // ratio-0 layers and MTP
    std::vector<float> compressed_frequencies_; // ratio != 0 layers: compress_rope_theta with YaRN
};

// RoPE frequencies for `pairs` pairs (§3.2); YaRN when `yarn`.
std::vector<float> rope_frequencies(const Config& config, double theta, bool yarn);

} // namespace lectern::model::v4
