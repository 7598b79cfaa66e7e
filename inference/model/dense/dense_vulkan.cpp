#include "inference/model/dense/dense_vulkan.h"

#include "inference/backend/device_weights.h"
#include "kernels/cpu/quant/ordered_ops.h"
#include "kernels/vulkan/context.h"
#include "kernels/vulkan/dense_ops.h"
#include "kernels/vulkan/ops.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

namespace lectern::model::dense {
namespace {

namespace vk = kernels::vulkan;
using kernels::DType;

// Cache capacity grows in steps of this many positions, so every layer's span starts at an offset any
// device can bind (256 * kv_dim * 2 bytes is a multiple of 256).
constexpr std::int64_t kCapacityStep = 256;
constexpr std::size_t kMaxRecordings = 8; // slice shapes kept per sequence; decode uses one
constexpr std::size_t kInputAlignment = 256;

std::size_t align_up(std::size_t value, std::size_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

struct DeviceMatrix {
    DType type = DType::F32;
    vk::BufferSpan data;
    std::int64_t rows = 0, cols = 0;
};

struct DeviceLayer {
    vk::BufferSpan attn_norm, ffn_norm;
    DeviceMatrix q, k, v, o, gate, up, down;
};

// Records `steps` in order and keeps the first error.
class Recorder {
public:
    void operator()(Result<void> step) {
        if (status_ && !step) status_ = std::move(step);
    }
    Result<void> take() && { return std::move(status_); }

private:
    Result<void> status_;
};

// The tensors the device half reads: those of layers [first_layer, layers), in the order create() binds
// them, then the output norm and head.
std::vector<std::string> device_tensor_names(const formats::GgufFile& file, const DenseConfig& c,
                                             std::int64_t first_layer) {
    std::vector<std::string> names;
    for (std::int64_t l = first_layer; l < c.layers; ++l)
        for (const char* part : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                                 "ffn_gate", "ffn_up", "ffn_down"})
            names.push_back("blk." + std::to_string(l) + "." + part + ".weight");
    names.push_back("output_norm.weight");
    names.push_back(file.find_tensor("output.weight") ? "output.weight" : "token_embd.weight");
    return names;
}

// Where the rows start in the inputs buffer: after the first position and the RoPE table.
std::size_t x_offset(const DenseConfig& c, std::int64_t max_rows) {
    return align_up(kInputAlignment + static_cast<std::size_t>(max_rows * c.head_dim / 2) * 8,
                    kInputAlignment);
}

// The working buffers' sizes: inputs, h, q, k, v, attn, out, gate, up, logits.
constexpr std::size_t kWorkingBuffers = 10;
std::array<std::size_t, kWorkingBuffers> working_sizes(const DenseConfig& c, std::int64_t max_rows) {
    const auto floats = [&](std::int64_t count) {
        return static_cast<std::size_t>(max_rows * count) * sizeof(float);
    };
    const std::int64_t q_dim = c.heads * c.head_dim, kv_dim = c.kv_heads * c.head_dim;
    return {x_offset(c, max_rows) + floats(c.embedding),
            floats(c.embedding),
            floats(q_dim),
            floats(kv_dim),
            floats(kv_dim),
            floats(q_dim),
            floats(c.embedding),
            floats(c.feed_forward),
            floats(c.feed_forward),
            floats(c.vocab)};
}

std::int64_t stepped(std::int64_t positions) {
    return (positions + kCapacityStep - 1) / kCapacityStep * kCapacityStep;
}

} // namespace

struct DeviceCache::Impl {
    std::shared_ptr<vk::Context> context;
    std::int64_t layers = 0, kv_dim = 0, capacity = 0, max_positions = 0;
    vk::Buffer kv; // [layer][keys | values][capacity][kv_dim] fp16
    std::map<std::pair<std::int64_t, std::int64_t>, vk::Stream> recordings;

