#include "inference/model/dense/dense_model.h"

#include "inference/model/default_model.h"
#include "inference/model/dense/dense_device.h"
#include "inference/model/dense/dense_vulkan.h"
#include "inference/model/dense/gguf_tokenizer.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/matmul.h"
#include "kernels/cpu/quant/ordered_ops.h"
#include "kernels/cpu/quant/thread_pool.h"
#include "kernels/vulkan/ops.h"

#ifdef LECTERN_HAVE_CUDA
#include "inference/model/dense/dense_cuda.h"
#include "kernels/cuda/ops.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace lectern::model::dense {
namespace {

using formats::GgufFile;
using formats::TensorView;
using kernels::DType;
namespace quant = kernels::quant;

constexpr std::int64_t kSliceTokens = 64;            // tokens per forward slice: progress and cancel points
constexpr std::uint32_t kSnapshotMagic = 0x534e444c; // "LDNS"
constexpr std::uint32_t kSnapshotVersion = 1;

struct Matrix {
    DType type = DType::F32;
    const std::byte* data = nullptr;
    std::int64_t rows = 0, cols = 0;
    std::int64_t row_bytes() const {
        return cols / kernels::dtype_info(type).block_elements * kernels::dtype_info(type).block_bytes;
    }
};

struct Layer {
    const float* attn_norm = nullptr;
    Matrix q, k, v, o;
    const float* ffn_norm = nullptr;
    Matrix gate, up, down;
};

std::string shape_text(std::int64_t rows, std::int64_t cols) {
    std::string text = "[";
    text += std::to_string(rows);
    text += ", ";
    text += std::to_string(cols);
    text += "]";
    return text;
}

Result<const TensorView*> require_tensor(const GgufFile& file, const std::string& name) {
    const TensorView* tensor = file.find_tensor(name);
    if (!tensor)
        return Error{file.path() + ": tensor '" + name + "' is missing; the file is not a complete " +
                     "Llama-style model"};
    return tensor;
}

Result<Matrix> require_matrix(const GgufFile& file, const std::string& name, std::int64_t rows,
                              std::int64_t cols) {
    auto tensor = require_tensor(file, name);
    if (!tensor) return std::move(tensor).take_error();
    const TensorView& t = **tensor;
    if (t.shape != std::vector<std::int64_t>{rows, cols})
        return Error{file.path() + ": tensor '" + name + "' is " + t.describe() +
                     " but the model's metadata needs " + shape_text(rows, cols)};
    if (!quant::is_weight_type(t.dtype))
        return Error{file.path() + ": tensor '" + name + "' has type " +
                     std::string(kernels::dtype_info(t.dtype).name) +
                     ", which is not a weight type Lectern computes with"};
    return Matrix{t.dtype, t.data.data(), rows, cols};
}

Result<const float*> require_norm(const GgufFile& file, const std::string& name, std::int64_t size) {
    auto tensor = require_tensor(file, name);
    if (!tensor) return std::move(tensor).take_error();
    const TensorView& t = **tensor;
    if (t.dtype != DType::F32 || t.shape != std::vector<std::int64_t>{size})
        return Error{file.path() + ": tensor '" + name + "' is " + t.describe() + ", expected F32 [" +
                     std::to_string(size) + "]"};
    return reinterpret_cast<const float*>(t.data.data());
}

// The key/value caches of the host layers [0, host_layers) in host memory; those of the device layers in
// `device` (dense_device.h). Snapshots hold every layer's fp16 cache alike, so a snapshot made on one
// backend restores on another.
class DenseState final : public SequenceState {
public:
    DenseState(std::int64_t layers, std::int64_t kv_dim, std::int64_t context, std::int64_t host_layers,
               std::unique_ptr<DeviceCache> device)
        : kv_dim_(kv_dim), context_(context), host_layers_(host_layers),
          keys_(static_cast<std::size_t>(layers)), values_(static_cast<std::size_t>(layers)),
          device_(std::move(device)) {}
    DenseState(const DenseState& other)
        : kv_dim_(other.kv_dim_), context_(other.context_), host_layers_(other.host_layers_),
          position_(other.position_), keys_(other.keys_), values_(other.values_) {
        if (other.device_) {
            auto copy = other.device_->clone(position_);
            if (copy)
                device_ = std::move(*copy);
            else
                device_error_ = "copying the device cache failed: " + copy.error();
        }
    }

