#include "inference/engine/engine.h"

#include "inference/cache/snapshot_file.h"
#include "inference/formats/mapped_file.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace lectern::inference {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Engine snapshot payload: u64 state length | state | u64 logits count | logits (fp32).
std::vector<std::byte> pack(const std::vector<std::byte>& state, const std::vector<float>& logits) {
    std::vector<std::byte> out(16 + state.size() + logits.size() * sizeof(float));
    const std::uint64_t state_size = state.size(), logits_size = logits.size();
    std::byte* at = out.data();
    if (at == nullptr) return out; // never: out holds at least 16 bytes (keeps GCC's null analysis quiet)
    std::memcpy(at, &state_size, 8);
    if (!state.empty()) std::memcpy(at + 8, state.data(), state.size());
    std::memcpy(at + 8 + state.size(), &logits_size, 8);
    if (!logits.empty()) std::memcpy(at + 16 + state.size(), logits.data(), logits.size() * sizeof(float));
    return out;
}

} // namespace

Result<std::unique_ptr<Engine>> Engine::load(const std::string& path, const model::LoadProgress& progress,
                                             const backend::Request& backend) {
    auto request = backend::resolve(backend);
    if (!request) return std::move(request).take_error();
    auto loaded = model::load_model(path, progress, *request);
    if (!loaded) return std::move(loaded).take_error();
    auto engine = std::make_unique<Engine>(std::move(*loaded));
    const backend::Status status = engine->model_->backend();
    if (*request->choice != backend::Choice::Cpu && status.kind == backend::Kind::Cpu &&
        status.fallbacks.empty())
        engine->cpu_only_ = "GPU: the " + engine->info().family + " graph runs on the CPU only in this build";
    return engine;
}

Engine::Engine(std::unique_ptr<model::Model> model) : model_(std::move(model)), state_(model_->new_state()) {
    stats_.state_bytes = state_->memory_bytes();
    stats_.state_device_bytes = state_->device_bytes();
}

const model::ModelInfo& Engine::info() const {
    return model_->info();
}

const tokenizer::BpeTokenizer* Engine::tokenizer() const {
    return model_->tokenizer();
}

Result<PrefillResult> Engine::prefill(std::span<const model::Token> tokens,
                                      const std::function<void(std::int64_t, std::int64_t)>& progress) {
    const std::lock_guard lock(mutex_);
    const auto start = Clock::now();
    model::ForwardOptions options;
    options.logits = model::LogitsWanted::Last;
    options.progress = progress;
    options.cancel = &cancel_;
    auto result = model_->forward(*state_, tokens, options);
    cancel_ = false;
    if (!result) return std::move(result).take_error();
    if (result->rows == 1) last_logits_ = std::move(result->logits);
    {
        const std::lock_guard stats_lock(stats_mutex_);
        stats_.prefill_tokens += result->consumed;
        stats_.prefill_seconds += seconds_since(start);
        stats_.position = state_->position();
        stats_.state_bytes = state_->memory_bytes();
        stats_.state_device_bytes = state_->device_bytes();
    }
    return PrefillResult{result->consumed, result->cancelled};
}

Result<GenerateResult> Engine::generate(const GenerateOptions& options,
                                        const std::function<bool(model::Token)>& on_token) {
    const std::lock_guard lock(mutex_);
    if (last_logits_.empty()) return Error{"generate needs a prefilled prompt first (the sequence is empty)"};
    std::vector<model::Token> stops = options.extra_stop_tokens;
    if (options.stop_at_model_stop_tokens)
        stops.insert(stops.end(), info().stop_tokens.begin(), info().stop_tokens.end());
    Sampler sampler(options.sampler);
    evidence_.clear();
    model::ForwardOptions step_options;
    if (record_evidence_ && info().reports_indexer_selections) step_options.indexer_observer = &evidence_;
    GenerateResult result;
    const auto start = Clock::now();
    auto finish = [&](StopReason reason) {
        result.reason = reason;
        cancel_ = false;
        const std::lock_guard stats_lock(stats_mutex_);
        stats_.generated_tokens += static_cast<std::int64_t>(result.tokens.size());
        stats_.decode_seconds += seconds_since(start);
        stats_.position = state_->position();
        stats_.state_bytes = state_->memory_bytes();
        stats_.state_device_bytes = state_->device_bytes();
    };
    while (static_cast<std::int64_t>(result.tokens.size()) < options.max_tokens) {
        if (cancel_) {
            finish(StopReason::Cancelled);
            return result;
        }
        const model::Token token = sampler.sample(last_logits_);
        result.tokens.push_back(token);
        const bool keep_going = !on_token || on_token(token);
        if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
            finish(StopReason::StopToken);
            return result;
        }
        if (!keep_going) {
            finish(StopReason::Caller);
            return result;
        }
        if (state_->position() >= info().context_length) {
            finish(StopReason::ContextFull);
            return result;
        }
        // The token joins the sequence, and its logits choose the next one.
        auto step = model_->forward(*state_, std::span(&token, 1), step_options);
        if (!step) {
            finish(StopReason::Cancelled);
            return std::move(step).take_error();
        }
        last_logits_ = std::move(step->logits);
    }
    finish(StopReason::MaxTokens);
    return result;
}