    std::size_t half_bytes(std::int64_t positions) const {
        return static_cast<std::size_t>(positions * kv_dim) * sizeof(std::uint16_t);
    }
    vk::BufferSpan keys(std::int64_t layer) const {
        return kv.span(half_bytes(capacity) * static_cast<std::size_t>(2 * layer), half_bytes(capacity));
    }
    vk::BufferSpan values(std::int64_t layer) const {
        return kv.span(half_bytes(capacity) * static_cast<std::size_t>(2 * layer + 1), half_bytes(capacity));
    }
};

DeviceCache::DeviceCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceCache::~DeviceCache() = default;

std::uint64_t DeviceCache::bytes() const {
    return impl_->kv.size();
}

Result<void> DeviceCache::reserve(std::int64_t positions, std::int64_t used) {
    Impl& cache = *impl_;
    if (positions <= cache.capacity) return {};
    const std::int64_t capacity =
        std::min(std::max(stepped(positions), 2 * cache.capacity), stepped(cache.max_positions));
    // The used positions wait in host memory while the old buffer goes and the larger one is made, so the
    // device never holds both; where the larger one has no room, the old size is made again.
    const std::size_t layer_halves = static_cast<std::size_t>(used * cache.kv_dim);
    std::vector<std::uint16_t> keys(layer_halves * static_cast<std::size_t>(cache.layers)),
        values(keys.size());
    for (std::int64_t layer = 0; layer < cache.layers; ++layer)
        if (auto done =
                read(layer, used, keys.data() + layer * layer_halves, values.data() + layer * layer_halves);
            !done)
            return done;
    const std::int64_t held = cache.capacity;
    cache.recordings.clear(); // they bound the old buffer
    cache.kv = {};
    cache.capacity = 0;
    const auto make = [&](std::int64_t room) -> Result<void> {
        auto buffer =
            cache.context->create_buffer(cache.half_bytes(room) * static_cast<std::size_t>(2 * cache.layers));
        if (!buffer) return std::move(buffer).take_error();
        cache.kv = std::move(*buffer);
        cache.capacity = room;
        return {};
    };
    if (auto made = make(capacity); !made) {
        const std::string error = "no room on " + cache.context->device().name +
                                  " for the key/value cache of " + std::to_string(capacity) +
                                  " positions: " + made.error();
        if (held > 0 && !make(held)) return Error{error + "; the cache held before is lost as well"};
        if (auto restored = write_all(used, keys, values); !restored) return restored;
        return Error{error};
    }
    return write_all(used, keys, values);
}

Result<void> DeviceCache::write_all(std::int64_t used, const std::vector<std::uint16_t>& keys,
                                    const std::vector<std::uint16_t>& values) {
    const std::size_t layer_halves = static_cast<std::size_t>(used * impl_->kv_dim);
    for (std::int64_t layer = 0; layer < impl_->layers; ++layer)
        if (auto done =
                write(layer, used, keys.data() + layer * layer_halves, values.data() + layer * layer_halves);
            !done)
            return done;
    return {};
}

Result<void> DeviceCache::read(std::int64_t index, std::int64_t positions, std::uint16_t* keys,
                               std::uint16_t* values) const {
    if (positions == 0) return {};
    if (positions > impl_->capacity) return Error{"the device cache holds fewer positions than asked for"};
    const std::size_t bytes = impl_->half_bytes(positions);
    if (auto done = impl_->context->download(impl_->kv, impl_->keys(index).offset, keys, bytes); !done)
        return done;
    return impl_->context->download(impl_->kv, impl_->values(index).offset, values, bytes);
}

Result<void> DeviceCache::write(std::int64_t index, std::int64_t positions, const std::uint16_t* keys,
                                const std::uint16_t* values) {
    if (positions == 0) return {};
    if (positions > impl_->capacity)
        return Error{"the device cache has no room for " + std::to_string(positions) + " positions"};
    const std::size_t bytes = impl_->half_bytes(positions);
    if (auto done = impl_->context->upload(impl_->kv, impl_->keys(index).offset, keys, bytes); !done)
        return done;
    return impl_->context->upload(impl_->kv, impl_->values(index).offset, values, bytes);
}

Result<std::unique_ptr<DeviceCache>> DeviceCache::clone(std::int64_t positions) const {
    auto impl = std::make_unique<Impl>();
    impl->context = impl_->context;
    impl->layers = impl_->layers;
    impl->kv_dim = impl_->kv_dim;
    impl->max_positions = impl_->max_positions;
    impl->capacity = impl_->capacity;
    if (impl->capacity > 0) {
        auto buffer = impl->context->create_buffer(impl_->kv.size());
        if (!buffer) return std::move(buffer).take_error();
        impl->kv = std::move(*buffer);
    }
    std::unique_ptr<DeviceCache> copy(new DeviceCache(std::move(impl)));
    std::vector<std::uint16_t> keys(static_cast<std::size_t>(positions * impl_->kv_dim)), values(keys.size());
    for (std::int64_t layer = 0; layer < impl_->layers; ++layer) {
        if (auto done = read(layer, positions, keys.data(), values.data()); !done)
            return std::move(done).take_error();
        if (auto done = copy->write(layer, positions, keys.data(), values.data()); !done)
            return std::move(done).take_error();
    }
    return copy;
}

struct DenseVulkanGraph::Impl {
    std::shared_ptr<vk::Context> context;
    DenseConfig config;
    std::int64_t first_layer = 0, max_rows = 0;
    backend::DeviceWeights weights;
    std::vector<DeviceLayer> layers;
    vk::BufferSpan output_norm;
    DeviceMatrix output;
    // Inputs uploaded in one copy per forward: the first position (a uint32), the RoPE table, the rows.
    std::size_t cos_sin_offset = 0, x_offset = 0;
    vk::Buffer inputs, h, q, k, v, attn, out, gate, up, logits;

