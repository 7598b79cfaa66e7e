// cpu::linear on a GGUF_BLOCK matrix (read in place, as a V4 GGUF file's weights now run) against the same
// weights decoded to F32 (as they ran before), at a DeepSeek-V4-Flash routed expert's shape [2048, 4096],
// for a decode step and a prefill chunk: time, bytes held, and the ratio.
#include "kernels/cpu/ops.h"
#include "kernels/cpu/quant/dequantize.h"
#include "tests/gguf/block_encoders.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

using namespace lectern;
using kernels::DType;
namespace cpu = kernels::cpu;

namespace {

double milliseconds(const float* x, std::int64_t tokens, const cpu::WeightMatrix& w, float* y) {
    cpu::linear(x, tokens, w, y); // warm the weights and scratch
    constexpr int kRepeats = 5;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRepeats; ++i) cpu::linear(x, tokens, w, y);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3 / kRepeats;
}

} // namespace

int main() {
    const std::int64_t out = 2048, in = 4096;
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> weights(static_cast<std::size_t>(out * in));
    for (float& v : weights) v = normal(rng);
    std::printf("cpu::linear [%lld x %lld], in place vs decoded to F32 (ratio > 1: in place is faster)\n",
                static_cast<long long>(out), static_cast<long long>(in));
    for (const DType type : {DType::F16, DType::Q8_0, DType::Q4_K, DType::IQ2_XXS}) {
        const std::vector<std::byte> blocks = test::encode_rows(type, weights.data(), out, in);
        std::vector<float> decoded(weights.size());
        kernels::quant::dequantize_row(type, blocks.data(), decoded.data(), out * in);
        const cpu::WeightMatrix in_place{
            cpu::WeightFormat::GGUF_BLOCK, blocks.data(), nullptr, out, in, type};
        const cpu::WeightMatrix as_f32{cpu::WeightFormat::F32, decoded.data(), nullptr, out, in};
        for (const std::int64_t tokens : {1, 16}) {
            std::vector<float> x(static_cast<std::size_t>(tokens * in)),
                y(static_cast<std::size_t>(tokens * out));
            for (float& v : x) v = normal(rng) * 50.0f;
            const double t_in_place = milliseconds(x.data(), tokens, in_place, y.data());
            const double t_f32 = milliseconds(x.data(), tokens, as_f32, y.data());
            std::printf(
                "  %-8s %2lld tokens: in place %7.2f ms (%5.1f MB)  F32 %7.2f ms (%5.1f MB)  ratio %.2f\n",
                kernels::dtype_info(type).name.data(), static_cast<long long>(tokens), t_in_place,
                static_cast<double>(blocks.size()) / 1e6, t_f32,
                static_cast<double>(decoded.size() * sizeof(float)) / 1e6, t_f32 / t_in_place);
        }
    }
}
