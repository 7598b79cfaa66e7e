#include "inference/model/v4/v4_model.h"

#include "inference/formats/gguf.h"
#include "inference/formats/safetensors.h"
#include "inference/model/dense/gguf_tokenizer.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/gguf_layout.h"
#include "inference/model/v4/graph.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/v4_vulkan.h"
#include "inference/model/v4/weights.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "inference/tokenizer/hf_tokenizer_json.h"
#include "kernels/vulkan/attention_ops.h"
#include "kernels/vulkan/ops.h"

#ifdef LECTERN_HAVE_CUDA
#include "inference/model/v4/v4_cuda.h"
#include "kernels/cuda/attention_ops.h"
#include "kernels/cuda/ops.h"
#endif

#include <algorithm>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace lectern::model::v4 {
namespace {

// Tokens per slice of a forward call: progress and cancellation are checked between slices. Any slicing
// gives identical results (graph.h), so this only trades weight re-reads against responsiveness.
constexpr std::int64_t kSliceTokens = 256;

class V4Model final : public Model {
public:
    V4Model(Config config, std::unique_ptr<TensorSource> source, Weights weights, std::string name,
            std::optional<tokenizer::BpeTokenizer> tokenizer, int threads)
        : config_(std::move(config)), source_(std::move(source)), weights_(std::move(weights)),
          pool_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
          graph_(config_, weights_, &pool_), tokenizer_(std::move(tokenizer)) {
        info_.family = "deepseek_v4";
        info_.name = std::move(name);
        info_.vocab_size = config_.vocab_size;
        info_.context_length = config_.max_seq_len;
        info_.bos_token = config_.bos_token_id;
        info_.eos_token = config_.eos_token_id;
        info_.stop_tokens = {config_.eos_token_id};
        info_.reports_indexer_selections = true;
    }

    // Places the last layers and the head on the backend the request selects (the CPU runs the rest).
    // `uploading` gets the fraction of the device's weights uploaded and returns false to stop: then
    // place() returns false and the model must not be used.
    bool place(const backend::Request& request, const std::function<bool(double)>& uploading) {
        backend::GraphSupport support;
        support.graph = "the DeepSeek-V4 graph";
        if (auto missing = unsupported_weight(config_, weights_, kernels::vulkan::linear_gguf_supports))
            support.vulkan_missing = "no Vulkan kernel for " + *missing;
#ifdef LECTERN_HAVE_CUDA
        if (auto missing = unsupported_weight(config_, weights_, kernels::cuda::linear_gguf_supports))
            support.cuda_missing = "no CUDA kernel for " + *missing;
        // The CUDA half has run only under the host emulation of CUDA (tests/cuda_emulation), not yet on a
        // GPU: auto keeps to Vulkan until a GPU has run its tests; asking for cuda uses it.
        else if (request.choice.value_or(backend::Choice::Auto) == backend::Choice::Auto)
            support.cuda_missing = "the DeepSeek-V4 graph's CUDA half has not been checked on a GPU yet, so "
                                   "auto passes it over (choose the cuda backend to use it)";
#endif
        status_.layers = config_.n_layers;
        status_.experts = request.experts.value_or(backend::ExpertPlacement::Device);
        backend::Selection selection = backend::select(request, support);
        status_.fallbacks = std::move(selection.fallbacks);
        const bool host_experts = status_.experts == backend::ExpertPlacement::Host;
        const backend::Kind kind = selection.kind;
        const auto footprint = [&](bool experts_on_host) {
            AttentionScratchBytes scratch = kernels::vulkan::sparse_attention_scratch_bytes;
#ifdef LECTERN_HAVE_CUDA
            if (kind == backend::Kind::Cuda) scratch = kernels::cuda::sparse_attention_scratch_bytes;
#endif
            return device_footprint(config_, weights_, experts_on_host, config_.max_seq_len, scratch);
        };
        backend::DevicePlan plan;
        if (kind != backend::Kind::Cpu) {
            plan = backend::plan_device(request, selection, footprint(host_experts));
            if (!plan.note.empty() && !host_experts) {
                const backend::DevicePlan lighter = backend::plan_device(request, selection, footprint(true));
                if (lighter.layers > plan.layers)
                    plan.note += std::string(" (with MoE experts kept in host memory, ") +
                                 (lighter.layers == config_.n_layers ? "all " : "") +
                                 std::to_string(lighter.layers) + " would fit)";
            }
            if (!plan.note.empty()) status_.fallbacks.push_back(plan.note);
        }
        const std::int64_t device_layers = plan.layers;
        if (device_layers > 0) {
            bool cancelled = false;
            const auto progress = [&](double fraction) { return !(cancelled = !uploading(fraction)); };
            const std::int64_t first_layer = config_.n_layers - device_layers;
            Result<std::unique_ptr<V4DeviceGraph>> graph = Error{"no device graph"};
            if (kind == backend::Kind::Vulkan) {
                auto made = V4VulkanGraph::create(selection.vulkan, config_, weights_, graph_, first_layer,
                                                  host_experts, progress);
                graph = made ? Result<std::unique_ptr<V4DeviceGraph>>(std::move(*made))
                             : std::move(made).take_error();
            }
#ifdef LECTERN_HAVE_CUDA
            if (kind == backend::Kind::Cuda) {
                auto made = V4CudaGraph::create(config_, weights_, graph_, first_layer, host_experts,
                                                request.device_memory.value_or(0), progress);
                graph = made ? Result<std::unique_ptr<V4DeviceGraph>>(std::move(*made))
                             : std::move(made).take_error();
            }
#endif
            if (cancelled) return false;
            if (graph) {
                device_ = std::move(*graph);
                backend::record_device(status_, selection, device_layers, device_->weight_bytes());
            } else {
                status_.fallbacks.push_back(std::string(kind == backend::Kind::Cuda ? "CUDA: " : "Vulkan: ") +
                                            graph.error());
            }
        }
        std::uint64_t total = 0;
        for (const auto& [form, bytes] : weight_bytes(weights_)) total += bytes;
        status_.weight_bytes_on_host = total - std::min(total, status_.weight_bytes_on_device);
        return true;
    }