    explicit Impl(std::shared_ptr<vk::Context> owner) : context(std::move(owner)), weights(*context) {}

    std::int64_t q_dim() const { return config.heads * config.head_dim; }
    std::int64_t kv_dim() const { return config.kv_heads * config.head_dim; }
    vk::BufferSpan first_position() const { return inputs.span(0, sizeof(std::uint32_t)); }
    vk::BufferSpan cos_sin() const {
        return inputs.span(cos_sin_offset, static_cast<std::size_t>(max_rows * config.head_dim / 2) * 8);
    }
    vk::BufferSpan x() const {
        return inputs.span(x_offset, static_cast<std::size_t>(max_rows * config.embedding) * sizeof(float));
    }

    Result<void> record(vk::Stream& stream, const DeviceCache::Impl& cache, std::int64_t rows,
                        std::int64_t logit_rows, std::int64_t head_first) const;
    Result<void> linear(vk::Stream& stream, vk::BufferSpan x_rows, std::int64_t rows, const DeviceMatrix& m,
                        vk::BufferSpan y) const {
        return vk::linear_gguf(stream, x_rows, rows, m.type, m.data, m.rows, m.cols, y);
    }
};

Result<void> DenseVulkanGraph::Impl::record(vk::Stream& s, const DeviceCache::Impl& cache, std::int64_t rows,
                                            std::int64_t logit_rows, std::int64_t head_first) const {
    const DenseConfig& c = config;
    const std::int64_t e = c.embedding, d = c.head_dim, pairs = d / 2;
    const float eps = static_cast<float>(c.rms_epsilon);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    const vk::BufferSpan x_rows = x();
    Recorder step;
    for (std::size_t index = 0; index < layers.size(); ++index) {
        const DeviceLayer& layer = layers[index];
        const auto li = static_cast<std::int64_t>(index);
        step(vk::rms_norm(s, x_rows, layer.attn_norm, h.span(), rows, e, eps));
        step(linear(s, h.span(), rows, layer.q, q.span()));
        step(linear(s, h.span(), rows, layer.k, k.span()));
        step(linear(s, h.span(), rows, layer.v, v.span()));
        step(vk::rope_interleaved(s, q.span(), cos_sin(), rows, c.heads, d, 0, pairs, false));
        step(vk::rope_interleaved(s, k.span(), cos_sin(), rows, c.kv_heads, d, 0, pairs, false));
        step(vk::kv_store(s, k.span(), v.span(), rows, kv_dim(), cache.keys(li), cache.values(li),
                          cache.capacity, first_position()));
        step(vk::causal_attention(s, q.span(), rows, c.heads, c.kv_heads, d, cache.keys(li), cache.values(li),
                                  cache.capacity, first_position(), scale, attn.span()));
        step(linear(s, attn.span(), rows, layer.o, out.span()));
        step(vk::add_in_place(s, x_rows, out.span(), rows * e));
        step(vk::rms_norm(s, x_rows, layer.ffn_norm, h.span(), rows, e, eps));
        step(linear(s, h.span(), rows, layer.gate, gate.span()));
        step(linear(s, h.span(), rows, layer.up, up.span()));
        step(vk::silu_mul(s, gate.span(), up.span(), rows * c.feed_forward));
        step(linear(s, gate.span(), rows, layer.down, out.span()));
        step(vk::add_in_place(s, x_rows, out.span(), rows * e));
    }
    if (logit_rows > 0) {
        const std::int64_t head_rows = rows - head_first;
        step(vk::rms_norm(s, x_rows, output_norm, h.span(), rows, e, eps));
        step(linear(s,
                    h.span(static_cast<std::size_t>(head_first * e) * sizeof(float),
                           static_cast<std::size_t>(head_rows * e) * sizeof(float)),
                    head_rows, output, logits.span()));
    }
    return std::move(step).take();
}

backend::DeviceFootprint DenseVulkanGraph::footprint(const formats::GgufFile& file, const DenseConfig& config,
                                                     std::int64_t max_rows, std::int64_t context) {
    const DenseConfig& c = config;
    backend::DeviceFootprint footprint;
    footprint.context = context;
    footprint.layer_bytes.assign(static_cast<std::size_t>(c.layers), 0);
    for (const std::string& name : device_tensor_names(file, c, 0)) {
        const formats::TensorView* tensor = file.find_tensor(name);
        const std::uint64_t bytes = tensor ? align_up(tensor->data.size(), kInputAlignment) : 0;
        if (name.starts_with("blk."))
            footprint.layer_bytes[static_cast<std::size_t>(std::stoll(name.substr(4)))] += bytes;
        else
            footprint.other_bytes += bytes;
    }
    // Keys and values at the whole context (the old cache goes before a larger one is made).
    const auto cache =
        static_cast<std::uint64_t>(stepped(std::min(context, c.context_length)) * c.kv_heads * c.head_dim) *
        2 * sizeof(std::uint16_t);
    for (std::uint64_t& bytes : footprint.layer_bytes) bytes += cache;
    for (const std::size_t bytes : working_sizes(c, max_rows)) footprint.other_bytes += bytes;
    return footprint;
}

DenseVulkanGraph::DenseVulkanGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DenseVulkanGraph::~DenseVulkanGraph() = default;

Result<std::unique_ptr<DenseVulkanGraph>>
DenseVulkanGraph::create(std::shared_ptr<vk::Context> context, const formats::GgufFile& file,
                         const DenseConfig& config, std::int64_t first_layer, std::int64_t max_rows) {
    auto impl = std::make_unique<Impl>(std::move(context));
    impl->config = config;
    impl->first_layer = first_layer;
    impl->max_rows = max_rows;
    const DenseConfig& c = config;

    // Every tensor the device half reads, found (and checked) before any upload.
    std::vector<const formats::TensorView*> tensors;
    const auto find = [&](const std::string& name) -> Result<const formats::TensorView*> {
        const formats::TensorView* tensor = file.find_tensor(name);
        if (!tensor) return Error{file.path() + ": tensor '" + name + "' is missing"};
        if (tensor->dtype != DType::F32 && !vk::linear_gguf_supports(tensor->dtype))
            return Error{file.path() + ": tensor '" + name + "' has type " +
                         std::string(kernels::dtype_info(tensor->dtype).name) +
                         ", which the Vulkan backend has no kernel for"};
        tensors.push_back(tensor);
        return tensor;
    };
    const std::vector<std::string> names = device_tensor_names(file, c, first_layer);
    std::uint64_t total = 0;
    for (const std::string& name : names) {
        auto tensor = find(name);
        if (!tensor) return std::move(tensor).take_error();
        total += (*tensor)->data.size();
    }
    impl->weights.plan(total, tensors.size());
    std::vector<vk::BufferSpan> spans;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        auto span = impl->weights.upload(tensors[i]->data, names[i]);
        if (!span) return std::move(span).take_error();
        spans.push_back(*span);
    }
    const auto matrix = [&](std::size_t i) {
        const formats::TensorView& t = *tensors[i];
        return DeviceMatrix{t.dtype, spans[i], t.shape[0], t.shape[1]};
    };
    std::size_t at = 0;
    for (std::int64_t l = first_layer; l < c.layers; ++l, at += 9)
        impl->layers.push_back({spans[at], spans[at + 5], matrix(at + 1), matrix(at + 2), matrix(at + 3),
                                matrix(at + 4), matrix(at + 6), matrix(at + 7), matrix(at + 8)});
    impl->output_norm = spans[at];
    impl->output = matrix(at + 1);

