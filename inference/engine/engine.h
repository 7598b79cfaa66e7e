#pragma once
// The thread-safe engine API the app drives from a worker thread: load a model, prefill a prompt into
// the current sequence, stream generated tokens, cancel from any thread, snapshot and restore the whole
// sequence state (in memory or to a file), and read statistics. Calls other than cancel() and stats()
// are serialised; cancel() makes the running prefill or generation return early with `cancelled`.

#include "inference/engine/attention_evidence.h"
#include "inference/model/factory.h"
#include "inference/model/model.h"
#include "inference/sampler.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace lectern::inference {

struct EngineStats {
    std::int64_t position = 0;       // tokens in the current sequence
    std::int64_t prefill_tokens = 0; // totals since load
    std::int64_t generated_tokens = 0;
    double prefill_seconds = 0.0;
    double decode_seconds = 0.0;
    std::uint64_t state_bytes = 0;        // the sequence state's memory
    std::uint64_t state_device_bytes = 0; // the part of it on a GPU
};

struct GenerateOptions {
    std::int64_t max_tokens = 256;
    SamplerSettings sampler;
    bool stop_at_model_stop_tokens = true; // EOS and the model's end-of-turn tokens
    std::vector<model::Token> extra_stop_tokens;
};

enum class StopReason { MaxTokens, StopToken, Caller, Cancelled, ContextFull };

struct GenerateResult {
    // The generated tokens, a stop token included when one ended it. Every token joins the sequence
    // except one that ended generation (a stop token, or the token after which the caller said stop).
    std::vector<model::Token> tokens;
    StopReason reason = StopReason::MaxTokens;
};

struct PrefillResult {
    std::int64_t consumed = 0;
    bool cancelled = false;
};

class Engine {
public:
    // `progress` returning false cancels the load at the loader's next step (an error, no engine).
    // `backend` picks where the model runs (inference/backend/README.md): unset fields come from
    // LECTERN_BACKEND and LECTERN_GPU_LAYERS, then auto (CUDA, Vulkan, CPU, with the reason for each
    // fallback in backend().fallbacks). A bad environment value is an error naming the variable.
    static Result<std::unique_ptr<Engine>> load(const std::string& path,
                                                const model::LoadProgress& progress = {},
                                                const backend::Request& backend = {});
    explicit Engine(std::unique_ptr<model::Model> model);

    const model::ModelInfo& info() const;
    const tokenizer::BpeTokenizer* tokenizer() const; // the model's own, or null; lives as long as the engine

    // Appends `tokens` to the current sequence; progress is (done, total).
    Result<PrefillResult> prefill(std::span<const model::Token> tokens,
                                  const std::function<void(std::int64_t, std::int64_t)>& progress = {});
    // Generates after the current sequence. `on_token` sees each token as it is made and returns false
    // to stop (StopReason::Caller). Needs at least one prefilled token.
    Result<GenerateResult> generate(const GenerateOptions& options,
                                    const std::function<bool(model::Token)>& on_token = {});
    void cancel(); // any thread; affects the call running now (or the next one, if none is)

    void reset(); // an empty sequence
    std::vector<std::byte> snapshot() const;
    Result<void> restore(std::span<const std::byte> bytes);
    Result<void> save_snapshot(const std::string& path) const;
    Result<void> load_snapshot(const std::string& path);

    EngineStats stats() const;
    // Where the model runs: backend, device, fallbacks and their reasons, weight and cache bytes on the
    // device and on the host (the cache's as of the last call).
    backend::Status backend() const;

    // Opt-in evidence from attention (attention_evidence.h): while on, generate() records which
    // compressed blocks the sparse-attention indexer chose for each generated token. Off by default.
    void set_record_attention_evidence(bool on);
    // What the last generate() call recorded (empty when recording was off); `available` is false for
    // models without an indexer. Prefill, snapshots and restores leave it as it is.
    AttentionEvidence attention_evidence() const;

private:
    std::unique_ptr<model::Model> model_;
    std::unique_ptr<model::SequenceState> state_;
    std::vector<float> last_logits_; // logits after the last consumed token
    mutable std::mutex mutex_;
    mutable std::mutex stats_mutex_;
    EngineStats stats_;
    std::string cpu_only_; // a fallback line of the engine's own: a GPU asked for, a graph without one
    std::atomic<bool> cancel_{false};
    bool record_evidence_ = false;
    EvidenceRecorder evidence_;
};

} // namespace lectern::inference
