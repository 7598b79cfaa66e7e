#include "inference/model/dense/dense_cuda.h"

#include "kernels/cuda/dense_ops.h"
#include "kernels/cuda/graph_ops.h"
#include "kernels/cuda/ops.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <utility>
#include <vector>

namespace lectern::model::dense {
namespace {

namespace cu = kernels::cuda;
using kernels::DType;

struct DeviceMatrix {
    DType type = DType::F32;
    const void* data = nullptr;
    std::int64_t rows = 0, cols = 0;
};

struct DeviceLayer {
    const float* attn_norm = nullptr;
    const float* ffn_norm = nullptr;
    DeviceMatrix q, k, v, o, gate, up, down;
};

// The fp16 cache in one CUDA buffer.
class CudaCache final : public DeviceCache {
public:
    CudaCache(std::int64_t layers, std::int64_t kv_dim, std::int64_t max_positions,
              std::shared_ptr<cu::MemoryAccount> account)
        : DeviceCache(layers, kv_dim, max_positions), account_(std::move(account)) {}

    std::uint64_t bytes() const override { return kv_.size(); }

    Result<void> read(std::int64_t index, std::int64_t positions, std::uint16_t* keys,
                      std::uint16_t* values) const override {
        if (positions == 0) return {};
        if (positions > capacity_) return Error{"the device cache holds fewer positions than asked for"};
        const std::size_t bytes = half_bytes(positions);
        if (auto done = kv_.download(keys, bytes, keys_offset(index)); !done) return done;
        return kv_.download(values, bytes, values_offset(index));
    }

    Result<void> write(std::int64_t index, std::int64_t positions, const std::uint16_t* keys,
                       const std::uint16_t* values) override {
        if (positions == 0) return {};
        if (positions > capacity_)
            return Error{"the device cache has no room for " + std::to_string(positions) + " positions"};
        const std::size_t bytes = half_bytes(positions);
        if (auto done = kv_.upload(keys, bytes, keys_offset(index)); !done) return done;
        return kv_.upload(values, bytes, values_offset(index));
    }

    std::uint16_t* keys(std::int64_t index) const {
        return reinterpret_cast<std::uint16_t*>(kv_.as<char>() + keys_offset(index));
    }
    std::uint16_t* values(std::int64_t index) const {
        return reinterpret_cast<std::uint16_t*>(kv_.as<char>() + values_offset(index));
    }

private:
    void drop() override {
        kv_ = {};
        capacity_ = 0;
    }
    Result<void> make(std::int64_t capacity) override {
        auto buffer = cu::DeviceBuffer::allocate(half_bytes(capacity) * static_cast<std::size_t>(2 * layers_),
                                                 account_);
        if (!buffer) return std::move(buffer).take_error();
        kv_ = std::move(*buffer);
        capacity_ = capacity;
        return {};
    }
    std::unique_ptr<DeviceCache> empty() const override {
        return std::make_unique<CudaCache>(layers_, kv_dim_, max_positions_, account_);
    }
    std::string device_name() const override { return "the CUDA device"; }

    std::shared_ptr<cu::MemoryAccount> account_;
    cu::DeviceBuffer kv_;
};

} // namespace

struct DenseCudaGraph::Impl {
    std::shared_ptr<cu::MemoryAccount> account; // everything below and the sequences' caches
    DenseConfig config;
    std::int64_t max_rows = 0;
    std::vector<cu::DeviceBuffer> tensors; // one per weight tensor, in device_tensor_names' order
    std::uint64_t weight_bytes = 0;
    std::vector<DeviceLayer> layers;
    const float* output_norm = nullptr;
    DeviceMatrix output;
    // Inputs uploaded in one copy per forward, laid out as dense_device.h says.
    std::size_t x_offset = 0;
    // Scratch of every forward (one forward at a time: DenseModel serialises them).
    mutable cu::DeviceBuffer inputs;
    cu::DeviceBuffer h, q, k, v, attn, out, gate, up, logits;

    std::int64_t kv_dim() const { return config.kv_heads * config.head_dim; }
    const std::uint32_t* first_position() const { return inputs.as<std::uint32_t>(); }
    const float* cos_sin() const {
        return reinterpret_cast<const float*>(inputs.as<char>() + kInputAlignment);
    }
    float* x() const { return reinterpret_cast<float*>(inputs.as<char>() + x_offset); }