    std::int64_t position() const override { return position_; }
    std::uint64_t memory_bytes() const override {
        std::uint64_t bytes = device_bytes();
        for (std::size_t l = 0; l < keys_.size(); ++l)
            bytes += (keys_[l].capacity() + values_[l].capacity()) * 2;
        return bytes;
    }
    std::uint64_t device_bytes() const override { return device_ ? device_->bytes() : 0; }

    std::vector<std::byte> snapshot() const override {
        const std::uint64_t header[4] = {(std::uint64_t{kSnapshotVersion} << 32) | kSnapshotMagic,
                                         keys_.size(), static_cast<std::uint64_t>(kv_dim_),
                                         static_cast<std::uint64_t>(position_)};
        const std::size_t used_bytes = static_cast<std::size_t>(position_ * kv_dim_) * 2;
        std::vector<std::byte> bytes(sizeof header + keys_.size() * used_bytes * 2);
        std::byte* p = bytes.data();
        std::memcpy(p, header, sizeof header);
        p += sizeof header;
        for (std::size_t l = 0; l < keys_.size(); ++l) {
            if (used_bytes == 0) break;
            if (on_device(l)) {
                auto* keys = reinterpret_cast<std::uint16_t*>(p);
                // A device that fails to read back yields an empty snapshot, which restore() refuses.
                if (!device_->read(device_index(l), position_, keys, keys + used_bytes / 2)) return {};
            } else {
                std::memcpy(p, keys_[l].data(), used_bytes);
                std::memcpy(p + used_bytes, values_[l].data(), used_bytes);
            }
            p += 2 * used_bytes;
        }
        return bytes;
    }

    Result<void> restore(std::span<const std::byte> bytes) override {
        std::uint64_t header[4];
        if (bytes.size() < sizeof header) return Error{"the snapshot is too short to be a dense-model state"};
        std::memcpy(header, bytes.data(), sizeof header);
        if (header[0] != ((std::uint64_t{kSnapshotVersion} << 32) | kSnapshotMagic))
            return Error{"the snapshot is not a dense-model state of this version"};
        if (header[1] != keys_.size() || header[2] != static_cast<std::uint64_t>(kv_dim_))
            return Error{"the snapshot was made by a different model (its layer or key/value sizes differ)"};
        const std::uint64_t position = header[3];
        if (position > static_cast<std::uint64_t>(context_))
            return Error{"the snapshot holds more positions than the model's context"};
        const std::size_t used = static_cast<std::size_t>(position) * static_cast<std::size_t>(kv_dim_);
        if (bytes.size() != sizeof header + keys_.size() * used * 4)
            return Error{"the snapshot's size does not match its header; it is damaged"};
        position_ = static_cast<std::int64_t>(position);
        if (device_)
            if (auto room = device_->reserve(position_, 0); !room) return room;
        const std::byte* p = bytes.data() + sizeof header;
        for (std::size_t l = 0; l < keys_.size(); ++l) {
            if (on_device(l)) {
                const auto* keys = reinterpret_cast<const std::uint16_t*>(p);
                if (auto written = device_->write(device_index(l), position_, keys, keys + used); !written)
                    return written;
                p += used * 4;
                continue;
            }
            keys_[l].assign(used, 0);
            values_[l].assign(used, 0);
            if (used == 0) continue;
            std::memcpy(keys_[l].data(), p, used * 2);
            std::memcpy(values_[l].data(), p + used * 2, used * 2);
            p += used * 4;
        }
        return {};
    }

    std::unique_ptr<SequenceState> clone() const override { return std::make_unique<DenseState>(*this); }

    // Room for `positions` positions in every host layer's cache.
    void reserve(std::int64_t positions) {
        const std::size_t needed = static_cast<std::size_t>(positions * kv_dim_);
        for (std::size_t l = 0; l < static_cast<std::size_t>(host_layers_); ++l) {
            if (keys_[l].size() < needed) {
                const std::size_t grown = std::max(needed, keys_[l].size() * 2);
                const std::size_t capped = std::min(grown, static_cast<std::size_t>(context_ * kv_dim_));
                keys_[l].resize(capped);
                values_[l].resize(capped);
            }
        }
    }

