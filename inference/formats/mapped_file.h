#pragma once
// A read-only memory map of a whole file, and bounds-checked reads from it. Model readers parse
// untrusted headers through `slice`, so an offset or size past the end is an error, never a read.

#include "kernels/result.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace lectern::formats {

class MappedFile {
public:
    // Maps `path` read-only; the error names the file and the system's reason.
    static Result<MappedFile> open(const std::string& path);

    MappedFile() = default;
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::string& path() const { return path_; }
    std::uint64_t size() const { return size_; }
    std::span<const std::byte> bytes() const { return {data_, static_cast<std::size_t>(size_)}; }

    // The bytes [offset, offset + length), or an error naming the file when that is past its end.
    Result<std::span<const std::byte>> slice(std::uint64_t offset, std::uint64_t length) const;

private:
    std::string path_;
    const std::byte* data_ = nullptr;
    std::uint64_t size_ = 0;
};

} // namespace lectern::formats
