#include "inference/cache/snapshot_file.h"

#include "inference/formats/mapped_file.h"

#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lectern::cache {
namespace {

constexpr char kMagic[8] = {'L', 'E', 'C', 'T', 'S', 'N', 'A', 'P'};

// Appends raw bytes at `offset` of a buffer sized in advance.
void put(std::vector<std::byte>& out, std::size_t& offset, const void* data, std::size_t size) {
    if (size) std::memcpy(out.data() + offset, data, size);
    offset += size;
}

} // namespace

std::vector<std::byte> encode_snapshot(std::string_view family, std::span<const std::byte> payload) {
    std::vector<std::byte> out(8 + 4 + 4 + family.size() + 8 + 8 + payload.size());
    const std::uint32_t version = kSnapshotFormatVersion,
                        family_length = static_cast<std::uint32_t>(family.size());
    const std::uint64_t length = payload.size(), checksum = XXH64(payload.data(), payload.size(), 0);
    std::size_t offset = 0;
    put(out, offset, kMagic, 8);
    put(out, offset, &version, 4);
    put(out, offset, &family_length, 4);
    put(out, offset, family.data(), family.size());
    put(out, offset, &length, 8);
    put(out, offset, &checksum, 8);
    put(out, offset, payload.data(), payload.size());
    return out;
}

Result<std::vector<std::byte>> decode_snapshot(std::span<const std::byte> bytes, std::string_view family,
                                               const std::string& source) {
    std::size_t offset = 0;
    auto take = [&](void* out, std::size_t size) {
        if (size > bytes.size() - offset) return false;
        std::memcpy(out, bytes.data() + offset, size);
        offset += size;
        return true;
    };
    char magic[8];
    std::uint32_t version = 0, family_length = 0;
    if (!take(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
        return Error{source + " is not a Lectern snapshot (wrong magic bytes)"};
    if (!take(&version, 4)) return Error{source + " is truncated"};
    if (version != kSnapshotFormatVersion)
        return Error{source + " has snapshot format version " + std::to_string(version) +
                     "; this build reads version " + std::to_string(kSnapshotFormatVersion) +
                     " (prefill the corpus again)"};
    if (!take(&family_length, 4) || family_length > 256 || family_length > bytes.size() - offset)
        return Error{source + " is truncated or damaged (model family)"};
    const std::string stored(reinterpret_cast<const char*>(bytes.data() + offset), family_length);
    offset += family_length;
    if (stored != family)
        return Error{source + " was made by a " + stored + " model, not " + std::string(family)};
    std::uint64_t length = 0, checksum = 0;
    if (!take(&length, 8) || !take(&checksum, 8)) return Error{source + " is truncated (header)"};
    if (length != bytes.size() - offset)
        return Error{source + " is truncated or has trailing bytes: the header promises " +
                     std::to_string(length) + " payload bytes, the file holds " +
                     std::to_string(bytes.size() - offset)};
    const std::span<const std::byte> payload = bytes.subspan(offset);
    if (XXH64(payload.data(), payload.size(), 0) != checksum)
        return Error{source +
                     " is damaged: its checksum does not match (the file was changed or partly written)"};
    return std::vector<std::byte>(payload.begin(), payload.end());
}

Result<void> write_snapshot_file(const std::string& path, std::string_view family,
                                 std::span<const std::byte> payload) {
    const std::vector<std::byte> bytes = encode_snapshot(family, payload);
    // Write beside the target and rename, so a crash never leaves a half-written snapshot under its name.
    const std::string partial = path + ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) return Error{"cannot create " + partial};
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out.flush()) return Error{"failed writing " + partial + " (disk full?)"};
    }
    std::error_code error;
    std::filesystem::rename(partial, path, error);
    if (error) return Error{"cannot move " + partial + " to " + path + ": " + error.message()};
    return {};
}

Result<std::vector<std::byte>> read_snapshot_file(const std::string& path, std::string_view family) {
    auto file = formats::MappedFile::open(path);
    if (!file) return std::move(file).take_error();
    return decode_snapshot(file->bytes(), family, path);
}

} // namespace lectern::cache