    std::uint16_t* keys(std::size_t layer) { return keys_[layer].data(); }
    std::uint16_t* values(std::size_t layer) { return values_[layer].data(); }
    void advance(std::int64_t tokens) { position_ += tokens; }
    DeviceCache* device() { return device_.get(); }
    const std::string& device_error() const { return device_error_; }

private:
    bool on_device(std::size_t layer) const {
        return device_ && static_cast<std::int64_t>(layer) >= host_layers_;
    }
    std::int64_t device_index(std::size_t layer) const {
        return static_cast<std::int64_t>(layer) - host_layers_;
    }

    std::int64_t kv_dim_;
    std::int64_t context_;
    std::int64_t host_layers_;
    std::int64_t position_ = 0;
    std::vector<std::vector<std::uint16_t>> keys_, values_; // [position][kv_dim] fp16, per host layer
    std::unique_ptr<DeviceCache> device_;                   // the device layers' caches
    std::string device_error_;                              // why a copy has no usable device cache
};

class DenseModel final : public Model {
public:
    DenseModel(GgufFile file, DenseConfig config, int threads)
        : file_(std::move(file)), config_(std::move(config)), pool_(threads) {}

    Result<void> bind(const LoadProgress& progress);
    // Places the last layers and the head on the backend the request selects (the CPU runs the rest).
    void place(const backend::Request& request);

    const ModelInfo& info() const override { return info_; }
    const tokenizer::BpeTokenizer* tokenizer() const override { return tokenizer_ ? &*tokenizer_ : nullptr; }
    backend::Status backend() const override {
        backend::Status status = status_;
        if (device_) status.device_bytes_in_use = device_->device_bytes_in_use();
        return status;
    }
    std::unique_ptr<SequenceState> new_state() const override {
        return std::make_unique<DenseState>(config_.layers, config_.kv_heads * config_.head_dim,
                                            config_.context_length, host_layers(),
                                            device_ ? device_->new_cache() : nullptr);
    }
    Result<ForwardResult> forward(SequenceState& state, std::span<const Token> tokens,
                                  const ForwardOptions& options) const override;

private:
    struct Buffers {
        std::vector<float> x, h, q, k, v, attn, gate, up, out, keys, values;
    };
    void matmul(const Matrix& m, const float* x, std::int64_t tokens, float* y) const {
        quant::matmul(m.type, m.data, m.rows, m.cols, x, tokens, y, {&pool_, true});
    }
    std::int64_t host_layers() const { return config_.layers - status_.device_layers; }
    // Runs the embedding and the host layers of one slice; the device layers follow in forward().
    void run_slice(DenseState& state, std::span<const Token> tokens, Buffers& b) const;
    void attention(DenseState& state, std::size_t layer, std::int64_t first, std::int64_t count,
                   Buffers& b) const;