    const ModelInfo& info() const override {
        return info_;
    }
    const tokenizer::BpeTokenizer* tokenizer() const override {
        return tokenizer_ ? &*tokenizer_ : nullptr;
    }
    backend::Status backend() const override {
        backend::Status status = status_;
        if (device_) status.device_bytes_in_use = device_->device_bytes_in_use();
        const std::lock_guard lock(host_fallback_mutex_);
        if (!host_fallback_.empty()) status.fallbacks.push_back(host_fallback_);
        return status;
    }
    std::unique_ptr<SequenceState> new_state() const override {
        return std::make_unique<V4State>(config_);
    }

    Result<ForwardResult> forward(SequenceState& base_state, std::span<const Token> tokens,
                                  const ForwardOptions& options) const override {
        auto* state = dynamic_cast<V4State*>(&base_state);
        if (!state) return Error{"forward: the sequence state does not belong to a DeepSeek-V4 model"};
        if (auto usable = state->usable(); !usable) return Error{usable.error()};
        for (const Token token : tokens)
            if (token < 0 || token >= config_.vocab_size)
                return Error{"token id " + std::to_string(token) + " is outside the vocabulary (0.." +
                             std::to_string(config_.vocab_size - 1) + ")"};
        const auto total = static_cast<std::int64_t>(tokens.size());
        if (state->position() + total > config_.max_seq_len)
            return Error{"the sequence would hold " + std::to_string(state->position() + total) +
                         " tokens, more than the model's context of " + std::to_string(config_.max_seq_len)};

        const std::lock_guard lock(forward_mutex_);
        if (device_) return forward_on_device(*state, tokens, options);
        ForwardResult result;
        std::vector<float> last_residual;
        for (std::int64_t done = 0; done < total;) {
            if (options.cancel && options.cancel->load()) {
                result.cancelled = true;
                break;
            }
            const std::int64_t count = std::min(kSliceTokens, total - done);
            const std::vector<float> residual = graph_.run(
                *state, tokens.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(count)),
                options.indexer_observer);
            const std::int64_t row = config_.hc_mult * config_.dim;
            if (options.logits == LogitsWanted::All) {
                result.logits.resize(static_cast<std::size_t>((done + count) * config_.vocab_size));
                graph_.logits(residual.data(), count, result.logits.data() + done * config_.vocab_size);
            } else if (options.logits == LogitsWanted::Last) {
                last_residual.assign(residual.end() - row, residual.end());
            }
            done += count;
            result.consumed = done;
            if (options.progress) options.progress(done, total);
        }
        if (options.logits == LogitsWanted::All) {
            result.rows = result.consumed;
        } else if (options.logits == LogitsWanted::Last && !last_residual.empty()) {
            result.rows = 1;
            result.logits.resize(static_cast<std::size_t>(config_.vocab_size));
            graph_.logits(last_residual.data(), 1, result.logits.data());
        }
        return result;
    }

private:
    // The host runs the embedding and layers [0, first_layer); the device the rest and the head.
    Result<ForwardResult> forward_on_device(V4State& state, std::span<const Token> tokens,
                                            const ForwardOptions& options) const {
        const auto total = static_cast<std::int64_t>(tokens.size());
        ForwardResult result;
        if (options.logits == LogitsWanted::All)
            result.logits.resize(static_cast<std::size_t>(total * config_.vocab_size));
        for (std::int64_t done = 0; done < total;) {
            if (options.cancel && options.cancel->load()) {
                result.cancelled = true;
                break;
            }
            const std::int64_t count = std::min(device_->max_rows(), total - done);
            const auto slice =
                tokens.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(count));
            const std::int64_t start = state.position_;
            const bool last = done + count == total;
            if (auto room = device_->prepare(state, start, start + count); !room) {
                // The device's caches cannot grow: the host's hold the newest values, so the slice runs
                // on the CPU and the sequence goes on (back on the device once it has room).
                if (auto read = state.read_back_from_device(); !read) {
                    state.invalidate("the sequence was lost when its device failed: " + read.error());
                    return Error{read.error()};
                }
                remember_host_fallback(start + count, room.error());
                const std::vector<float> residual = graph_.run(state, slice, options.indexer_observer);
                const std::int64_t row = config_.hc_mult * config_.dim;
                if (options.logits == LogitsWanted::All) {
                    graph_.logits(residual.data(), count, result.logits.data() + done * config_.vocab_size);
                } else if (options.logits == LogitsWanted::Last && last) {
                    result.logits.resize(static_cast<std::size_t>(config_.vocab_size));
                    graph_.logits(residual.data() + (count - 1) * row, 1, result.logits.data());
                }
                done += count;
                result.consumed = done;
                if (options.progress) options.progress(done, total);
                continue;
            }
            const std::vector<float> residual =
                graph_.run(state, slice, options.indexer_observer, device_->first_layer());
            std::int64_t logit_rows = 0;
            float* logits = nullptr;
            if (options.logits == LogitsWanted::All) {
                logit_rows = count;
                logits = result.logits.data() + done * config_.vocab_size;
            } else if (options.logits == LogitsWanted::Last && last) {
                logit_rows = 1;
                result.logits.resize(static_cast<std::size_t>(config_.vocab_size));
                logits = result.logits.data();
            }
            if (auto ran = device_->forward(state, start, slice, residual.data(), logit_rows, logits,
                                            options.indexer_observer);
                !ran) {
                state.invalidate("the sequence was lost when its device failed: " + ran.error());
                return Error{ran.error()};
            }
            done += count;
            result.consumed = done;
            if (options.progress) options.progress(done, total);
        }
        result.rows = options.logits == LogitsWanted::All                              ? result.consumed
                      : options.logits == LogitsWanted::Last && !result.logits.empty() ? 1
                                                                                       : 0;
        if (result.cancelled && options.logits == LogitsWanted::All)
            result.logits.resize(static_cast<std::size_t>(result.consumed * config_.vocab_size));
        return result;
    }

    void remember_host_fallback(std::int64_t positions, const std::string& why) const {
        const std::lock_guard lock(host_fallback_mutex_);
        host_fallback_ = "GPU: no room for the caches of " + std::to_string(positions) +
                         " positions; that sequence continued on the CPU (" + why + ")";
    }

    Config config_;
    std::unique_ptr<TensorSource> source_; // owns the mapped (and converted) bytes the weights view
    Weights weights_;
    mutable kernels::quant::ThreadPool pool_; // the graph's heavy ops split over it
    mutable std::mutex forward_mutex_;        // one forward at a time: the pool runs one op at a time
    Graph graph_;
    std::unique_ptr<V4DeviceGraph> device_; // the last status_.device_layers layers and the head
    backend::Status status_;
    mutable std::mutex host_fallback_mutex_;
    mutable std::string host_fallback_; // the last time a sequence outgrew the device, said in backend()
    std::optional<tokenizer::BpeTokenizer> tokenizer_;
    ModelInfo info_;
};

} // namespace

