#pragma once
// How an op's cache operand holds its values on the device. BF16 packs two values per 32-bit word (the
// even element in the low half) and is read by shifting, so it needs no 16-bit storage feature; it halves
// the memory of caches whose values are bf16-exact anyway.

#include <cstdint>

namespace lectern::kernels::vulkan {

enum class Storage : std::uint8_t { F32, BF16 };

// The bytes `elements` values take in `storage`: bf16 rounds up to whole 32-bit words, which its readers
// address.
inline std::uint64_t storage_bytes(Storage storage, std::int64_t elements) {
    const auto count = static_cast<std::uint64_t>(elements);
    return storage == Storage::BF16 ? (count + 1) / 2 * 4 : count * 4;
}

} // namespace lectern::kernels::vulkan