    impl->cos_sin_offset = kInputAlignment;
    impl->x_offset = x_offset(c, max_rows);
    vk::Context& device = *impl->context;
    const std::array<vk::Buffer*, kWorkingBuffers> buffers = {
        &impl->inputs, &impl->h,   &impl->q,    &impl->k,  &impl->v,
        &impl->attn,   &impl->out, &impl->gate, &impl->up, &impl->logits};
    const std::array<std::size_t, kWorkingBuffers> sizes = working_sizes(c, max_rows);
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        auto made = device.create_buffer(sizes[i]);
        if (!made)
            return Error{"no room on " + device.device().name +
                         " for the dense graph's working buffers: " + made.error()};
        *buffers[i] = std::move(*made);
    }
    return std::unique_ptr<DenseVulkanGraph>(new DenseVulkanGraph(std::move(impl)));
}

std::unique_ptr<DeviceCache> DenseVulkanGraph::new_cache() const {
    auto impl = std::make_unique<DeviceCache::Impl>();
    impl->context = impl_->context;
    impl->layers = static_cast<std::int64_t>(impl_->layers.size());
    impl->kv_dim = impl_->kv_dim();
    impl->max_positions = impl_->config.context_length;
    return std::unique_ptr<DeviceCache>(new DeviceCache(std::move(impl)));
}

