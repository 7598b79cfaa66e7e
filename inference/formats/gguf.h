#pragma once
// GGUF files (llama.cpp's format, versions 2 and 3): metadata, tensor table and memory-mapped tensor data.
// The header is untrusted: every count, length, dimension, type and offset is checked against the file
// before use, so a truncated or hostile file gives an error naming the file (and tensor), never a crash or
// a read outside the mapping. Tensor shapes are reported outermost first ([rows, cols]), like safetensors;
// GGUF itself lists dimensions innermost first. No model knowledge here.

#include "inference/formats/mapped_file.h"
#include "inference/formats/safetensors.h"
#include "kernels/result.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lectern::formats {

enum class GgufType : std::uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};

std::string_view gguf_type_name(GgufType type);

// One metadata value. Integers keep their sign in the variant; `type` says what the file declared.
struct GgufValue {
    GgufType type = GgufType::U8;
    GgufType element_type = GgufType::U8; // arrays only
    std::variant<std::uint64_t, std::int64_t, double, bool, std::string, std::vector<GgufValue>> value;

    std::optional<std::uint64_t> as_uint() const; // any integer type holding a value >= 0
    std::optional<std::int64_t> as_int() const;   // any integer type that fits
    std::optional<double> as_float() const;       // F32, F64
    std::optional<bool> as_bool() const;
    const std::string* as_string() const;
    const std::vector<GgufValue>* as_array() const;
};

class GgufFile {
public:
    // Maps and parses `path`.
    static Result<GgufFile> open(const std::string& path);
    // Parses bytes the caller keeps alive (tests, the fuzzer); `name` appears in errors.
    static Result<GgufFile> parse(std::span<const std::byte> bytes, const std::string& name);

    const std::string& path() const { return name_; }
    std::uint32_t version() const { return version_; }
    std::uint64_t alignment() const { return alignment_; }
    std::uint64_t data_offset() const { return data_offset_; }

    const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
    const GgufValue* find(std::string_view key) const;
    // Typed lookups whose error names the file and the key.
    Result<std::uint64_t> require_uint(std::string_view key) const;
    Result<double> require_float(std::string_view key) const;
    Result<std::string> require_string(std::string_view key) const;

    // In file order.
    const std::vector<TensorView>& tensors() const { return tensors_; }
    const TensorView* find_tensor(std::string_view name) const;

private:
    std::string name_;
    MappedFile file_; // empty when parsing caller-owned bytes
    std::uint32_t version_ = 0;
    std::uint64_t alignment_ = 32;
    std::uint64_t data_offset_ = 0;
    std::map<std::string, GgufValue, std::less<>> metadata_;
    std::vector<TensorView> tensors_;
    std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

// The ggml type number used in GGUF tensor tables for `type`, or nullopt when GGUF has none.
std::optional<std::uint32_t> ggml_type_number(kernels::DType type);

} // namespace lectern::formats
