// DeepSeek-V4 per-layer-type cost on the CPU backend with the real V4-Flash attention dimensions
// (D 4096, 64 heads of 512, q rank 1024, 8 output groups of rank 1024, window 128, indexer 64x128 with
// top-512), one layer each of SWA, CSA (ratio 4) and HCA (ratio 128), random weights. To fit in memory
// the MoE has 8 routed experts (6 active, width 2048, FP4) instead of 256, and a 1024-token vocabulary;
// the per-token expert work is the same as Flash's.
//
// For each context (default 1K, 8K, 64K) the caches are filled with random entries of the right sizes
// (prefilling 64K tokens for real would take hours on a CPU), then it times one decode step and a
// 32-token prefill chunk from that position, and prints the KV-cache bytes per token per layer type next
// to the architecture note's arithmetic. Times are the thread's CPU time (single-threaded engine), printed
// with ratios against the SWA layer at the first context, measured in the same run; nothing is asserted.
//
// usage: engine_layers [CONTEXT...]
#include "inference/engine/attention_evidence.h"
#include "inference/model/v4/graph.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/weights.h"
#include "kernels/cpu/numerics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace lectern;
using namespace lectern::model::v4;
using kernels::cpu::WeightFormat;

std::uint64_t rng_state = 0x1234567;
std::uint64_t next_random() {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
float uniform(float limit) {
    return (static_cast<float>(next_random() >> 40) / 8388608.0f - 1.0f) * limit;
}

std::deque<std::vector<std::uint8_t>> storage; // owns every weight buffer

const std::uint8_t* random_bytes(std::size_t count, std::uint8_t low, std::uint8_t span,
                                 bool no_nan = false) {
    auto& bytes = storage.emplace_back(count);
    for (auto& b : bytes) {
        b = static_cast<std::uint8_t>(low + next_random() % span);
        if (no_nan && (b & 0x7F) == 0x7F) b = 0x30;
    }
    return bytes.data();
}

WeightMatrix fp8(std::int64_t out, std::int64_t in) {
    const auto blocks = static_cast<std::size_t>(((out + 127) / 128) * ((in + 127) / 128));
    // e4m3 codes up to ~2, scales 2^-9..2^-6: weights of a plausible size
    return {WeightFormat::F8_E4M3_BLOCK128, random_bytes(static_cast<std::size_t>(out * in), 0, 0x48, true),
            random_bytes(blocks, 118, 4), out, in};
}
WeightMatrix fp4(std::int64_t out, std::int64_t in) {
    return {WeightFormat::FP4_E2M1_BLOCK32, random_bytes(static_cast<std::size_t>(out * in / 2), 0, 255),
            random_bytes(static_cast<std::size_t>(out * in / 32), 118, 4), out, in};
}
WeightMatrix bf16(std::int64_t out, std::int64_t in, float sd) {
    auto& bytes = storage.emplace_back(static_cast<std::size_t>(out * in * 2));
    auto* bits = reinterpret_cast<std::uint16_t*>(bytes.data());
    for (std::int64_t i = 0; i < out * in; ++i) bits[i] = kernels::cpu::f32_to_bf16(uniform(sd * 1.7f));
    return {WeightFormat::BF16, bytes.data(), nullptr, out, in};
}
std::vector<float> vec(std::int64_t n, float mean, float spread) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = mean + uniform(spread);
    return v;
}

Config flash_layer(std::int64_t ratio) {
    Config c;
    c.vocab_size = 1024;
    c.dim = 4096;
    c.n_layers = 1;
    c.n_heads = 64;
    c.head_dim = 512;
    c.rope_head_dim = 64;
    c.q_lora_rank = 1024;
    c.o_groups = 8;
    c.o_lora_rank = 1024;
    c.window_size = 128;
    c.compress_ratios = {ratio, 0};
    c.rope_theta = 10000;
    c.compress_rope_theta = 160000;
    c.rope_factor = 16;
    c.original_seq_len = 65536;
    c.beta_fast = 32;
    c.beta_slow = 1;
    c.max_seq_len = 1048576;
    c.index_n_heads = 64;
    c.index_head_dim = 128;
    c.index_topk = 512;
    c.n_routed_experts = 8;
    c.n_shared_experts = 1;
    c.n_activated_experts = 6;
    c.moe_inter_dim = 2048;
    c.route_scale = 1.5;
    c.n_hash_layers = 0;
    c.swiglu_limit = 10;
    c.hc_mult = 4;
    c.hc_sinkhorn_iters = 20;
    c.hc_eps = 1e-6;
    c.norm_eps = 1e-6;
    c.n_mtp_layers = 1;
    c.bos_token_id = 0;
    c.eos_token_id = 1;
    return c;
}

