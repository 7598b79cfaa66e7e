// The matmul kernels (AVX2 and portable) against the exact reference dot product, within the bounds
// stated in kernels/cpu/quant/matmul.h, for every weight type, one token and several, with and without
// a thread pool.

#include "inference/formats/gguf.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/matmul.h"
#include "tests/gguf/matmul_bound.h"
#include "tests/kernels/check.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace lectern;
using kernels::DType;
namespace quant = kernels::quant;

namespace {

std::mt19937 rng(1234);

std::vector<float> random_floats(std::int64_t n) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = normal(rng);
    return v;
}

// Random blocks with finite scales.
std::vector<std::byte> random_weights(DType type, std::int64_t rows, std::int64_t cols) {
    const auto& info = kernels::dtype_info(type);
    const std::int64_t blocks = rows * cols / info.block_elements;
    std::vector<std::byte> bytes(static_cast<std::size_t>(blocks * info.block_bytes));
    std::uniform_int_distribution<int> byte(0, 255);
    std::normal_distribution<float> scale(0.0f, 0.01f);
    for (std::byte& b : bytes) b = static_cast<std::byte>(byte(rng));
    const int scale_fields = type == DType::Q4_1 ? 2 : (type == DType::Q4_0 || type == DType::Q8_0) ? 1 : 0;
    for (std::int64_t b = 0; b < blocks; ++b)
        for (int f = 0; f < scale_fields; ++f) {
            const std::uint16_t h = quant::float_to_half(scale(rng));
            std::memcpy(bytes.data() + b * info.block_bytes + 2 * f, &h, 2);
        }
    if (type == DType::MXFP4) // shared exponents near 2^-9, where real weights live
        for (std::int64_t b = 0; b < blocks; ++b)
            bytes[static_cast<std::size_t>(b * info.block_bytes)] = std::byte{118};
    if (type == DType::F32)
        for (std::int64_t i = 0; i < rows * cols; ++i) {
            const float v = scale(rng);
            std::memcpy(bytes.data() + i * 4, &v, 4);
        }
    if (type == DType::BF16)
        for (std::int64_t i = 0; i < rows * cols; ++i) {
            const float v = scale(rng);
            std::memcpy(bytes.data() + i * 2, reinterpret_cast<const std::byte*>(&v) + 2, 2);
        }
    if (type == DType::F16)
        for (std::int64_t i = 0; i < rows * cols; ++i) {
            const std::uint16_t h = quant::float_to_half(scale(rng));
            std::memcpy(bytes.data() + i * 2, &h, 2);
        }
    return bytes;
}

void check_type(DType type, const std::byte* weights, std::int64_t rows, std::int64_t cols,
                quant::ThreadPool* pool) {
    const auto& info = kernels::dtype_info(type);
    const std::int64_t row_bytes = cols / info.block_elements * info.block_bytes;
    for (const std::int64_t tokens : {1, 5}) {
        const std::vector<float> x = random_floats(tokens * cols);
        std::vector<float> w(static_cast<std::size_t>(cols));
        for (const bool avx2 : {true, false}) {
            if (avx2 && !quant::cpu_has_avx2()) continue;
            std::vector<float> y(static_cast<std::size_t>(tokens * rows), NAN);
            quant::matmul(type, weights, rows, cols, x.data(), tokens, y.data(), {pool, avx2});
            double worst_ratio = 0.0;
            for (std::int64_t t = 0; t < tokens; ++t)
                for (std::int64_t r = 0; r < rows; ++r) {
                    const std::byte* row = weights + r * row_bytes;
                    quant::dequantize_row(type, row, w.data(), cols);
                    const float* xt = x.data() + t * cols;
                    const double want = quant::dot_reference(type, row, xt, cols);
                    const double got = y[static_cast<std::size_t>(t * rows + r)];
                    const double limit = test::matmul_bound(type, row, w.data(), xt, cols);
                    worst_ratio = std::max(worst_ratio, std::fabs(got - want) / limit);
                    if (!std::isfinite(got) || std::fabs(got - want) > limit) {
                        std::fprintf(stderr,
                                     "%s %s row %lld token %lld: got %.9g, reference %.9g, bound %.3g\n",
                                     info.name.data(), avx2 ? "avx2" : "portable", static_cast<long long>(r),
                                     static_cast<long long>(t), got, want, limit);
                        CHECK(false);
                        return;
                    }
                }
            std::printf("%-8s %-8s %lldx%lld x %lld tokens%s: worst error / bound = %.3f\n", info.name.data(),
                        avx2 ? "avx2" : "portable", static_cast<long long>(rows),
                        static_cast<long long>(cols), static_cast<long long>(tokens),
                        pool ? " (2 threads)" : "", worst_ratio);
        }
    }
}

} // namespace

int main() {
    std::printf("AVX2+FMA+F16C: %s\n", quant::cpu_has_avx2() ? "yes" : "no (portable path only)");
    quant::ThreadPool pool(2);
    // Every type, on the golden file's blocks (3 rows each).
    auto file = formats::GgufFile::open(std::string(LECTERN_TEST_DATA) + "/gguf/dequant_golden.gguf");
    if (!CHECK(file.ok())) return 1;
    for (const formats::TensorView& t : file->tensors())
        // Their golden blocks cover the whole range, infinities included: they get random weights below.
        if (t.name.ends_with(".raw") && t.dtype != DType::MXFP4 && t.dtype != DType::F16 &&
            t.dtype != DType::BF16)
            check_type(t.dtype, t.data.data(), t.shape[0], t.shape[1], nullptr);
    // Larger matrices of the integer-path types and the plain ones, split over threads.
    for (const DType type :
         {DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::MXFP4, DType::F16, DType::BF16, DType::F32}) {
        const std::vector<std::byte> weights = random_weights(type, 67, 576);
        check_type(type, weights.data(), 67, 576, &pool);
    }
    return test::finish("gguf_matmul");
}