    GgufFile file_;
    DenseConfig config_;
    ModelInfo info_;
    Matrix embedding_, output_;
    const float* output_norm_ = nullptr;
    std::vector<Layer> layers_;
    std::optional<tokenizer::BpeTokenizer> tokenizer_; // when the file carries one
    backend::Status status_;
    std::unique_ptr<DeviceGraph> device_; // the last status_.device_layers layers and the head
    mutable quant::ThreadPool pool_;
    mutable std::mutex mutex_; // one forward at a time: the pool and its buffers are shared
};

Result<void> DenseModel::bind(const LoadProgress& progress) {
    const DenseConfig& c = config_;
    const std::int64_t q_dim = c.heads * c.head_dim, kv_dim = c.kv_heads * c.head_dim;
    auto embedding = require_matrix(file_, "token_embd.weight", c.vocab, c.embedding);
    if (!embedding) return std::move(embedding).take_error();
    embedding_ = *embedding;
    auto output_norm = require_norm(file_, "output_norm.weight", c.embedding);
    if (!output_norm) return std::move(output_norm).take_error();
    output_norm_ = *output_norm;
    if (file_.find_tensor("output.weight")) {
        auto output = require_matrix(file_, "output.weight", c.vocab, c.embedding);
        if (!output) return std::move(output).take_error();
        output_ = *output;
    } else {
        output_ = embedding_; // tied embeddings
    }
    for (std::int64_t l = 0; l < c.layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        Layer layer;
        const auto norm = [&](const char* name, const float*& out) -> Result<void> {
            auto r = require_norm(file_, p + name, c.embedding);
            if (!r) return std::move(r).take_error();
            out = *r;
            return {};
        };
        const auto mat = [&](const char* name, Matrix& out, std::int64_t rows,
                             std::int64_t cols) -> Result<void> {
            auto r = require_matrix(file_, p + name, rows, cols);
            if (!r) return std::move(r).take_error();
            out = *r;
            return {};
        };
        for (Result<void> r :
             {norm("attn_norm.weight", layer.attn_norm), mat("attn_q.weight", layer.q, q_dim, c.embedding),
              mat("attn_k.weight", layer.k, kv_dim, c.embedding),
              mat("attn_v.weight", layer.v, kv_dim, c.embedding),
              mat("attn_output.weight", layer.o, c.embedding, q_dim), norm("ffn_norm.weight", layer.ffn_norm),
              mat("ffn_gate.weight", layer.gate, c.feed_forward, c.embedding),
              mat("ffn_up.weight", layer.up, c.feed_forward, c.embedding),
              mat("ffn_down.weight", layer.down, c.embedding, c.feed_forward)})
            if (!r) return std::move(r).take_error();
        layers_.push_back(layer);
        if (progress && !progress(static_cast<double>(l + 1) / static_cast<double>(c.layers), "layers"))
            return load_cancelled(file_.path());
    }

    info_.family = c.architecture;
    info_.name = std::filesystem::path(file_.path()).filename().string();
    info_.vocab_size = c.vocab;
    info_.context_length = c.context_length;
    const auto token_key = [&](const char* key) -> Token {
        const formats::GgufValue* value = file_.find(key);
        const auto id = value ? value->as_uint() : std::nullopt;
        return id && *id < static_cast<std::uint64_t>(c.vocab) ? static_cast<Token>(*id) : -1;
    };
    info_.bos_token = token_key("tokenizer.ggml.bos_token_id");
    if (const formats::GgufValue* add_bos = file_.find("tokenizer.ggml.add_bos_token"))
        info_.prompt_starts_with_bos = add_bos->as_bool().value_or(true);
    info_.eos_token = token_key("tokenizer.ggml.eos_token_id");
    if (info_.eos_token >= 0) info_.stop_tokens.push_back(info_.eos_token);
    if (const Token eot = token_key("tokenizer.ggml.eot_token_id"); eot >= 0 && eot != info_.eos_token)
        info_.stop_tokens.push_back(eot);
    // Chat models end a turn with a control token the metadata does not always name as EOT.
    const formats::GgufValue* tokens = file_.find("tokenizer.ggml.tokens");
    const formats::GgufValue* types = file_.find("tokenizer.ggml.token_type");
    if (tokens && types && tokens->as_array() && types->as_array() &&
        tokens->as_array()->size() == types->as_array()->size()) {
        const auto& texts = *tokens->as_array();
        for (std::size_t id = 0; id < texts.size(); ++id) {
            const std::string* text = texts[id].as_string();
            const bool control = (*types->as_array())[id].as_int() == 3;
            if (text && control &&
                (*text == "<|im_end|>" || *text == "<|eot_id|>" || *text == "<end_of_turn>" ||
                 *text == "<|endoftext|>") &&
                std::find(info_.stop_tokens.begin(), info_.stop_tokens.end(), static_cast<Token>(id)) ==
                    info_.stop_tokens.end())
                info_.stop_tokens.push_back(static_cast<Token>(id));
        }
    }
    if (file_.find("tokenizer.ggml.model")) {
        auto loaded = load_gguf_tokenizer(file_);
        if (!loaded) return std::move(loaded).take_error();
        tokenizer_.emplace(std::move(*loaded));
    }
    return {};
}

void DenseModel::place(const backend::Request& request) {
    const DenseConfig& c = config_;
    backend::GraphSupport support;
    support.graph = "the dense GGUF graph";
    const auto first_unsupported = [&](bool (*supported)(kernels::DType)) -> std::optional<std::string> {
        for (const TensorView& tensor : file_.tensors())
            if (tensor.shape.size() == 2 && !supported(tensor.dtype))
                return std::string(kernels::dtype_info(tensor.dtype).name) + " weights (tensor '" +
                       tensor.name + "')";
        return std::nullopt;
    };
    if (auto missing = first_unsupported(kernels::vulkan::linear_gguf_supports))
        support.vulkan_missing = "no Vulkan kernel for " + *missing;
#ifdef LECTERN_HAVE_CUDA
    if (auto missing = first_unsupported(kernels::cuda::linear_gguf_supports))
        support.cuda_missing = "no CUDA kernel for " + *missing;
    // The CUDA half has run only under the host emulation of CUDA (tests/cuda_emulation), not yet on a GPU:
    // auto keeps to Vulkan until a GPU has run its tests; asking for cuda uses it.
    else if (request.choice.value_or(backend::Choice::Auto) == backend::Choice::Auto)
        support.cuda_missing =
            "the dense graph's CUDA half has not been checked on a GPU yet, so auto passes it "
            "over (choose the cuda backend to use it)";
#endif
    status_.layers = c.layers;
    backend::Selection selection = backend::select(request, support);
    status_.fallbacks = std::move(selection.fallbacks);
    if (selection.kind != backend::Kind::Cpu) {
        const backend::DevicePlan plan = backend::plan_device(
            request, selection, device_footprint(file_, c, kSliceTokens, c.context_length));
        if (!plan.note.empty()) status_.fallbacks.push_back(plan.note);
        if (plan.layers > 0) {
            const std::int64_t first_layer = c.layers - plan.layers;
            Result<std::unique_ptr<DeviceGraph>> graph = Error{"no device graph"};
            if (selection.kind == backend::Kind::Vulkan) {
                auto made = DenseVulkanGraph::create(selection.vulkan, file_, c, first_layer, kSliceTokens);
                graph = made ? Result<std::unique_ptr<DeviceGraph>>(std::move(*made))
                             : std::move(made).take_error();
            }
#ifdef LECTERN_HAVE_CUDA
            if (selection.kind == backend::Kind::Cuda) {
                auto made = DenseCudaGraph::create(file_, c, first_layer, kSliceTokens,
                                                   request.device_memory.value_or(0));
                graph = made ? Result<std::unique_ptr<DeviceGraph>>(std::move(*made))
                             : std::move(made).take_error();
            }
#endif
            if (graph) {
                device_ = std::move(*graph);
                backend::record_device(status_, selection, plan.layers, device_->weight_bytes());
            } else {
                status_.fallbacks.push_back(
                    std::string(selection.kind == backend::Kind::Cuda ? "CUDA: " : "Vulkan: ") +
                    graph.error());
            }
        }
    }
    // The host reads the embedding rows it gathers, its own layers, and the head when no device has it.
    for (const TensorView& tensor : file_.tensors()) {
        bool on_host = !device_;
        if (tensor.name == "token_embd.weight") {
            on_host = true;
        } else if (tensor.name.starts_with("blk.")) {
            on_host = std::stoll(tensor.name.substr(4)) < host_layers();
        }
        if (on_host) status_.weight_bytes_on_host += tensor.data.size();
    }
}

void DenseModel::attention(DenseState& state, std::size_t layer, std::int64_t first, std::int64_t count,
                           Buffers& b) const {
    const DenseConfig& c = config_;
    const std::int64_t d = c.head_dim, kv_dim = c.kv_heads * d, q_dim = c.heads * d,
                       group = c.heads / c.kv_heads, positions = first + count;
    // The visible cache as floats, once per layer and slice (the fp16 values themselves, exactly).
    b.keys.resize(static_cast<std::size_t>(positions * kv_dim));
    b.values.resize(b.keys.size());
    quant::f16_to_f32(state.keys(layer), b.keys.data(), positions * kv_dim);
    quant::f16_to_f32(state.values(layer), b.values.data(), positions * kv_dim);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d)); // llama.cpp's kq_scale
    // llama.cpp sums a batch of tokens in one order and a lone token in another (ordered_ops.h).
    const quant::SumOrder order = count >= 2 ? quant::SumOrder::Batch : quant::SumOrder::Single;
    pool_.run([&](int part, int parts) {
        thread_local std::vector<float> scores, query, scratch;
        scores.resize(static_cast<std::size_t>(positions));
        query.resize(static_cast<std::size_t>(d));
        scratch.resize(static_cast<std::size_t>(32 * d));
        for (std::int64_t job = part; job < count * c.heads; job += parts) {
            const std::int64_t t = job / c.heads, head = job % c.heads, kv_head = head / group;
            const std::int64_t visible = first + t + 1; // causal: positions 0 .. first + t
            // llama.cpp multiplies the fp16 cache by fp16 copies of the query and of the probabilities.
            for (std::int64_t i = 0; i < d; ++i)
                query[static_cast<std::size_t>(i)] = quant::half_to_float(
                    quant::float_to_half(b.q[static_cast<std::size_t>(t * q_dim + head * d + i)]));
            for (std::int64_t j = 0; j < visible; ++j) {
                const float* key = b.keys.data() + j * kv_dim + kv_head * d;
                scores[static_cast<std::size_t>(j)] = quant::dot_ordered(query.data(), key, d, order) * scale;
            }
            quant::softmax(scores.data(), visible);
            for (std::int64_t j = 0; j < visible; ++j)
                scores[static_cast<std::size_t>(j)] =
                    quant::half_to_float(quant::float_to_half(scores[static_cast<std::size_t>(j)]));
            quant::weighted_sum(scores.data(), b.values.data() + kv_head * d, kv_dim, visible, d,
                                b.attn.data() + t * q_dim + head * d, order, scratch.data());
        }
    });
}

