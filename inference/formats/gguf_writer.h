#pragma once
// Writes GGUF v3 files (little-endian, 32-byte alignment), the format gguf.h reads: metadata in the
// order it was added, then the tensor table and the tensor data. Shapes are given outermost first, like
// everywhere else in Lectern, and stored innermost first as GGUF wants. A tensor's bytes may be produced
// only when write() reaches it, so a converter holds one tensor in memory at a time.

#include "inference/formats/gguf.h"
#include "kernels/dtype.h"
#include "kernels/result.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lectern::formats {

class GgufWriter {
public:
    void add_string(const std::string& key, const std::string& value);
    void add_uint32(const std::string& key, std::uint32_t value);
    void add_int32(const std::string& key, std::int32_t value);
    void add_float32(const std::string& key, float value);
    void add_bool(const std::string& key, bool value);
    void add_strings(const std::string& key, const std::vector<std::string>& values);
    void add_int32s(const std::string& key, const std::vector<std::int32_t>& values);
    void add_uint32s(const std::string& key, const std::vector<std::uint32_t>& values);
    void add_float32s(const std::string& key, const std::vector<float>& values);
    // Any value as read from a GGUF file, in its declared type (copying metadata between files).
    void add_value(const std::string& key, const GgufValue& value);

    // The bytes must be exactly the encoding of `shape` elements of `dtype` (checked by write()).
    using TensorBytes = std::function<Result<std::vector<std::byte>>()>;
    void add_tensor(std::string name, kernels::DType dtype, std::vector<std::int64_t> shape,
                    std::vector<std::byte> bytes);
    void add_tensor(std::string name, kernels::DType dtype, std::vector<std::int64_t> shape,
                    TensorBytes produce);

    // Writes the file; an error names the path or the offending tensor (or is a producer's error). Nothing
    // is left at `path` on failure.
    Result<void> write(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        kernels::DType dtype;
        std::vector<std::int64_t> shape;
        TensorBytes produce;
    };
    void key(const std::string& name, std::uint32_t type);
    template <typename T>
    void put(T value);
    void put_string(const std::string& text);
    void put_value(const GgufValue& value, GgufType type);

    std::vector<std::byte> metadata_;
    std::uint64_t metadata_count_ = 0;
    std::vector<Tensor> tensors_;
};

} // namespace lectern::formats
