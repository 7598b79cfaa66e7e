#pragma once
// HF safetensors checkpoints: one `model.safetensors` or shards listed in `model.safetensors.index.json`,
// memory-mapped. Every header is parsed strictly (dtype known, shape and byte range consistent, inside the
// file, no overlaps), so a tensor view always points at exactly its own bytes. No model knowledge here.

#include "inference/formats/mapped_file.h"
#include "kernels/dtype.h"
#include "kernels/result.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace lectern::formats {

struct TensorView {
    std::string name;
    kernels::DType dtype = kernels::DType::F32;
    std::vector<std::int64_t> shape;
    std::span<const std::byte> data;
    std::string file; // the shard it lives in, for error messages

    std::int64_t elements() const;
    std::string describe() const; // "F8_E4M3 [1024, 4096]"
};

class SafetensorsCheckpoint {
public:
    // `folder` holds model.safetensors.index.json (sharded) or a single model.safetensors.
    static Result<SafetensorsCheckpoint> open_folder(const std::string& folder);
    // One .safetensors file.
    static Result<SafetensorsCheckpoint> open_file(const std::string& path);

    const TensorView* find(const std::string& name) const;
    const std::map<std::string, TensorView>& tensors() const { return tensors_; }
    std::uint64_t total_bytes() const;

private:
    Result<void> add_file(const std::string& path);

    std::vector<MappedFile> files_;
    std::map<std::string, TensorView> tensors_;
};

struct TensorToWrite {
    std::string name;
    kernels::DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;
};

// Writes one .safetensors file (tensors in the given order, 8-byte aligned header).
Result<void> write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

} // namespace lectern::formats