void DenseModel::run_slice(DenseState& state, std::span<const Token> tokens, Buffers& b) const {
    const DenseConfig& c = config_;
    const std::int64_t n = static_cast<std::int64_t>(tokens.size()), e = c.embedding, d = c.head_dim;
    const std::int64_t q_dim = c.heads * d, kv_dim = c.kv_heads * d, first = state.position();
    const float eps = static_cast<float>(c.rms_epsilon);
    b.x.resize(static_cast<std::size_t>(n * e));
    b.h.resize(b.x.size());
    b.q.resize(static_cast<std::size_t>(n * q_dim));
    b.attn.resize(b.q.size());
    b.k.resize(static_cast<std::size_t>(n * kv_dim));
    b.v.resize(b.k.size());
    b.gate.resize(static_cast<std::size_t>(n * c.feed_forward));
    b.up.resize(b.gate.size());
    b.out.resize(b.x.size());
    const std::int64_t embedding_row = embedding_.row_bytes();
    for (std::int64_t t = 0; t < n; ++t)
        quant::dequantize_row(embedding_.type,
                              embedding_.data + tokens[static_cast<std::size_t>(t)] * embedding_row,
                              b.x.data() + t * e, e);
    std::vector<float> angles(static_cast<std::size_t>(d)); // RoPE's cos, sin per pair at one position

    for (std::size_t l = 0; l < static_cast<std::size_t>(host_layers()); ++l) {
        const Layer& layer = layers_[l];
        quant::rms_norm_ordered(b.x.data(), layer.attn_norm, b.h.data(), n, e, eps);
        matmul(layer.q, b.h.data(), n, b.q.data());
        matmul(layer.k, b.h.data(), n, b.k.data());
        matmul(layer.v, b.h.data(), n, b.v.data());
        for (std::int64_t t = 0; t < n; ++t) {
            quant::rope_angles(static_cast<float>(c.rope_base), d / 2, first + t, angles.data());
            for (std::int64_t head = 0; head < c.heads; ++head)
                quant::rope_rotate(b.q.data() + t * q_dim + head * d, angles.data(), d / 2);
            for (std::int64_t head = 0; head < c.kv_heads; ++head)
                quant::rope_rotate(b.k.data() + t * kv_dim + head * d, angles.data(), d / 2);
            std::uint16_t* key_row = state.keys(l) + (first + t) * kv_dim;
            std::uint16_t* value_row = state.values(l) + (first + t) * kv_dim;
            for (std::int64_t i = 0; i < kv_dim; ++i) {
                key_row[i] = quant::float_to_half(b.k[static_cast<std::size_t>(t * kv_dim + i)]);
                value_row[i] = quant::float_to_half(b.v[static_cast<std::size_t>(t * kv_dim + i)]);
            }
        }
        attention(state, l, first, n, b);
        matmul(layer.o, b.attn.data(), n, b.out.data());
        for (std::size_t i = 0; i < b.x.size(); ++i) b.x[i] += b.out[i];

        quant::rms_norm_ordered(b.x.data(), layer.ffn_norm, b.h.data(), n, e, eps);
        matmul(layer.gate, b.h.data(), n, b.gate.data());
        matmul(layer.up, b.h.data(), n, b.up.data());
        quant::swiglu(b.gate.data(), b.up.data(), b.gate.data(), n * c.feed_forward);
        matmul(layer.down, b.gate.data(), n, b.out.data());
        for (std::size_t i = 0; i < b.x.size(); ++i) b.x[i] += b.out[i];
    }
}