void Engine::cancel() {
    cancel_ = true;
}

void Engine::reset() {
    const std::lock_guard lock(mutex_);
    state_ = model_->new_state();
    last_logits_.clear();
    const std::lock_guard stats_lock(stats_mutex_);
    stats_.position = 0;
    stats_.state_bytes = state_->memory_bytes();
    stats_.state_device_bytes = state_->device_bytes();
}

std::vector<std::byte> Engine::snapshot() const {
    const std::lock_guard lock(mutex_);
    return cache::encode_snapshot(info().family, pack(state_->snapshot(), last_logits_));
}

Result<void> Engine::restore(std::span<const std::byte> bytes) {
    auto payload = cache::decode_snapshot(bytes, info().family);
    if (!payload) return std::move(payload).take_error();
    const std::lock_guard lock(mutex_);
    const std::vector<std::byte>& data = *payload;
    std::uint64_t state_size = 0, logits_size = 0;
    if (data.size() < 16) return Error{"the snapshot is damaged (too short)"};
    std::memcpy(&state_size, data.data(), 8);
    if (state_size > data.size() - 16) return Error{"the snapshot is damaged (state length)"};
    std::memcpy(&logits_size, data.data() + 8 + state_size, 8);
    if (logits_size * sizeof(float) != data.size() - 16 - state_size ||
        (logits_size != 0 && static_cast<std::int64_t>(logits_size) != info().vocab_size))
        return Error{"the snapshot is damaged (logits length)"};
    auto state = model_->new_state();
    if (auto restored = state->restore(std::span(data).subspan(8, state_size)); !restored) return restored;
    std::vector<float> logits(logits_size);
    std::memcpy(logits.data(), data.data() + 16 + state_size, logits_size * sizeof(float));
    state_ = std::move(state);
    last_logits_ = std::move(logits);
    const std::lock_guard stats_lock(stats_mutex_);
    stats_.position = state_->position();
    stats_.state_bytes = state_->memory_bytes();
    stats_.state_device_bytes = state_->device_bytes();
    return {};
}

Result<void> Engine::save_snapshot(const std::string& path) const {
    std::vector<std::byte> payload;
    {
        const std::lock_guard lock(mutex_);
        payload = pack(state_->snapshot(), last_logits_);
    }
    return cache::write_snapshot_file(path, info().family, payload);
}

Result<void> Engine::load_snapshot(const std::string& path) {
    auto file = formats::MappedFile::open(path);
    if (!file) return std::move(file).take_error();
    auto payload = cache::decode_snapshot(file->bytes(), info().family, path);
    if (!payload) return std::move(payload).take_error();
    return restore(cache::encode_snapshot(info().family, *payload));
}

void Engine::set_record_attention_evidence(bool on) {
    const std::lock_guard lock(mutex_);
    record_evidence_ = on;
}

AttentionEvidence Engine::attention_evidence() const {
    const std::lock_guard lock(mutex_);
    return evidence_.evidence(info().reports_indexer_selections);
}

EngineStats Engine::stats() const {
    const std::lock_guard lock(stats_mutex_);
    return stats_;
}

backend::Status Engine::backend() const {
    const std::lock_guard lock(stats_mutex_);
    backend::Status status = model_->backend();
    if (!cpu_only_.empty()) status.fallbacks.push_back(cpu_only_);
    status.kv_bytes_on_device = stats_.state_device_bytes;
    status.kv_bytes_on_host = stats_.state_bytes - stats_.state_device_bytes;
    return status;
}

} // namespace lectern::inference
