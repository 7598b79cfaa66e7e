#pragma once
// Element and block types shared by every backend and by the model formats.

#include <cstdint>
#include <optional>
#include <string_view>

namespace lectern::kernels {

// Plain types hold one element per unit; block types pack `block_elements` values in `block_bytes`.
enum class DType : std::uint8_t {
    F32,
    F16,
    BF16,
    F8_E4M3, // DeepSeek-V4 dense weights, with E8M0 128x128 block scales beside them
    F8_E8M0, // power-of-two scales: 2^(b-127)
    I8,
    I16,
    I32,
    I64,
    U8,
    F64,
    // GGUF (ggml) block types; layouts in kernels/cpu/quant/blocks.h.
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1, // activations only: Q8_0 plus the block's sum
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K, // activations only: 256 int8, a float scale and 16 partial sums
    IQ2_XXS,
    MXFP4,
    Count
};

struct DTypeInfo {
    std::string_view name;
    std::int64_t block_elements;
    std::int64_t block_bytes;
};

const DTypeInfo& dtype_info(DType type);
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes for `elements` values, or nullopt when `elements` is not a whole number of blocks.
std::optional<std::int64_t> dtype_bytes(DType type, std::int64_t elements);

} // namespace lectern::kernels