Result<ForwardResult> DenseModel::forward(SequenceState& state, std::span<const Token> tokens,
                                          const ForwardOptions& options) const {
    auto* dense = dynamic_cast<DenseState*>(&state);
    if (!dense) return Error{"the sequence state does not belong to this model"};
    const std::int64_t total = static_cast<std::int64_t>(tokens.size());
    if (dense->position() + total > config_.context_length)
        return Error{"the sequence would hold " + std::to_string(dense->position() + total) +
                     " tokens, more than the model's context of " + std::to_string(config_.context_length)};
    for (const Token token : tokens)
        if (token < 0 || token >= config_.vocab)
            return Error{"token id " + std::to_string(token) + " is outside the vocabulary (0 .. " +
                         std::to_string(config_.vocab - 1) + ")"};

    if (!dense->device_error().empty()) return Error{dense->device_error()};
    const std::lock_guard lock(mutex_);
    dense->reserve(dense->position() + total);
    ForwardResult result;
    Buffers buffers;
    const std::int64_t e = config_.embedding, vocab = config_.vocab;
    std::vector<float> normed;
    for (std::int64_t done = 0; done < total;) {
        if (options.cancel && options.cancel->load()) {
            result.cancelled = true;
            break;
        }
        // A lone token takes llama.cpp's single-token summation order, so slicing must not leave the
        // last token of a longer call by itself (llama.cpp runs a whole prompt as one batch).
        std::int64_t n = std::min(kSliceTokens, total - done);
        if (total - done - n == 1) --n;
        const std::int64_t first = dense->position();
        run_slice(*dense, tokens.subspan(static_cast<std::size_t>(done), static_cast<std::size_t>(n)),
                  buffers);
        // Logits for every row (All), or for the call's last token only (Last).
        const bool all = options.logits == LogitsWanted::All;
        const bool last = options.logits == LogitsWanted::Last && done + n == total;
        const std::int64_t rows = all ? n : last ? 1 : 0;
        if (device_) {
            const std::size_t offset = result.logits.size();
            result.logits.resize(offset + static_cast<std::size_t>(rows * vocab));
            if (auto ran = device_->forward(*dense->device(), first, buffers.x.data(), n, rows,
                                            result.logits.data() + offset);
                !ran)
                return Error{"the " + status_.device + " device failed: " + ran.error()};
            result.rows += rows;
        }
        dense->advance(n);
        done += n;
        result.consumed = done;
        if (!device_ && rows > 0) {
            const float* x = buffers.x.data() + (n - rows) * e;
            normed.resize(static_cast<std::size_t>(rows * e));
            quant::rms_norm_ordered(x, output_norm_, normed.data(), rows, e,
                                    static_cast<float>(config_.rms_epsilon));
            const std::size_t offset = result.logits.size();
            result.logits.resize(offset + static_cast<std::size_t>(rows * vocab));
            matmul(output_, normed.data(), rows, result.logits.data() + offset);
            result.rows += rows;
        }
        if (options.progress) options.progress(done, total);
    }
    return result;
}

} // namespace

