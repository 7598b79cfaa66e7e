#include "inference/formats/gguf_writer.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace lectern::formats {
namespace {

constexpr std::uint64_t kAlignment = 32;

std::uint64_t aligned(std::uint64_t offset) {
    return (offset + kAlignment - 1) / kAlignment * kAlignment;
}

} // namespace

template <typename T>
void GgufWriter::put(T value) {
    const std::size_t at = metadata_.size();
    metadata_.resize(at + sizeof(T));
    std::memcpy(metadata_.data() + at, &value, sizeof(T));
}

void GgufWriter::put_string(const std::string& text) {
    put<std::uint64_t>(text.size());
    const std::size_t at = metadata_.size();
    metadata_.resize(at + text.size());
    std::memcpy(metadata_.data() + at, text.data(), text.size());
}

void GgufWriter::key(const std::string& name, std::uint32_t type) {
    put_string(name);
    put<std::uint32_t>(type);
    ++metadata_count_;
}

void GgufWriter::add_string(const std::string& name, const std::string& value) {
    key(name, static_cast<std::uint32_t>(GgufType::String));
    put_string(value);
}

void GgufWriter::add_uint32(const std::string& name, std::uint32_t value) {
    key(name, static_cast<std::uint32_t>(GgufType::U32));
    put(value);
}

void GgufWriter::add_int32(const std::string& name, std::int32_t value) {
    key(name, static_cast<std::uint32_t>(GgufType::I32));
    put(value);
}

void GgufWriter::add_float32(const std::string& name, float value) {
    key(name, static_cast<std::uint32_t>(GgufType::F32));
    put(value);
}

void GgufWriter::add_bool(const std::string& name, bool value) {
    key(name, static_cast<std::uint32_t>(GgufType::Bool));
    put<std::uint8_t>(value ? 1 : 0);
}

void GgufWriter::add_strings(const std::string& name, const std::vector<std::string>& values) {
    key(name, static_cast<std::uint32_t>(GgufType::Array));
    put(static_cast<std::uint32_t>(GgufType::String));
    put<std::uint64_t>(values.size());
    for (const std::string& value : values) put_string(value);
}

void GgufWriter::add_int32s(const std::string& name, const std::vector<std::int32_t>& values) {
    key(name, static_cast<std::uint32_t>(GgufType::Array));
    put(static_cast<std::uint32_t>(GgufType::I32));
    put<std::uint64_t>(values.size());
    for (const std::int32_t value : values) put(value);
}

void GgufWriter::add_uint32s(const std::string& name, const std::vector<std::uint32_t>& values) {
    key(name, static_cast<std::uint32_t>(GgufType::Array));
    put(static_cast<std::uint32_t>(GgufType::U32));
    put<std::uint64_t>(values.size());
    for (const std::uint32_t value : values) put(value);
}

void GgufWriter::add_float32s(const std::string& name, const std::vector<float>& values) {
    key(name, static_cast<std::uint32_t>(GgufType::Array));
    put(static_cast<std::uint32_t>(GgufType::F32));
    put<std::uint64_t>(values.size());
    for (const float value : values) put(value);
}

void GgufWriter::add_value(const std::string& name, const GgufValue& value) {
    key(name, static_cast<std::uint32_t>(value.type));
    put_value(value, value.type);
}

void GgufWriter::put_value(const GgufValue& value, GgufType type) {
    switch (type) {
    case GgufType::U8:
        put(static_cast<std::uint8_t>(value.as_uint().value_or(0)));
        break;
    case GgufType::I8:
        put(static_cast<std::int8_t>(value.as_int().value_or(0)));
        break;
    case GgufType::U16:
        put(static_cast<std::uint16_t>(value.as_uint().value_or(0)));
        break;
    case GgufType::I16:
        put(static_cast<std::int16_t>(value.as_int().value_or(0)));
        break;
    case GgufType::U32:
        put(static_cast<std::uint32_t>(value.as_uint().value_or(0)));
        break;
    case GgufType::I32:
        put(static_cast<std::int32_t>(value.as_int().value_or(0)));
        break;
    case GgufType::U64:
        put(value.as_uint().value_or(0));
        break;
    case GgufType::I64:
        put(value.as_int().value_or(0));
        break;
    case GgufType::F32:
        put(static_cast<float>(value.as_float().value_or(0.0)));
        break;
    case GgufType::F64:
        put(value.as_float().value_or(0.0));
        break;
    case GgufType::Bool:
        put<std::uint8_t>(value.as_bool().value_or(false) ? 1 : 0);
        break;
    case GgufType::String:
        put_string(value.as_string() ? *value.as_string() : std::string());
        break;
    case GgufType::Array: {
        static const std::vector<GgufValue> kEmpty;
        const std::vector<GgufValue>& elements = value.as_array() ? *value.as_array() : kEmpty;
        put(static_cast<std::uint32_t>(value.element_type));
        put<std::uint64_t>(elements.size());
        for (const GgufValue& element : elements) put_value(element, value.element_type);
        break;
    }
    }
}

