#include "kernels/dtype.h"

#include <array>

namespace lectern::kernels {
namespace {

// One type per line.
// clang-format off
constexpr std::array<DTypeInfo, static_cast<std::size_t>(DType::Count)> kInfo{{
    {"F32", 1, 4},
    {"F16", 1, 2},
    {"BF16", 1, 2},
    {"F8_E4M3", 1, 1},
    {"F8_E8M0", 1, 1},
    {"I8", 1, 1},
    {"I16", 1, 2},
    {"I32", 1, 4},
    {"I64", 1, 8},
    {"U8", 1, 1},
    {"F64", 1, 8},
    {"Q4_0", 32, 18},
    {"Q4_1", 32, 20},
    {"Q5_0", 32, 22},
    {"Q5_1", 32, 24},
    {"Q8_0", 32, 34},
    {"Q8_1", 32, 36},
    {"Q2_K", 256, 84},
    {"Q3_K", 256, 110},
    {"Q4_K", 256, 144},
    {"Q5_K", 256, 176},
    {"Q6_K", 256, 210},
    {"Q8_K", 256, 292},
    {"IQ2_XXS", 256, 66},
    {"MXFP4", 32, 17},
}};
// clang-format on

} // namespace

const DTypeInfo& dtype_info(DType type) {
    return kInfo.at(static_cast<std::size_t>(type));
}

std::optional<DType> dtype_from_name(std::string_view name) {
    for (std::size_t i = 0; i < kInfo.size(); ++i)
        if (kInfo[i].name == name) return static_cast<DType>(i);
    return std::nullopt;
}

std::optional<std::int64_t> dtype_bytes(DType type, std::int64_t elements) {
    const DTypeInfo& info = dtype_info(type);
    if (elements < 0 || elements % info.block_elements != 0) return std::nullopt;
    return elements / info.block_elements * info.block_bytes;
}

} // namespace lectern::kernels