namespace {

bool wants_gpu(const backend::Request& request) {
    return request.choice && *request.choice != backend::Choice::Cpu;
}

// Where binding ends on the progress scale: with a GPU asked for, uploading its weights takes the rest.
double binding_share(const backend::Request& request) {
    return wants_gpu(request) ? 0.45 : 0.94;
}

// The model placed as the request asks (weights uploaded to a GPU, with progress from binding_share on),
// then "ready".
Result<std::unique_ptr<Model>> placed(std::unique_ptr<V4Model> model, const backend::Request& request,
                                      const LoadProgress& progress, const std::string& path) {
    const double from = 0.05 + binding_share(request);
    if (wants_gpu(request) && !model->place(request, [&](double fraction) {
            return !progress || progress(from + (0.99 - from) * fraction, "uploading weights to the GPU");
        }))
        return load_cancelled(path);
    if (progress && !progress(1.0, "ready")) return load_cancelled(path);
    return std::unique_ptr<Model>(std::move(model));
}

} // namespace

Result<std::unique_ptr<Model>> load_v4_model(const std::string& folder, const LoadProgress& progress,
                                             int threads, const backend::Request& request) {
    if (progress && !progress(0.0, "config.json")) return load_cancelled(folder);
    auto config = load_config((std::filesystem::path(folder) / "config.json").string());
    if (!config) return std::move(config).take_error();
    if (progress && !progress(0.05, "safetensors headers")) return load_cancelled(folder);
    auto checkpoint = formats::SafetensorsCheckpoint::open_folder(folder);
    if (!checkpoint) return std::move(checkpoint).take_error();
    bool cancelled = false;
    auto source = safetensors_source(std::move(*checkpoint), folder);
    auto weights = bind_weights(*config, *source, [&](double fraction) {
        cancelled = progress && !progress(0.05 + binding_share(request) * fraction, "binding tensors");
        return !cancelled;
    });
    if (cancelled) return load_cancelled(folder);
    if (!weights) return std::move(weights).take_error();
    // The tokenizer is optional (weights alone still run on token ids), but a broken one is an error.
    std::optional<tokenizer::BpeTokenizer> tokens;
    const auto tokenizer_path = std::filesystem::path(folder) / "tokenizer.json";
    if (std::filesystem::exists(tokenizer_path)) {
        if (progress && !progress(0.05 + binding_share(request), "tokenizer.json"))
            return load_cancelled(folder);
        auto loaded = tokenizer::load_hf_tokenizer(tokenizer_path.string());
        if (!loaded) return std::move(loaded).take_error();
        tokens.emplace(std::move(*loaded));
    }
    std::string name = std::filesystem::path(folder).filename().string();
    if (name.empty()) name = std::filesystem::path(folder).parent_path().filename().string();
    return placed(std::make_unique<V4Model>(std::move(*config), std::move(source), std::move(*weights),
                                            std::move(name), std::move(tokens), threads),
                  request, progress, folder);
}