void GgufWriter::add_tensor(std::string name, kernels::DType dtype, std::vector<std::int64_t> shape,
                            std::vector<std::byte> bytes) {
    auto shared = std::make_shared<std::vector<std::byte>>(std::move(bytes));
    add_tensor(std::move(name), dtype, std::move(shape),
               [shared]() -> Result<std::vector<std::byte>> { return *shared; });
}

void GgufWriter::add_tensor(std::string name, kernels::DType dtype, std::vector<std::int64_t> shape,
                            TensorBytes produce) {
    tensors_.push_back({std::move(name), dtype, std::move(shape), std::move(produce)});
}

Result<void> GgufWriter::write(const std::string& path) const {
    std::vector<std::byte> table;
    auto append = [&table](const void* data, std::size_t size) {
        const std::size_t at = table.size();
        table.resize(at + size);
        std::memcpy(table.data() + at, data, size);
    };
    std::uint64_t offset = 0;
    std::vector<std::uint64_t> sizes;
    for (const Tensor& tensor : tensors_) {
        std::int64_t elements = 1;
        for (const std::int64_t extent : tensor.shape) elements *= extent;
        const auto expected = kernels::dtype_bytes(tensor.dtype, elements);
        const auto type_number = ggml_type_number(tensor.dtype);
        if (!type_number)
            return Error{"cannot write " + path + ": tensor " + tensor.name + " is " +
                         std::string(kernels::dtype_info(tensor.dtype).name) +
                         ", which GGUF has no type for"};
        if (!expected)
            return Error{"cannot write " + path + ": tensor " + tensor.name + "'s rows are not whole " +
                         std::string(kernels::dtype_info(tensor.dtype).name) + " blocks"};
        sizes.push_back(static_cast<std::uint64_t>(*expected));
        const std::uint64_t name_length = tensor.name.size();
        append(&name_length, 8);
        append(tensor.name.data(), tensor.name.size());
        const std::uint32_t dims = static_cast<std::uint32_t>(tensor.shape.size());
        append(&dims, 4);
        for (auto it = tensor.shape.rbegin(); it != tensor.shape.rend(); ++it) {
            const std::uint64_t extent = static_cast<std::uint64_t>(*it);
            append(&extent, 8);
        }
        append(&*type_number, 4);
        append(&offset, 8);
        offset = aligned(offset + sizes.back());
    }

    const std::string partial = path + ".partial";
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"cannot create " + partial};
    const std::uint32_t magic = 0x46554747u, version = 3;
    const std::uint64_t tensor_count = tensors_.size();
    out.write(reinterpret_cast<const char*>(&magic), 4);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&tensor_count), 8);
    out.write(reinterpret_cast<const char*>(&metadata_count_), 8);
    out.write(reinterpret_cast<const char*>(metadata_.data()),
              static_cast<std::streamsize>(metadata_.size()));
    out.write(reinterpret_cast<const char*>(table.data()), static_cast<std::streamsize>(table.size()));
    const std::uint64_t header = 24 + metadata_.size() + table.size();
    const std::vector<char> padding(kAlignment, 0);
    out.write(padding.data(), static_cast<std::streamsize>(aligned(header) - header));
    std::error_code error;
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
        auto bytes = tensors_[i].produce();
        if (bytes && bytes->size() != sizes[i])
            bytes = Error{"cannot write " + path + ": tensor " + tensors_[i].name + " has " +
                          std::to_string(bytes->size()) + " bytes, which does not match its type and shape"};
        if (!bytes) {
            out.close();
            std::filesystem::remove(partial, error);
            return std::move(bytes).take_error();
        }
        out.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
        out.write(padding.data(), static_cast<std::streamsize>(aligned(sizes[i]) - sizes[i]));
    }
    out.close();
    if (!out) {
        std::filesystem::remove(partial, error);
        return Error{"failed writing " + path + " (disk full?)"};
    }
    std::filesystem::rename(partial, path, error);
    if (error) return Error{"cannot move " + partial + " to " + path + ": " + error.message()};
    return {};
}

} // namespace lectern::formats