Weights random_weights(const Config& c) {
    Weights w;
    w.embed = bf16(c.vocab_size, c.dim, 1.0f);
    w.head = bf16(c.vocab_size, c.dim, 0.02f);
    w.norm = vec(c.dim, 1.0f, 0.1f);
    const float hc_sd = 0.5f / std::sqrt(static_cast<float>(c.hc_mult * c.dim));
    w.hc_head = {vec(c.hc_mult * c.hc_mult * c.dim, 0, hc_sd), vec(c.hc_mult, 0, 0.5f), vec(1, 1, 0.2f)};
    Layer& l = w.layers.emplace_back();
    const std::int64_t ratio = c.compress_ratios[0], rows = (2 + c.hc_mult) * c.hc_mult;
    l.ratio = ratio;
    l.attn_norm = l.ffn_norm = vec(c.dim, 1.0f, 0.1f);
    l.hc_attn = l.hc_ffn = {vec(rows * c.hc_mult * c.dim, 0, hc_sd), vec(rows, 0, 0.5f), vec(3, 1, 0.2f)};
    l.wq_a = fp8(c.q_lora_rank, c.dim);
    l.q_norm = vec(c.q_lora_rank, 1, 0.1f);
    l.wq_b = fp8(c.n_heads * c.head_dim, c.q_lora_rank);
    l.wkv = fp8(c.head_dim, c.dim);
    l.kv_norm = vec(c.head_dim, 1, 0.1f);
    l.wo_a = fp8(c.o_groups * c.o_lora_rank, c.n_heads / c.o_groups * c.head_dim);
    l.wo_b = fp8(c.dim, c.o_groups * c.o_lora_rank);
    l.attn_sink = vec(c.n_heads, 0, 1);
    const float dim_sd = 1.0f / std::sqrt(static_cast<float>(c.dim));
    const std::int64_t lanes = ratio == 4 ? 2 : 1;
    if (ratio) {
        l.compressor = {bf16(lanes * c.head_dim, c.dim, dim_sd), bf16(lanes * c.head_dim, c.dim, dim_sd),
                        vec(ratio * lanes * c.head_dim, 0, 0.5f), vec(c.head_dim, 1, 0.1f)};
    }
    if (ratio == 4) {
        l.indexer_compressor = {bf16(2 * c.index_head_dim, c.dim, dim_sd),
                                bf16(2 * c.index_head_dim, c.dim, dim_sd),
                                vec(4 * 2 * c.index_head_dim, 0, 0.5f), vec(c.index_head_dim, 1, 0.1f)};
        l.indexer_wq_b = fp8(c.index_n_heads * c.index_head_dim, c.q_lora_rank);
        l.indexer_weights_proj = bf16(c.index_n_heads, c.dim, dim_sd);
    }
    l.gate = bf16(c.n_routed_experts, c.dim, dim_sd);
    l.gate_bias = vec(c.n_routed_experts, 0, 0.1f);
    for (std::int64_t e = 0; e < c.n_routed_experts; ++e)
        l.experts.push_back(
            {fp4(c.moe_inter_dim, c.dim), fp4(c.dim, c.moe_inter_dim), fp4(c.moe_inter_dim, c.dim)});
    l.shared_expert = {fp8(c.moe_inter_dim, c.dim), fp8(c.dim, c.moe_inter_dim), fp8(c.moe_inter_dim, c.dim)};
    return w;
}

// Caches as they are after `context` tokens (random bf16-sized values; compressor blocks in progress empty).
void fill(V4State& state, const Config& c, std::int64_t context) {
    LayerCache& cache = state.layers[0];
    auto bf16 = [](const std::vector<float>& values) {
        std::vector<std::uint16_t> bits(values.size());
        std::transform(values.begin(), values.end(), bits.begin(), kernels::cpu::f32_to_bf16);
        return bits;
    };
    for (std::uint16_t& v : cache.window) v = kernels::cpu::f32_to_bf16(uniform(1.0f));
    const std::int64_t ratio = c.compress_ratios[0];
    if (ratio) cache.entries = bf16(vec(context / ratio * c.head_dim, 0, 1));
    if (ratio == 4) cache.index_keys = bf16(vec(context / 4 * c.index_head_dim, 0, 0.5f));
    state.position_ = context;
}

// CPU time of this thread: the engine is single-threaded, and wall time on a shared machine measures the
// neighbours as much as the code.
double cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

double seconds(const std::function<void()>& work) {
    const double start = cpu_seconds();
    work();
    return cpu_seconds() - start;
}

