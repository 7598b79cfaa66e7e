#include "inference/model/dense/dense_vulkan.h"

#include "inference/backend/device_weights.h"
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

constexpr std::size_t kMaxRecordings = 8; // slice shapes kept per sequence; decode uses one

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

// The fp16 cache in one Vulkan buffer, with this sequence's recordings (they bind the buffer).
class VulkanCache final : public DeviceCache {
public:
    VulkanCache(std::shared_ptr<vk::Context> context, std::int64_t layers, std::int64_t kv_dim,
                std::int64_t max_positions)
        : DeviceCache(layers, kv_dim, max_positions), context_(std::move(context)) {}

    std::uint64_t bytes() const override { return kv_.size(); }

    Result<void> read(std::int64_t index, std::int64_t positions, std::uint16_t* keys,
                      std::uint16_t* values) const override {
        if (positions == 0) return {};
        if (positions > capacity_) return Error{"the device cache holds fewer positions than asked for"};
        const std::size_t bytes = half_bytes(positions);
        if (auto done = context_->download(kv_, keys_offset(index), keys, bytes); !done) return done;
        return context_->download(kv_, values_offset(index), values, bytes);
    }

    Result<void> write(std::int64_t index, std::int64_t positions, const std::uint16_t* keys,
                       const std::uint16_t* values) override {
        if (positions == 0) return {};
        if (positions > capacity_)
            return Error{"the device cache has no room for " + std::to_string(positions) + " positions"};
        const std::size_t bytes = half_bytes(positions);
        if (auto done = context_->upload(kv_, keys_offset(index), keys, bytes); !done) return done;
        return context_->upload(kv_, values_offset(index), values, bytes);
    }

    vk::BufferSpan keys(std::int64_t index) const {
        return kv_.span(keys_offset(index), half_bytes(capacity_));
    }
    vk::BufferSpan values(std::int64_t index) const {
        return kv_.span(values_offset(index), half_bytes(capacity_));
    }

    std::map<std::pair<std::int64_t, std::int64_t>, vk::Stream> recordings;

private:
    void drop() override {
        recordings.clear(); // they bound the old buffer
        kv_ = {};
        capacity_ = 0;
    }
    Result<void> make(std::int64_t capacity) override {
        auto buffer = context_->create_buffer(half_bytes(capacity) * static_cast<std::size_t>(2 * layers_));
        if (!buffer) return std::move(buffer).take_error();
        kv_ = std::move(*buffer);
        capacity_ = capacity;
        return {};
    }
    std::unique_ptr<DeviceCache> empty() const override {
        return std::make_unique<VulkanCache>(context_, layers_, kv_dim_, max_positions_);
    }
    std::string device_name() const override { return context_->device().name; }

    std::shared_ptr<vk::Context> context_;
    vk::Buffer kv_;
};

} // namespace

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

    Result<void> record(vk::Stream& stream, const VulkanCache& cache, std::int64_t rows,
                        std::int64_t logit_rows, std::int64_t head_first) const;
    Result<void> linear(vk::Stream& stream, vk::BufferSpan x_rows, std::int64_t rows, const DeviceMatrix& m,
                        vk::BufferSpan y) const {
        return vk::linear_gguf(stream, x_rows, rows, m.type, m.data, m.rows, m.cols, y);
    }
};

Result<void> DenseVulkanGraph::Impl::record(vk::Stream& s, const VulkanCache& cache, std::int64_t rows,
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
                          cache.capacity(), first_position()));
        step(vk::causal_attention(s, q.span(), rows, c.heads, c.kv_heads, d, cache.keys(li), cache.values(li),
                                  cache.capacity(), first_position(), scale, attn.span()));
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
    impl->x_offset = input_rows_offset(c, max_rows);
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
    return std::make_unique<VulkanCache>(impl_->context, static_cast<std::int64_t>(impl_->layers.size()),
                                         impl_->kv_dim(), impl_->config.context_length);
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
    auto& kv = static_cast<VulkanCache&>(cache); // made by new_cache()

    // One upload: the first position, the RoPE table of the rows' positions, the rows themselves.
    std::vector<float> inputs{std::bit_cast<float>(static_cast<std::uint32_t>(first))};
    inputs.resize(g.x_offset / sizeof(float) + static_cast<std::size_t>(rows * c.embedding));
    const std::vector<float> table = rope_table(c, first, rows);
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