    static Result<void> linear(const float* x_rows, std::int64_t rows, const DeviceMatrix& m, float* y) {
        return cu::linear_gguf(x_rows, rows, m.type, m.data, m.rows, m.cols, y);
    }
    Result<void> layer(const DeviceLayer& layer, CudaCache& cache, std::int64_t index,
                       std::int64_t rows) const;
};

Result<void> DenseCudaGraph::Impl::layer(const DeviceLayer& layer, CudaCache& cache, std::int64_t index,
                                         std::int64_t rows) const {
    const DenseConfig& c = config;
    const std::int64_t e = c.embedding, d = c.head_dim, pairs = d / 2;
    const float eps = static_cast<float>(c.rms_epsilon);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
    float* const x_rows = x();
    float *const hs = h.as<float>(), *const qs = q.as<float>(), *const ks = k.as<float>(),
                 *const vs = v.as<float>(), *const outs = out.as<float>(), *const gates = gate.as<float>();
    Steps run;
    run([&] { return cu::rms_norm(x_rows, layer.attn_norm, hs, rows, e, eps); });
    run([&] { return linear(hs, rows, layer.q, qs); });
    run([&] { return linear(hs, rows, layer.k, ks); });
    run([&] { return linear(hs, rows, layer.v, vs); });
    run([&] { return cu::rope_interleaved(qs, cos_sin(), rows, c.heads, d, 0, pairs, false); });
    run([&] { return cu::rope_interleaved(ks, cos_sin(), rows, c.kv_heads, d, 0, pairs, false); });
    run([&] {
        return cu::kv_store(ks, vs, rows, kv_dim(), cache.keys(index), cache.values(index), cache.capacity(),
                            first_position());
    });
    run([&] {
        return cu::causal_attention(qs, rows, c.heads, c.kv_heads, d, cache.keys(index), cache.values(index),
                                    cache.capacity(), first_position(), scale, attn.as<float>());
    });
    run([&] { return linear(attn.as<float>(), rows, layer.o, outs); });
    run([&] { return cu::add(x_rows, outs, x_rows, rows * e); });
    run([&] { return cu::rms_norm(x_rows, layer.ffn_norm, hs, rows, e, eps); });
    run([&] { return linear(hs, rows, layer.gate, gates); });
    run([&] { return linear(hs, rows, layer.up, up.as<float>()); });
    run([&] { return cu::silu_mul(gates, up.as<float>(), rows * c.feed_forward); });
    run([&] { return linear(gates, rows, layer.down, outs); });
    run([&] { return cu::add(x_rows, outs, x_rows, rows * e); });
    return run.take();
}

DenseCudaGraph::DenseCudaGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DenseCudaGraph::~DenseCudaGraph() = default;

Result<std::unique_ptr<DenseCudaGraph>>
DenseCudaGraph::create(const formats::GgufFile& file, const DenseConfig& config, std::int64_t first_layer,
                       std::int64_t max_rows, std::uint64_t memory_limit) {
    auto impl = std::make_unique<Impl>();
    impl->account = std::make_shared<cu::MemoryAccount>(memory_limit);
    impl->config = config;
    impl->max_rows = max_rows;
    const DenseConfig& c = config;

    // Every tensor the device half reads, found (and checked) before any upload.
    const std::vector<std::string> names = device_tensor_names(file, c, first_layer);
    std::vector<const formats::TensorView*> views;
    for (const std::string& name : names) {
        const formats::TensorView* tensor = file.find_tensor(name);
        if (!tensor) return Error{file.path() + ": tensor '" + name + "' is missing"};
        if (tensor->dtype != DType::F32 && !cu::linear_gguf_supports(tensor->dtype))
            return Error{file.path() + ": tensor '" + name + "' has type " +
                         std::string(kernels::dtype_info(tensor->dtype).name) +
                         ", which the CUDA backend has no kernel for"};
        views.push_back(tensor);
    }
    for (std::size_t i = 0; i < views.size(); ++i) {
        const auto& data = views[i]->data;
        auto buffer = cu::DeviceBuffer::allocate(data.size(), impl->account);
        if (!buffer)
            return Error{"no room on the CUDA device for the weights of '" + names[i] +
                         "': " + buffer.error()};
        if (auto copied = buffer->upload(data.data(), data.size()); !copied)
            return std::move(copied).take_error();
        impl->weight_bytes += data.size();
        impl->tensors.push_back(std::move(*buffer));
    }
    const auto vector = [&](std::size_t i) { return impl->tensors[i].as<const float>(); };
    const auto matrix = [&](std::size_t i) {
        const formats::TensorView& t = *views[i];
        return DeviceMatrix{t.dtype, impl->tensors[i].data(), t.shape[0], t.shape[1]};
    };
    std::size_t at = 0;
    for (std::int64_t l = first_layer; l < c.layers; ++l, at += 9)
        impl->layers.push_back({vector(at), vector(at + 5), matrix(at + 1), matrix(at + 2), matrix(at + 3),
                                matrix(at + 4), matrix(at + 6), matrix(at + 7), matrix(at + 8)});
    impl->output_norm = vector(at);
    impl->output = matrix(at + 1);

    impl->x_offset = input_rows_offset(c, max_rows);
    const std::array<cu::DeviceBuffer*, kWorkingBuffers> buffers = {
        &impl->inputs, &impl->h,   &impl->q,    &impl->k,  &impl->v,
        &impl->attn,   &impl->out, &impl->gate, &impl->up, &impl->logits};
    const std::array<std::size_t, kWorkingBuffers> sizes = working_sizes(c, max_rows);
    for (std::size_t i = 0; i < buffers.size(); ++i) {
        auto made = cu::DeviceBuffer::allocate(sizes[i], impl->account);
        if (!made)
            return Error{"no room on the CUDA device for the dense graph's working buffers: " + made.error()};
        *buffers[i] = std::move(*made);
    }
    return std::unique_ptr<DenseCudaGraph>(new DenseCudaGraph(std::move(impl)));
}

std::unique_ptr<DeviceCache> DenseCudaGraph::new_cache() const {
    return std::make_unique<CudaCache>(static_cast<std::int64_t>(impl_->layers.size()), impl_->kv_dim(),
                                       impl_->config.context_length, impl_->account);
}

std::uint64_t DenseCudaGraph::weight_bytes() const {
    return impl_->weight_bytes;
}

std::uint64_t DenseCudaGraph::device_bytes_in_use() const {
    return impl_->account->used();
}

Result<void> DenseCudaGraph::forward(DeviceCache& cache, std::int64_t first, const float* x,
                                     std::int64_t rows, std::int64_t logit_rows, float* logits) const {
    const Impl& g = *impl_;
    const DenseConfig& c = g.config;
    if (rows <= 0 || rows > g.max_rows || logit_rows < 0 || logit_rows > rows)
        return Error{"the device graph takes 1 to " + std::to_string(g.max_rows) + " rows at a time"};
    if (auto grown = cache.reserve(first + rows, first); !grown) return grown;
    auto& kv = static_cast<CudaCache&>(cache); // made by new_cache()

    // One upload: the first position, the RoPE table of the rows' positions, the rows themselves.
    std::vector<float> inputs{std::bit_cast<float>(static_cast<std::uint32_t>(first))};
    inputs.resize(g.x_offset / sizeof(float) + static_cast<std::size_t>(rows * c.embedding));
    const std::vector<float> table = rope_table(c, first, rows);
    std::copy(table.begin(), table.end(),
              inputs.begin() + static_cast<std::ptrdiff_t>(kInputAlignment / sizeof(float)));
    std::copy(x, x + rows * c.embedding,
              inputs.begin() + static_cast<std::ptrdiff_t>(g.x_offset / sizeof(float)));
    if (auto uploaded = g.inputs.upload(inputs.data(), inputs.size() * sizeof(float)); !uploaded)
        return uploaded;

    for (std::size_t index = 0; index < g.layers.size(); ++index)
        if (auto done = g.layer(g.layers[index], kv, static_cast<std::int64_t>(index), rows); !done)
            return done;
    if (logit_rows == 0) return cu::synchronize("the dense forward");
    const std::int64_t e = c.embedding, tail = rows - logit_rows;
    if (auto done = cu::rms_norm(g.x() + tail * e, g.output_norm, g.h.as<float>(), logit_rows, e,
                                 static_cast<float>(c.rms_epsilon));
        !done)
        return done;
    if (auto done = Impl::linear(g.h.as<float>(), logit_rows, g.output, g.logits.as<float>()); !done)
        return done;
    return g.logits.download(logits, static_cast<std::size_t>(logit_rows * c.vocab) * sizeof(float));
}

} // namespace lectern::model::dense