std::uint64_t DenseVulkanGraph::device_bytes_in_use() const {
    return impl_->context->allocated_bytes();
}

std::uint64_t DenseVulkanGraph::weight_bytes() const {
    return impl_->weights.bytes();
}

Result<void> DenseVulkanGraph::forward(DeviceCache& cache, std::int64_t first, const float* x,
                                       std::int64_t rows, std::int64_t logit_rows, float* logits) const {
    const Impl& g = *impl_;
    const DenseConfig& c = g.config;
    if (rows <= 0 || rows > g.max_rows || logit_rows < 0 || logit_rows > rows)
        return Error{"the device graph takes 1 to " + std::to_string(g.max_rows) + " rows at a time"};
    if (auto grown = cache.reserve(first + rows, first); !grown) return grown;
    DeviceCache::Impl& kv = *cache.impl_;

    // One upload: the first position, the RoPE table of the rows' positions, the rows themselves.
    std::vector<float> inputs{std::bit_cast<float>(static_cast<std::uint32_t>(first))};
    inputs.resize(g.x_offset / sizeof(float) + static_cast<std::size_t>(rows * c.embedding));
    // The RoPE angles exactly as the CPU graph makes them (llama.cpp's repeated float products).
    std::vector<float> table(static_cast<std::size_t>(rows * c.head_dim));
    for (std::int64_t r = 0; r < rows; ++r)
        kernels::quant::rope_angles(static_cast<float>(c.rope_base), c.head_dim / 2, first + r,
                                    table.data() + r * c.head_dim);
    std::copy(table.begin(), table.end(),
              inputs.begin() + static_cast<std::ptrdiff_t>(g.cos_sin_offset / sizeof(float)));
    std::copy(x, x + rows * c.embedding,
              inputs.begin() + static_cast<std::ptrdiff_t>(g.x_offset / sizeof(float)));
    if (auto uploaded = g.context->upload(g.inputs, 0, inputs.data(), inputs.size() * sizeof(float));
        !uploaded)
        return uploaded;

    // The head reads the last logit_rows rows of h from an offset, which must be one the device binds;
    // otherwise it runs on every row and only the last ones are read back.
    const std::size_t alignment =
        std::max<std::size_t>(4, g.context->device().min_storage_buffer_offset_alignment);
    const std::int64_t tail = rows - logit_rows;
    const std::int64_t head_first =
        static_cast<std::size_t>(tail * c.embedding) * sizeof(float) % alignment == 0 ? tail : 0;
    const std::pair key{rows, logit_rows};
    auto found = kv.recordings.find(key);
    if (found == kv.recordings.end()) {
        if (kv.recordings.size() >= kMaxRecordings) kv.recordings.clear();
        auto stream = g.context->create_stream();
        if (!stream) return std::move(stream).take_error();
        if (auto recorded = g.record(*stream, kv, rows, logit_rows, head_first); !recorded) return recorded;
        found = kv.recordings.emplace(key, std::move(*stream)).first;
    }
    if (auto submitted = found->second.submit(); !submitted) return submitted;
    if (logit_rows == 0) return {};
    return g.context->download(g.logits,
                               static_cast<std::size_t>((tail - head_first) * c.vocab) * sizeof(float),
                               logits, static_cast<std::size_t>(logit_rows * c.vocab) * sizeof(float));
}

} // namespace lectern::model::dense