Result<std::unique_ptr<Model>> load_v4_gguf_model(const std::string& path, const LoadProgress& progress,
                                                  int threads, const backend::Request& request) {
    if (progress && !progress(0.0, "GGUF header")) return load_cancelled(path);
    auto file = formats::GgufFile::open(path);
    if (!file) return std::move(file).take_error();
    auto config = gguf::read_config(*file);
    if (!config) return std::move(config).take_error();
    // As with tokenizer.json beside a checkpoint: optional, but broken metadata is an error.
    std::optional<tokenizer::BpeTokenizer> tokens;
    if (file->find("tokenizer.ggml.model")) {
        auto loaded = dense::load_gguf_tokenizer(*file);
        if (!loaded) return std::move(loaded).take_error();
        tokens.emplace(std::move(*loaded));
    }
    std::string name = std::filesystem::path(path).stem().string();
    if (const formats::GgufValue* named = file->find("general.name"); named && named->as_string())
        name = *named->as_string();
    auto source = gguf_source(std::move(*file), *config);
    bool cancelled = false;
    auto weights = bind_weights(*config, *source, [&](double fraction) {
        cancelled = progress && !progress(0.05 + binding_share(request) * fraction, "binding tensors");
        return !cancelled;
    });
    if (cancelled) return load_cancelled(path);
    if (!weights) return std::move(weights).take_error();
    return placed(std::make_unique<V4Model>(std::move(*config), std::move(source), std::move(*weights),
                                            std::move(name), std::move(tokens), threads),
                  request, progress, path);
}

} // namespace lectern::model::v4
