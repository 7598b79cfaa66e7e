#pragma once
// DeepSeek-V4 weights bound to a checkpoint (safetensors shards or a GGUF file, tensor_source.h): every
// tensor the graph reads is found by its official name, its dtype and shape are checked against the
// config, and it is viewed in place (matrices: FP8, FP4, BF16, F32, or a GGUF file's F16 and block types)
// or copied to fp32 (norms, mHC parameters, biases: small vectors). The views stay valid as long as the
// source.

#include "inference/model/v4/config.h"
#include "inference/model/v4/tensor_source.h"
#include "kernels/cpu/ops.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lectern::model::v4 {

using kernels::cpu::WeightMatrix;

struct HyperConnection {
    std::vector<float> fn;    // [(2 + hc) * hc, hc * dim] (or [hc, hc * dim] for a head)
    std::vector<float> base;  // [(2 + hc) * hc] (or [hc])
    std::vector<float> scale; // [3] (or [1])
};

struct Compressor {
    WeightMatrix wkv, wgate; // [c * d_c, dim], fp32 GEMMs over bf16 weights
    std::vector<float> ape;  // [ratio, c * d_c]
    std::vector<float> norm; // [d_c]
};

struct Expert {
    WeightMatrix w1, w2, w3;
};

struct Layer {
    std::int64_t ratio = 0; // 0 SWA only, 4 CSA, 128 HCA
    std::vector<float> attn_norm, ffn_norm;
    HyperConnection hc_attn, hc_ffn;

    WeightMatrix wq_a, wq_b, wkv, wo_a, wo_b;
    std::vector<float> q_norm, kv_norm, attn_sink;
    Compressor compressor;         // ratio != 0
    Compressor indexer_compressor; // ratio == 4
    WeightMatrix indexer_wq_b;     // ratio == 4
    WeightMatrix indexer_weights_proj;

    WeightMatrix gate;
    std::vector<float> gate_bias;      // score-routed layers
    std::vector<std::int64_t> tid2eid; // hash-routed layers: [vocab, n_activated]
    std::vector<Expert> experts;
    Expert shared_expert;
};

struct Mtp {
    Layer block;
    WeightMatrix e_proj, h_proj;
    std::vector<float> enorm, hnorm, norm;
    HyperConnection hc_head;
};

struct Weights {
    WeightMatrix embed, head; // [vocab, dim], bf16 in the checkpoint
    std::vector<float> norm;
    HyperConnection hc_head;
    std::vector<Layer> layers;
    std::vector<Mtp> mtp;
};

// The rows [first, first + count) of a row-major weight, viewed in place: FP8 block rows must align to
// 128; a GGUF block type's rows are whole blocks (wo_a's groups are such slices).
WeightMatrix row_slice(const WeightMatrix& w, std::int64_t first, std::int64_t count);

// `progress` gets (fraction of tensors bound) and returns false to stop binding (an error then).
Result<Weights> bind_weights(const Config& config, TensorSource& source,
                             const std::function<bool(double)>& progress = {});

// The bytes the bound weights read, by the form they are held in: matrices by format ("F32", "BF16",
// "F8_E4M3" and "FP4_E2M1" with their E8M0 scales, or a GGUF type's name such as "Q4_K") and the fp32
// copies of the small vectors as "fp32 vectors" (hash tables included, at their 8 bytes a value).
std::map<std::string, std::uint64_t> weight_bytes(const Weights& weights);

} // namespace lectern::model::v4
