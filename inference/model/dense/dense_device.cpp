#include "inference/model/dense/dense_device.h"

#include "kernels/cpu/quant/ordered_ops.h"

#include <algorithm>

namespace lectern::model::dense {
namespace {

// Cache capacity grows in steps of this many positions, so every layer's section starts at an offset any
// device can bind (256 * kv_dim * 2 bytes is a multiple of 256).
constexpr std::int64_t kCapacityStep = 256;

std::size_t align_up(std::size_t value, std::size_t alignment) {
    return (value + alignment - 1) / alignment * alignment;
}

std::int64_t stepped(std::int64_t positions) {
    return (positions + kCapacityStep - 1) / kCapacityStep * kCapacityStep;
}

} // namespace

Result<void> DeviceCache::reserve(std::int64_t positions, std::int64_t used) {
    if (positions <= capacity_) return {};
    const std::int64_t capacity =
        std::min(std::max(stepped(positions), 2 * capacity_), stepped(max_positions_));
    const std::size_t layer_halves = static_cast<std::size_t>(used * kv_dim_);
    std::vector<std::uint16_t> keys(layer_halves * static_cast<std::size_t>(layers_)), values(keys.size());
    for (std::int64_t layer = 0; layer < layers_; ++layer)
        if (auto done =
                read(layer, used, keys.data() + layer * layer_halves, values.data() + layer * layer_halves);
            !done)
            return done;
    const std::int64_t held = capacity_;
    drop();
    if (auto made = make(capacity); !made) {
        const std::string error = "no room on " + device_name() + " for the key/value cache of " +
                                  std::to_string(capacity) + " positions: " + made.error();
        if (held > 0 && !make(held)) return Error{error + "; the cache held before is lost as well"};
        if (auto restored = write_all(used, keys, values); !restored) return restored;
        return Error{error};
    }
    return write_all(used, keys, values);
}

Result<void> DeviceCache::write_all(std::int64_t used, const std::vector<std::uint16_t>& keys,
                                    const std::vector<std::uint16_t>& values) {
    const std::size_t layer_halves = static_cast<std::size_t>(used * kv_dim_);
    for (std::int64_t layer = 0; layer < layers_; ++layer)
        if (auto done =
                write(layer, used, keys.data() + layer * layer_halves, values.data() + layer * layer_halves);
            !done)
            return done;
    return {};
}

Result<std::unique_ptr<DeviceCache>> DeviceCache::clone(std::int64_t positions) const {
    std::unique_ptr<DeviceCache> copy = empty();
    if (capacity_ > 0)
        if (auto made = copy->make(capacity_); !made) return std::move(made).take_error();
    std::vector<std::uint16_t> keys(static_cast<std::size_t>(positions * kv_dim_)), values(keys.size());
    for (std::int64_t layer = 0; layer < layers_; ++layer) {
        if (auto done = read(layer, positions, keys.data(), values.data()); !done)
            return std::move(done).take_error();
        if (auto done = copy->write(layer, positions, keys.data(), values.data()); !done)
            return std::move(done).take_error();
    }
    return copy;
}

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

std::size_t input_rows_offset(const DenseConfig& c, std::int64_t max_rows) {
    return align_up(kInputAlignment + static_cast<std::size_t>(max_rows * c.head_dim / 2) * 8,
                    kInputAlignment);
}

std::array<std::size_t, kWorkingBuffers> working_sizes(const DenseConfig& c, std::int64_t max_rows) {
    const auto floats = [&](std::int64_t count) {
        return static_cast<std::size_t>(max_rows * count) * sizeof(float);
    };
    const std::int64_t q_dim = c.heads * c.head_dim, kv_dim = c.kv_heads * c.head_dim;
    return {input_rows_offset(c, max_rows) + floats(c.embedding),
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

std::vector<float> rope_table(const DenseConfig& c, std::int64_t first, std::int64_t rows) {
    // The angles exactly as the CPU graph makes them (llama.cpp's repeated float products).
    std::vector<float> table(static_cast<std::size_t>(rows * c.head_dim));
    for (std::int64_t r = 0; r < rows; ++r)
        kernels::quant::rope_angles(static_cast<float>(c.rope_base), c.head_dim / 2, first + r,
                                    table.data() + r * c.head_dim);
    return table;
}

backend::DeviceFootprint device_footprint(const formats::GgufFile& file, const DenseConfig& c,
                                          std::int64_t max_rows, std::int64_t context) {
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

} // namespace lectern::model::dense
