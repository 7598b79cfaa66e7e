#pragma once
// The model-agnostic interface every graph implements (DeepSeek-V4 in v4/, the small dense family in
// dense/). The engine drives a Model through this header only: one forward call that consumes a chunk of
// tokens from a sequence state's current position, with progress and cancellation.

#include "inference/backend/backend.h"
#include "kernels/result.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace lectern::tokenizer {
class BpeTokenizer;
} // namespace lectern::tokenizer

namespace lectern::model {

using Token = std::int32_t;

struct ModelInfo {
    std::string family; // "deepseek_v4", "llama", ...
    std::string name;   // shown to people: the folder or file name
    std::int64_t vocab_size = 0;
    std::int64_t context_length = 0; // the most positions one sequence may hold
    Token bos_token = -1;            // -1: the model has none
    // Whether a raw prompt gets bos_token first (GGUF: tokenizer.ggml.add_bos_token).
    bool prompt_starts_with_bos = true;
    Token eos_token = -1;
    std::vector<Token> stop_tokens; // end-of-turn tokens, EOS included
    // Whether forward() reports sparse attention's choices to an IndexerObserver (DeepSeek-V4's CSA
    // layers); dense models have no indexer and never do.
    bool reports_indexer_selections = false;
};

// One token's sparse-attention choice in one layer: the compressed KV entries the indexer kept. Entry j
// stands for the token positions [max(0, j * entry_stride - entry_lookback), (j + 1) * entry_stride).
struct IndexerSelection {
    std::int64_t layer = 0;
    std::int64_t position = 0;            // of the token that chose
    std::span<const std::int64_t> chosen; // entry indices, ascending
    std::span<const float> scores;        // the indexer's score of every visible entry, by entry index
    std::int64_t entry_stride = 0;
    std::int64_t entry_lookback = 0; // > 0 when entries overlap the block before
};

class IndexerObserver {
public:
    virtual ~IndexerObserver() = default;
    // Called on the forward's thread; the spans are valid during the call only.
    virtual void observe(const IndexerSelection& selection) = 0;
};

// Everything one sequence carries between forward calls: caches and position. Snapshots are the
// model's own bytes; cache/snapshot_file.h wraps them in the versioned, checksummed file format.
class SequenceState {
public:
    virtual ~SequenceState() = default;
    virtual std::int64_t position() const = 0; // tokens consumed so far
    virtual std::uint64_t memory_bytes() const = 0;
    virtual std::uint64_t device_bytes() const { return 0; } // the part of memory_bytes() on a GPU
    virtual std::vector<std::byte> snapshot() const = 0;
    // Replaces this state by a snapshot of the same model; a mismatch is an error, never a crash.
    virtual Result<void> restore(std::span<const std::byte> bytes) = 0;
    virtual std::unique_ptr<SequenceState> clone() const = 0;
};

enum class LogitsWanted { None, Last, All };

struct ForwardOptions {
    LogitsWanted logits = LogitsWanted::Last;
    // Called after each processed token slice with (tokens done, tokens in this call).
    std::function<void(std::int64_t done, std::int64_t total)> progress;
    // Checked between slices; when set, the call stops early with `cancelled` and a consistent state.
    const std::atomic<bool>* cancel = nullptr;
    // Opt-in: sees every indexer selection of this call (one call per token and sparse layer).
    IndexerObserver* indexer_observer = nullptr;
};

struct ForwardResult {
    std::int64_t consumed = 0; // tokens appended to the state (all of them unless cancelled)
    bool cancelled = false;
    std::int64_t rows = 0;     // logits rows: 0, 1 (last) or `consumed` (all)
    std::vector<float> logits; // rows x vocab_size, fp32
};

class Model {
public:
    virtual ~Model() = default;
    virtual const ModelInfo& info() const = 0;
    // The tokenizer the model came with (tokenizer.json beside a checkpoint, GGUF metadata), or null.
    virtual const tokenizer::BpeTokenizer* tokenizer() const { return nullptr; }
    // Where the model runs (backend/backend.h); graphs that only run on the CPU keep this default.
    virtual backend::Status backend() const { return {}; }
    virtual std::unique_ptr<SequenceState> new_state() const = 0;
    // Runs `tokens` from state.position(); the state must come from this model's new_state().
    virtual Result<ForwardResult> forward(SequenceState& state, std::span<const Token> tokens,
                                          const ForwardOptions& options) const = 0;
};

} // namespace lectern::model