// Evidence from attention (inference/engine/attention_evidence.h): one CSA decode step with the recorder
// attached against one without, alternating which goes first, median of 9 each.
void evidence_overhead(const Graph& graph, const V4State& state) {
    const std::vector<model::Token> one = {5};
    std::vector<double> off, on;
    inference::EvidenceRecorder recorder;
    for (int round = 0; round < 9; ++round) {
        V4State plain = state, recorded = state;
        const auto without = [&] { off.push_back(seconds([&] { graph.run(plain, one); })); };
        const auto with = [&] { on.push_back(seconds([&] { graph.run(recorded, one, &recorder); })); };
        if (round % 2) {
            with();
            without();
        } else {
            without();
            with();
        }
    }
    std::sort(off.begin(), off.end());
    std::sort(on.begin(), on.end());
    std::printf(
        "     CSA decode with evidence recording: %.2f ms vs %.2f ms, overhead %+.2f%% (median of 9)\n",
        on[4] * 1e3, off[4] * 1e3, (on[4] / off[4] - 1.0) * 100.0);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::int64_t> contexts;
    for (int i = 1; i < argc; ++i) contexts.push_back(std::atoll(argv[i]));
    if (contexts.empty()) contexts = {1024, 8192, 65536};
    const char* names[] = {"SWA", "CSA", "HCA"};
    const std::int64_t ratios[] = {0, 4, 128};
    // The note's bf16 arithmetic (growing part, bytes per token): SWA 0, CSA (1024 + 256) / 4, HCA 1024 /
    // 128.
    const double note_bytes[] = {0.0, 320.0, 8.0};
    constexpr std::int64_t kChunk = 32;

    std::printf("DeepSeek-V4-Flash attention dimensions, one layer per type, CPU backend (%s)\n",
                kernels::cpu::have_avx2() ? "AVX2+FMA" : "scalar");
    std::printf("%-4s %8s %12s %8s %16s %8s\n", "type", "context", "decode ms", "ratio", "prefill ms/tok",
                "ratio");
    double baseline_decode = 0, baseline_prefill = 0;
    std::vector<double> bytes_per_token(3);
    for (int type = 0; type < 3; ++type) {
        const Config config = flash_layer(ratios[type]);
        const Weights weights = random_weights(config);
        const Graph graph(config, weights);
        for (const std::int64_t context : contexts) {
            V4State state(config);
            fill(state, config, context);
            const std::vector<model::Token> one = {5};
            std::vector<model::Token> chunk(kChunk);
            for (std::int64_t i = 0; i < kChunk; ++i)
                chunk[static_cast<std::size_t>(i)] = static_cast<model::Token>(i + 7);
            V4State decode_state = state;
            graph.run(decode_state, one); // warm the weights' pages
            decode_state = state;
            const double decode = seconds([&] { graph.run(decode_state, one); });
            V4State prefill_state = state;
            const double prefill = seconds([&] { graph.run(prefill_state, chunk); }) / kChunk;
            if (baseline_decode == 0) {
                baseline_decode = decode;
                baseline_prefill = prefill;
            }
            std::printf("%-4s %8lld %12.2f %8.2f %16.2f %8.2f\n", names[type],
                        static_cast<long long>(context), decode * 1e3, decode / baseline_decode,
                        prefill * 1e3, prefill / baseline_prefill);
            if (ratios[type] == 4) evidence_overhead(graph, state);
        }
        // Growing cache bytes per token, from the state's own accounting over 4096 more tokens.
        V4State small(config), large(config);
        fill(small, config, 8192);
        fill(large, config, 8192 + 4096);
        bytes_per_token[static_cast<std::size_t>(type)] =
            static_cast<double>(large.memory_bytes() - small.memory_bytes()) / 4096.0;
        storage.clear();
    }
    std::printf("\nKV-cache bytes per token (growing part), this engine (bf16 entries) vs the note's bf16 "
                "arithmetic:\n");
    for (int type = 0; type < 3; ++type)
        std::printf(
            "%-4s engine %7.2f B   note (bf16) %7.2f B   ratio %s\n", names[type],
            bytes_per_token[static_cast<std::size_t>(type)], note_bytes[type],
            note_bytes[type] > 0
                ? std::to_string(bytes_per_token[static_cast<std::size_t>(type)] / note_bytes[type]).c_str()
                : "-");
    const double flash_engine = 21 * bytes_per_token[1] + 20 * bytes_per_token[2];
    std::printf("Flash (21 CSA + 20 HCA) at 1,048,576 tokens: engine %.2f GiB, note bf16 6.72 GiB\n",
                flash_engine * 1048576.0 / (1024.0 * 1024.0 * 1024.0));
    return 0;
}
