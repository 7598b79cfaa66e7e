#pragma once
// The snapshot container: a versioned, checksummed envelope around a sequence state's bytes, in memory
// or in a file, so one prefilled corpus prefix can serve many questions. Layout (little-endian):
//   8 B magic "LECTSNAP" | u32 format version | u32 family length | family (UTF-8) |
//   u64 payload length | u64 XXH64(payload, seed 0) | payload
// A wrong magic, version, family, length or checksum is an error; nothing is restored from it.

#include "kernels/result.h"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lectern::cache {

inline constexpr std::uint32_t kSnapshotFormatVersion = 1;

std::vector<std::byte> encode_snapshot(std::string_view family, std::span<const std::byte> payload);
// The payload, after every check; `source` names the file (or "snapshot") in errors.
Result<std::vector<std::byte>> decode_snapshot(std::span<const std::byte> bytes, std::string_view family,
                                               const std::string& source = "snapshot");

Result<void> write_snapshot_file(const std::string& path, std::string_view family,
                                 std::span<const std::byte> payload);
Result<std::vector<std::byte>> read_snapshot_file(const std::string& path, std::string_view family);

} // namespace lectern::cache
