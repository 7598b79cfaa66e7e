// Lectern's decode of every GGUF weight type against the `gguf` Python package's reference
// dequantization (tests/data/gguf/make_dequant_golden.py): equal bit for bit, infinities included.

#include "inference/formats/gguf.h"
#include "kernels/cpu/quant/dequantize.h"
#include "tests/kernels/check.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace lectern;

int main() {
    auto file = formats::GgufFile::open(std::string(LECTERN_TEST_DATA) + "/gguf/dequant_golden.gguf");
    if (!CHECK(file.ok())) {
        std::fprintf(stderr, "%s\n", file.error().c_str());
        return 1;
    }
    int types = 0;
    for (const formats::TensorView& raw : file->tensors()) {
        if (!raw.name.ends_with(".raw")) continue;
        const std::string type_name = raw.name.substr(0, raw.name.size() - 4);
        const formats::TensorView* expected = file->find_tensor(type_name + ".expected");
        if (!CHECK(expected != nullptr) || !CHECK(expected->shape == raw.shape)) continue;
        CHECK(std::string(kernels::dtype_info(raw.dtype).name) == type_name);
        CHECK(kernels::quant::is_weight_type(raw.dtype));
        const std::int64_t rows = raw.shape[0], cols = raw.shape[1];
        const std::size_t row_bytes = raw.data.size() / static_cast<std::size_t>(rows);
        std::vector<float> decoded(static_cast<std::size_t>(cols));
        std::int64_t mismatches = 0;
        for (std::int64_t r = 0; r < rows; ++r) {
            kernels::quant::dequantize_row(raw.dtype, raw.data.data() + r * row_bytes, decoded.data(), cols);
            for (std::int64_t c = 0; c < cols; ++c) {
                float want;
                std::memcpy(&want, expected->data.data() + (r * cols + c) * 4, 4);
                const float got = decoded[static_cast<std::size_t>(c)];
                if (std::bit_cast<std::uint32_t>(got) != std::bit_cast<std::uint32_t>(want) &&
                    mismatches++ < 3)
                    std::fprintf(stderr, "%s row %lld col %lld: got %.9g (0x%08x), expected %.9g (0x%08x)\n",
                                 type_name.c_str(), static_cast<long long>(r), static_cast<long long>(c), got,
                                 std::bit_cast<std::uint32_t>(got), want, std::bit_cast<std::uint32_t>(want));
            }
        }
        CHECK(mismatches == 0);
        std::printf("%-8s %lld x %lld: %s\n", type_name.c_str(), static_cast<long long>(rows),
                    static_cast<long long>(cols), mismatches == 0 ? "bit-exact" : "MISMATCH");
        ++types;
    }
    CHECK(types == 14); // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ2_XXS MXFP4 F16 BF16
    return test::finish("gguf_dequantize");
}
