#include "inference/formats/gguf.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

namespace lectern::formats {
namespace {

using kernels::DType;

constexpr std::uint32_t kMagic = 0x46554747; // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 8;            // nested arrays; deeper is hostile, not useful
constexpr std::uint32_t kMaxDims = 4;        // ggml's GGML_MAX_DIMS
constexpr std::int64_t kMaxElements = std::int64_t{1} << 50;

struct GgmlTypeEntry {
    std::uint32_t number;
    std::string_view name;
    std::optional<DType> dtype; // nullopt: a real ggml type Lectern cannot compute with
};

// ggml's type numbers as GGUF stores them; gaps are numbers ggml has retired.
constexpr std::array<GgmlTypeEntry, 32> kGgmlTypes{{
    {0, "F32", DType::F32},       {1, "F16", DType::F16},        {2, "Q4_0", DType::Q4_0},
    {3, "Q4_1", DType::Q4_1},     {6, "Q5_0", DType::Q5_0},      {7, "Q5_1", DType::Q5_1},
    {8, "Q8_0", DType::Q8_0},     {9, "Q8_1", DType::Q8_1},      {10, "Q2_K", DType::Q2_K},
    {11, "Q3_K", DType::Q3_K},    {12, "Q4_K", DType::Q4_K},     {13, "Q5_K", DType::Q5_K},
    {14, "Q6_K", DType::Q6_K},    {15, "Q8_K", DType::Q8_K},     {16, "IQ2_XXS", DType::IQ2_XXS},
    {17, "IQ2_XS", std::nullopt}, {18, "IQ3_XXS", std::nullopt}, {19, "IQ1_S", std::nullopt},
    {20, "IQ4_NL", std::nullopt}, {21, "IQ3_S", std::nullopt},   {22, "IQ2_S", std::nullopt},
    {23, "IQ4_XS", std::nullopt}, {24, "I8", DType::I8},         {25, "I16", DType::I16},
    {26, "I32", DType::I32},      {27, "I64", DType::I64},       {28, "F64", DType::F64},
    {29, "IQ1_M", std::nullopt},  {30, "BF16", DType::BF16},     {34, "TQ1_0", std::nullopt},
    {35, "TQ2_0", std::nullopt},  {39, "MXFP4", DType::MXFP4},
}};

const GgmlTypeEntry* ggml_type(std::uint32_t number) {
    for (const GgmlTypeEntry& entry : kGgmlTypes)
        if (entry.number == number) return &entry;
    return nullptr;
}

// Smallest encoding of one value of `type`, so that a declared count can be checked against the bytes
// left before anything is allocated for it.
std::uint64_t min_encoded_size(GgufType type) {
    switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
        return 1;
    case GgufType::U16:
    case GgufType::I16:
        return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
        return 4;
    case GgufType::String:
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
        return 8;
    case GgufType::Array:
        return 12;
    }
    return 1;
}

bool is_known_type(std::uint32_t raw) {
    return raw <= static_cast<std::uint32_t>(GgufType::F64);
}

// Sequential, bounds-checked reads from the header.
class Reader {
public:
    Reader(std::span<const std::byte> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

    std::uint64_t position() const { return position_; }
    std::uint64_t remaining() const { return bytes_.size() - position_; }

    Error error(const std::string& what) const {
        return Error{name_ + ": " + what + " (at byte " + std::to_string(position_) + " of " +
                     std::to_string(bytes_.size()) + ")"};
    }
    Error truncated(const std::string& what) const {
        return error("the file ends inside " + what + "; it is truncated or not a GGUF file");
    }

    template <typename T>
    Result<T> read(const std::string& what) {
        if (remaining() < sizeof(T)) return truncated(what);
        T value;
        std::memcpy(&value, bytes_.data() + position_, sizeof(T));
        position_ += sizeof(T);
        return value;
    }

    Result<std::string> read_string(const std::string& what) {
        auto length = read<std::uint64_t>(what + " (length)");
        if (!length) return std::move(length).take_error();
        if (*length > remaining())
            return error(what + " claims " + std::to_string(*length) +
                         " bytes, more than the rest of the file; it is truncated or damaged");
        std::string text(reinterpret_cast<const char*>(bytes_.data() + position_),
                         static_cast<std::size_t>(*length));
        position_ += *length;
        return text;
    }

    Result<GgufValue> read_value(GgufType type, const std::string& what, int depth) {
        GgufValue value;
        value.type = type;
        switch (type) {
        case GgufType::U8:
            return scalar<std::uint8_t, std::uint64_t>(value, what);
        case GgufType::I8:
            return scalar<std::int8_t, std::int64_t>(value, what);
        case GgufType::U16:
            return scalar<std::uint16_t, std::uint64_t>(value, what);
        case GgufType::I16:
            return scalar<std::int16_t, std::int64_t>(value, what);
        case GgufType::U32:
            return scalar<std::uint32_t, std::uint64_t>(value, what);
        case GgufType::I32:
            return scalar<std::int32_t, std::int64_t>(value, what);
        case GgufType::U64:
            return scalar<std::uint64_t, std::uint64_t>(value, what);
        case GgufType::I64:
            return scalar<std::int64_t, std::int64_t>(value, what);
        case GgufType::F32:
            return scalar<float, double>(value, what);
        case GgufType::F64:
            return scalar<double, double>(value, what);
        case GgufType::Bool: {
            auto byte = read<std::uint8_t>(what);
            if (!byte) return std::move(byte).take_error();
            if (*byte > 1) return error(what + " is a boolean with value " + std::to_string(*byte));
            value.value = *byte == 1;
            return value;
        }
        case GgufType::String: {
            auto text = read_string(what);
            if (!text) return std::move(text).take_error();
            value.value = std::move(*text);
            return value;
        }
        case GgufType::Array:
            return read_array(std::move(value), what, depth);
        }
        return error(what + " has an unknown value type");
    }

private:
    template <typename Stored, typename Held>
    Result<GgufValue> scalar(GgufValue& value, const std::string& what) {
        auto raw = read<Stored>(what);
        if (!raw) return std::move(raw).take_error();
        value.value = static_cast<Held>(*raw);
        return std::move(value);
    }

    Result<GgufValue> read_array(GgufValue value, const std::string& what, int depth) {
        if (depth >= kMaxArrayDepth)
            return error(what + " nests arrays deeper than " + std::to_string(kMaxArrayDepth));
        auto raw_type = read<std::uint32_t>(what + " (element type)");
        if (!raw_type) return std::move(raw_type).take_error();
        if (!is_known_type(*raw_type))
            return error(what + " is an array of unknown value type " + std::to_string(*raw_type));
        value.element_type = static_cast<GgufType>(*raw_type);
        auto count = read<std::uint64_t>(what + " (element count)");
        if (!count) return std::move(count).take_error();
        if (*count > remaining() / min_encoded_size(value.element_type))
            return error(what + " claims " + std::to_string(*count) +
                         " elements, more than the file can hold");
        std::vector<GgufValue> items;
        items.reserve(static_cast<std::size_t>(*count));
        for (std::uint64_t i = 0; i < *count; ++i) {
            auto item = read_value(value.element_type, what + "[" + std::to_string(i) + "]", depth + 1);
            if (!item) return std::move(item).take_error();
            items.push_back(std::move(*item));
        }
        value.value = std::move(items);
        return value;
    }

    std::span<const std::byte> bytes_;
    const std::string& name_;
    std::uint64_t position_ = 0;
};

// a * b, or nullopt past kMaxElements.
std::optional<std::int64_t> checked_product(std::int64_t a, std::int64_t b) {
    if (a != 0 && b > kMaxElements / a) return std::nullopt;
    return a * b;
}

std::string shape_text(const std::vector<std::uint64_t>& dims) {
    std::string text = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
    return text + "]";
}

} // namespace

std::string_view gguf_type_name(GgufType type) {
    constexpr std::array<std::string_view, 13> kNames{"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                      "bool", "string", "array", "u64", "i64", "f64"};
    const auto index = static_cast<std::size_t>(type);
    return index < kNames.size() ? kNames[index] : std::string_view("unknown");
}

std::optional<std::uint64_t> GgufValue::as_uint() const {
    if (const auto* u = std::get_if<std::uint64_t>(&value)) return *u;
    if (const auto* i = std::get_if<std::int64_t>(&value); i && *i >= 0)
        return static_cast<std::uint64_t>(*i);
    return std::nullopt;
}

std::optional<std::int64_t> GgufValue::as_int() const {
    if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
    if (const auto* u = std::get_if<std::uint64_t>(&value);
        u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return static_cast<std::int64_t>(*u);
    return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
    if (const auto* d = std::get_if<double>(&value)) return *d;
    return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
    if (const auto* b = std::get_if<bool>(&value)) return *b;
    return std::nullopt;
}

const std::string* GgufValue::as_string() const {
    return std::get_if<std::string>(&value);
}

const std::vector<GgufValue>* GgufValue::as_array() const {
    return std::get_if<std::vector<GgufValue>>(&value);
}

std::optional<std::uint32_t> ggml_type_number(DType type) {
    for (const GgmlTypeEntry& entry : kGgmlTypes)
        if (entry.dtype == type) return entry.number;
    return std::nullopt;
}

Result<GgufFile> GgufFile::open(const std::string& path) {
    auto mapped = MappedFile::open(path);
    if (!mapped) return std::move(mapped).take_error();
    const std::span<const std::byte> bytes = mapped->bytes();
    auto file = parse(bytes, path);
    if (!file) return std::move(file).take_error();
    file->file_ = std::move(*mapped); // moving the mapping keeps its address, so the views stay valid
    return file;
}

Result<GgufFile> GgufFile::parse(std::span<const std::byte> bytes, const std::string& name) {
    GgufFile file;
    file.name_ = name;
    Reader reader(bytes, file.name_);

    auto magic = reader.read<std::uint32_t>("the GGUF magic");
    if (!magic) return std::move(magic).take_error();
    if (*magic != kMagic) return Error{name + ": not a GGUF file (it does not start with \"GGUF\")"};
    auto version = reader.read<std::uint32_t>("the version");
    if (!version) return std::move(version).take_error();
    if (*version == 0x03000000u || *version == 0x02000000u)
        return Error{name + ": a big-endian GGUF file; Lectern reads little-endian GGUF only"};
    if (*version != 2 && *version != 3)
        return Error{
            name + ": GGUF version " + std::to_string(*version) +
            " is not supported (Lectern reads versions 2 and 3); re-convert it with a current llama.cpp"};
    file.version_ = *version;

    auto tensor_count = reader.read<std::uint64_t>("the tensor count");
    if (!tensor_count) return std::move(tensor_count).take_error();
    auto kv_count = reader.read<std::uint64_t>("the metadata count");
    if (!kv_count) return std::move(kv_count).take_error();
    if (*kv_count > reader.remaining() / 13) // key length, value type, one byte of value at least
        return reader.error("the header claims " + std::to_string(*kv_count) +
                            " metadata entries, more than the file can hold");

    for (std::uint64_t i = 0; i < *kv_count; ++i) {
        auto key = reader.read_string("metadata key #" + std::to_string(i));
        if (!key) return std::move(key).take_error();
        auto raw_type = reader.read<std::uint32_t>("the type of metadata '" + *key + "'");
        if (!raw_type) return std::move(raw_type).take_error();
        if (!is_known_type(*raw_type))
            return reader.error("metadata '" + *key + "' has unknown value type " +
                                std::to_string(*raw_type));
        auto value = reader.read_value(static_cast<GgufType>(*raw_type), "metadata '" + *key + "'", 0);
        if (!value) return std::move(value).take_error();
        if (file.metadata_.contains(*key)) return reader.error("metadata '" + *key + "' appears twice");
        file.metadata_.emplace(std::move(*key), std::move(*value));
    }

    if (const GgufValue* alignment = file.find("general.alignment")) {
        const auto value = alignment->as_uint();
        if (alignment->type != GgufType::U32 || !value || *value == 0 || *value % 8 != 0 ||
            (*value & (*value - 1)) != 0)
            return Error{name + ": general.alignment must be a u32 power of two and a multiple of 8"};
        file.alignment_ = *value;
    }

    if (*tensor_count > reader.remaining() / 24) // name length, dim count, one dim, type, offset at least
        return reader.error("the header claims " + std::to_string(*tensor_count) +
                            " tensors, more than the file can hold");
    struct Pending {
        std::vector<std::uint64_t> dims; // innermost first, as stored
        std::uint64_t offset;
        std::uint64_t bytes;
    };
    std::vector<Pending> pending;
    pending.reserve(static_cast<std::size_t>(*tensor_count));
    for (std::uint64_t i = 0; i < *tensor_count; ++i) {
        auto tensor_name = reader.read_string("the name of tensor #" + std::to_string(i));
        if (!tensor_name) return std::move(tensor_name).take_error();
        const std::string label = "tensor '" + *tensor_name + "'";
        if (file.tensor_index_.contains(*tensor_name)) return reader.error(label + " appears twice");
        auto n_dims = reader.read<std::uint32_t>("the dimension count of " + label);
        if (!n_dims) return std::move(n_dims).take_error();
        if (*n_dims == 0 || *n_dims > kMaxDims)
            return reader.error(label + " has " + std::to_string(*n_dims) + " dimensions (1 to 4 are valid)");
        Pending entry;
        std::int64_t elements = 1;
        for (std::uint32_t d = 0; d < *n_dims; ++d) {
            auto extent = reader.read<std::uint64_t>("the shape of " + label);
            if (!extent) return std::move(extent).take_error();
            entry.dims.push_back(*extent);
        }
        for (const std::uint64_t extent : entry.dims) {
            const auto product = extent == 0 || extent > static_cast<std::uint64_t>(kMaxElements)
                                     ? std::nullopt
                                     : checked_product(elements, static_cast<std::int64_t>(extent));
            if (!product)
                return reader.error(label + " has an impossible shape " + shape_text(entry.dims) +
                                    " (a dimension is 0 or the element count is absurd)");
            elements = *product;
        }
        auto raw_type = reader.read<std::uint32_t>("the type of " + label);
        if (!raw_type) return std::move(raw_type).take_error();
        const GgmlTypeEntry* type = ggml_type(*raw_type);
        if (!type)
            return reader.error(label + " has unknown ggml type " + std::to_string(*raw_type) +
                                "; the file is damaged or newer than this Lectern");
        if (!type->dtype)
            return reader.error(
                label + " has type " + std::string(type->name) +
                ", which Lectern cannot compute with; use a GGUF quantized as Q4_0, Q4_1, Q5_0, "
                "Q5_1, Q8_0, Q2_K..Q6_K, IQ2_XXS, MXFP4, F16, BF16 or F32");
        const auto& info = kernels::dtype_info(*type->dtype);
        if (static_cast<std::int64_t>(entry.dims[0]) % info.block_elements != 0)
            return reader.error(label + " has rows of " + std::to_string(entry.dims[0]) +
                                " elements, not a multiple of " + std::string(type->name) + "'s block of " +
                                std::to_string(info.block_elements));
        entry.bytes = static_cast<std::uint64_t>(elements / info.block_elements * info.block_bytes);
        auto offset = reader.read<std::uint64_t>("the data offset of " + label);
        if (!offset) return std::move(offset).take_error();
        if (*offset % file.alignment_ != 0)
            return reader.error(label + " starts at offset " + std::to_string(*offset) +
                                ", not a multiple of the alignment " + std::to_string(file.alignment_));
        entry.offset = *offset;

        TensorView view;
        view.name = std::move(*tensor_name);
        view.dtype = *type->dtype;
        for (auto it = entry.dims.rbegin(); it != entry.dims.rend(); ++it)
            view.shape.push_back(static_cast<std::int64_t>(*it));
        view.file = name;
        file.tensor_index_.emplace(view.name, file.tensors_.size());
        file.tensors_.push_back(std::move(view));
        pending.push_back(std::move(entry));
    }

    const std::uint64_t header_end = reader.position();
    file.data_offset_ = (header_end + file.alignment_ - 1) / file.alignment_ * file.alignment_;
    for (std::size_t i = 0; i < pending.size(); ++i) {
        const Pending& entry = pending[i];
        TensorView& view = file.tensors_[i];
        const std::uint64_t size = bytes.size();
        if (file.data_offset_ > size || entry.offset > size - file.data_offset_ ||
            entry.bytes > size - file.data_offset_ - entry.offset)
            return Error{name + ": tensor '" + view.name + "' (" + view.describe() + ", " +
                         std::to_string(entry.bytes) + " bytes at data offset " +
                         std::to_string(entry.offset) + ") lies past the end of the file (" +
                         std::to_string(size) + " bytes); the file is truncated or damaged"};
        view.data = bytes.subspan(static_cast<std::size_t>(file.data_offset_ + entry.offset),
                                  static_cast<std::size_t>(entry.bytes));
    }

    std::vector<std::size_t> order(pending.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return pending[a].offset < pending[b].offset; });
    for (std::size_t k = 1; k < order.size(); ++k) {
        const Pending& before = pending[order[k - 1]];
        if (before.offset + before.bytes > pending[order[k]].offset)
            return Error{name + ": tensors '" + file.tensors_[order[k - 1]].name + "' and '" +
                         file.tensors_[order[k]].name + "' overlap; the file is damaged"};
    }
    return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    const auto it = metadata_.find(key);
    return it == metadata_.end() ? nullptr : &it->second;
}

Result<std::uint64_t> GgufFile::require_uint(std::string_view key) const {
    const GgufValue* value = find(key);
    if (!value) return Error{name_ + ": metadata '" + std::string(key) + "' is missing"};
    if (const auto number = value->as_uint()) return *number;
    return Error{name_ + ": metadata '" + std::string(key) + "' is a " +
                 std::string(gguf_type_name(value->type)) + ", not a non-negative integer"};
}

Result<double> GgufFile::require_float(std::string_view key) const {
    const GgufValue* value = find(key);
    if (!value) return Error{name_ + ": metadata '" + std::string(key) + "' is missing"};
    if (const auto number = value->as_float()) return *number;
    return Error{name_ + ": metadata '" + std::string(key) + "' is a " +
                 std::string(gguf_type_name(value->type)) + ", not a number"};
}

Result<std::string> GgufFile::require_string(std::string_view key) const {
    const GgufValue* value = find(key);
    if (!value) return Error{name_ + ": metadata '" + std::string(key) + "' is missing"};
    if (const std::string* text = value->as_string()) return *text;
    return Error{name_ + ": metadata '" + std::string(key) + "' is a " +
                 std::string(gguf_type_name(value->type)) + ", not a string"};
}

const TensorView* GgufFile::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

} // namespace lectern::formats