Result<DenseConfig> read_dense_config(const formats::GgufFile& file) {
    DenseConfig c;
    auto architecture = file.require_string("general.architecture");
    if (!architecture) return std::move(architecture).take_error();
    c.architecture = *architecture;
    if (c.architecture != "llama")
        return Error{file.path() + ": architecture '" + c.architecture +
                     "' is not one Lectern's dense graph runs (it runs 'llama': Llama, SmolLM2 and alike)"};
    const std::string p = c.architecture + ".";
    const auto get = [&](const std::string& key, std::int64_t& out, std::int64_t limit) -> Result<void> {
        auto value = file.require_uint(p + key);
        if (!value) return std::move(value).take_error();
        if (*value == 0 || *value > static_cast<std::uint64_t>(limit))
            return Error{file.path() + ": metadata '" + p + key + "' = " + std::to_string(*value) +
                         " is out of range"};
        out = static_cast<std::int64_t>(*value);
        return {};
    };
    for (Result<void> r :
         {get("block_count", c.layers, 1024), get("embedding_length", c.embedding, 1 << 16),
          get("attention.head_count", c.heads, 1024), get("feed_forward_length", c.feed_forward, 1 << 18),
          get("context_length", c.context_length, 1 << 24)})
        if (!r) return std::move(r).take_error();
    c.kv_heads = c.heads;
    if (file.find(p + "attention.head_count_kv"))
        if (auto r = get("attention.head_count_kv", c.kv_heads, c.heads); !r)
            return std::move(r).take_error();
    if (c.heads % c.kv_heads != 0 || c.embedding % c.heads != 0)
        return Error{file.path() + ": the head counts (" + std::to_string(c.heads) + " query, " +
                     std::to_string(c.kv_heads) + " key/value) do not divide the model width " +
                     std::to_string(c.embedding)};
    c.head_dim = c.embedding / c.heads;
    if (file.find(p + "rope.dimension_count")) {
        std::int64_t rope_dims = 0;
        if (auto r = get("rope.dimension_count", rope_dims, 1 << 16); !r) return std::move(r).take_error();
        if (rope_dims != c.head_dim)
            return Error{file.path() + ": partial rotary embeddings (rope.dimension_count " +
                         std::to_string(rope_dims) + " of head size " + std::to_string(c.head_dim) +
                         ") are not supported"};
    }
    if (c.head_dim % 2 != 0)
        return Error{file.path() + ": the head size " + std::to_string(c.head_dim) + " is odd"};
    if (file.find(p + "rope.freq_base")) {
        auto base = file.require_float(p + "rope.freq_base");
        if (!base) return std::move(base).take_error();
        c.rope_base = *base;
    }
    auto eps = file.require_float(p + "attention.layer_norm_rms_epsilon");
    if (!eps) return std::move(eps).take_error();
    c.rms_epsilon = *eps;
    if (!(c.rope_base > 1.0) || !(c.rms_epsilon > 0.0 && c.rms_epsilon < 1.0))
        return Error{file.path() + ": rope.freq_base or layer_norm_rms_epsilon is out of range"};
    const formats::TensorView* embedding = file.find_tensor("token_embd.weight");
    if (!embedding || embedding->shape.size() != 2)
        return Error{file.path() + ": tensor 'token_embd.weight' is missing or not a matrix"};
    c.vocab = embedding->shape[0];
    return c;
}

Result<std::unique_ptr<Model>> load_dense_gguf(const std::string& path, const LoadProgress& progress,
                                               int threads, const backend::Request& request) {
    if (progress && !progress(0.0, "reading " + path)) return load_cancelled(path);
    auto file = GgufFile::open(path);
    if (!file) return std::move(file).take_error();
    auto config = read_dense_config(*file);
    if (!config) return std::move(config).take_error();
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto model = std::make_unique<DenseModel>(std::move(*file), std::move(*config), threads);
    if (auto bound = model->bind(progress); !bound) return std::move(bound).take_error();
    model->place(request);
    return std::unique_ptr<Model>(std::move(model));
}

std::vector<Loader> dense_loaders() {
    std::vector<Loader> loaders;
    const auto load_default = [](const LoadProgress& progress,
                                 const backend::Request& request) -> Result<std::unique_ptr<Model>> {
        auto path = default_model_path();
        if (!path) return std::move(path).take_error();
        return load_dense_gguf(*path, progress, 0, request);
    };
    const backend::Request cpu{backend::Choice::Cpu, {}, {}, {}, {}};
    loaders.push_back(
        {"gguf", [](const std::string& path) { return path.ends_with(".gguf"); },
         [cpu](const std::string& path, const LoadProgress& progress) {
             return load_dense_gguf(path, progress, 0, cpu);
         },
         [](const std::string& path, const LoadProgress& progress, const backend::Request& request) {
             return load_dense_gguf(path, progress, 0, request);
         }});
    loaders.push_back(
        {"default model", [](const std::string& path) { return path == "default"; },
         [=](const std::string&, const LoadProgress& progress) { return load_default(progress, cpu); },
         [=](const std::string&, const LoadProgress& progress, const backend::Request& request) {
             return load_default(progress, request);
         }});
    return loaders;
}

} // namespace lectern::model::dense
