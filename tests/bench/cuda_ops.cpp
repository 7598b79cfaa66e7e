// CUDA op timings on the DeepSeek-V4-Flash shapes that dominate decode and on GGUF weights of the dense
// family, printed as achieved memory bandwidth beside a device-to-device copy measured in the same run (the
// practical ceiling), and the graph ops of a decode step as times.
// Prints only; run by hand or by tests/bench/cuda_device_check.sh on a GPU machine.

#include "kernels/cuda/dense_ops.h"
#include "kernels/cuda/graph_ops.h"
#include "kernels/cuda/ops.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace lectern::kernels;

namespace {

template <typename Fn>
double median_ms(Fn&& fn, int repeats = 50) {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    for (int i = 0; i < 5; ++i) fn(); // warm-up: module load, caches
    std::vector<float> times;
    for (int i = 0; i < repeats; ++i) {
        cudaEventRecord(start);
        fn();
        cudaEventRecord(stop);
        cudaEventSynchronize(stop);
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, start, stop);
        times.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
}

cuda::DeviceBuffer must(lectern::Result<cuda::DeviceBuffer> buffer) {
    if (!buffer.ok()) {
        std::fprintf(stderr, "cuda_ops: %s\n", buffer.error().c_str());
        std::exit(1);
    }
    return std::move(*buffer);
}

cuda::DeviceBuffer random_bytes(std::size_t bytes, std::mt19937& rng, int lo, int hi) {
    std::vector<std::uint8_t> host(bytes);
    std::uniform_int_distribution<int> dist(lo, hi);
    for (auto& b : host) b = static_cast<std::uint8_t>(dist(rng));
    auto buffer = must(cuda::DeviceBuffer::allocate(bytes));
    if (!buffer.upload(host.data(), bytes).ok()) std::exit(1);
    return buffer;
}

} // namespace

int main() {
    if (const auto available = cuda::device_available(); !available.ok()) {
        std::printf("cuda_ops: no device: %s\n", available.error().c_str());
        return 0;
    }
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    std::printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
    std::mt19937 rng(7);

    // Baseline: a 2 GiB device-to-device copy (bytes read + written).
    const std::size_t copy_bytes = std::size_t(1) << 31;
    auto src = must(cuda::DeviceBuffer::allocate(copy_bytes)),
         dst = must(cuda::DeviceBuffer::allocate(copy_bytes));
    const double copy_ms =
        median_ms([&] { cudaMemcpy(dst.data(), src.data(), copy_bytes, cudaMemcpyDeviceToDevice); }, 10);
    const double copy_gbs = 2.0 * copy_bytes / (copy_ms * 1e6);
    std::printf("%-44s %9.3f ms %8.0f GB/s (baseline)\n", "copy 2 GiB device-to-device", copy_ms, copy_gbs);

    struct Case {
        const char* name;
        cpu::WeightFormat format;
        std::int64_t out, in, rows;
    };
    const Case cases[] = {
        {"FP8 wq_b [32768x1024], 1 token", cpu::WeightFormat::F8_E4M3_BLOCK128, 32768, 1024, 1},
        {"FP8 wo_b [4096x8192], 1 token", cpu::WeightFormat::F8_E4M3_BLOCK128, 4096, 8192, 1},
        {"FP4 expert w1 [2048x4096] x 8 copies, 1 token", cpu::WeightFormat::FP4_E2M1_BLOCK32, 16384, 4096,
         1},
        {"BF16 head [129280x4096], 1 token", cpu::WeightFormat::BF16, 129280, 4096, 1},
        {"FP8 wq_b [32768x1024], 16 tokens", cpu::WeightFormat::F8_E4M3_BLOCK128, 32768, 1024, 16},
    };
    for (const Case& c : cases) {
        std::size_t data_bytes = 0, scale_bytes = 0;
        switch (c.format) {
        case cpu::WeightFormat::F8_E4M3_BLOCK128:
            data_bytes = c.out * c.in;
            scale_bytes = ((c.out + 127) / 128) * ((c.in + 127) / 128);
            break;
        case cpu::WeightFormat::FP4_E2M1_BLOCK32:
            data_bytes = c.out * c.in / 2;
            scale_bytes = c.out * c.in / 32;
            break;
        case cpu::WeightFormat::BF16:
            data_bytes = c.out * c.in * 2;
            break;
        case cpu::WeightFormat::F32:
            data_bytes = c.out * c.in * 4;
            break;
        case cpu::WeightFormat::GGUF_BLOCK: // the GGUF cases below
            break;
        }
        auto data = random_bytes(data_bytes, rng, 0, 0x7E);
        auto scales = random_bytes(std::max<std::size_t>(scale_bytes, 1), rng, 120, 130);
        auto x = random_bytes(c.rows * c.in * 4, rng, 0, 0x3E); // small positive floats
        auto y = must(cuda::DeviceBuffer::allocate(c.rows * c.out * 4));
        const cuda::DeviceWeight weight{c.format, data.data(), scales.as<std::uint8_t>(), c.out, c.in};
        const double ms =
            median_ms([&] { (void)cuda::linear(x.as<float>(), c.rows, weight, y.as<float>()); });
        const double gbs = (data_bytes + scale_bytes) / (ms * 1e6);
        std::printf("%-44s %9.3f ms %8.0f GB/s  %.2f of copy\n", c.name, ms, gbs, gbs / copy_gbs);
    }

    // GGUF weights (linear_gguf): an 8B model's FFN matrix and the default model's widest, one token and 8.
    struct GgufCase {
        const char* name;
        DType type;
        std::int64_t out, in, rows;
    };
    const GgufCase gguf_cases[] = {
        {"Q4_K ffn_up [14336x4096], 1 token", DType::Q4_K, 14336, 4096, 1},
        {"Q4_K ffn_up [14336x4096], 8 tokens", DType::Q4_K, 14336, 4096, 8},
        {"Q6_K ffn_down [4096x14336], 1 token", DType::Q6_K, 4096, 14336, 1},
        {"Q8_0 ffn_up [14336x4096], 1 token", DType::Q8_0, 14336, 4096, 1},
        {"Q4_0 ffn_up [14336x4096], 1 token", DType::Q4_0, 14336, 4096, 1},
        {"Q8_0 SmolLM2 ffn_up [2560x960], 1 token", DType::Q8_0, 2560, 960, 1},
    };
    for (const GgufCase& c : gguf_cases) {
        const std::size_t bytes = static_cast<std::size_t>(*dtype_bytes(c.type, c.out * c.in));
        // Random quant bytes with small fp16 scales: 0x00..0x1F in every byte keeps each half-precision field
        // finite (its exponent bits stay low).
        auto data = random_bytes(bytes, rng, 0, 0x1F);
        auto x = random_bytes(c.rows * c.in * 4, rng, 0, 0x3E);
        auto y = must(cuda::DeviceBuffer::allocate(c.rows * c.out * 4));
        const double ms = median_ms([&] {
            (void)cuda::linear_gguf(x.as<float>(), c.rows, c.type, data.data(), c.out, c.in, y.as<float>());
        });
        const double gbs = bytes / (ms * 1e6);
        std::printf("%-44s %9.3f ms %8.0f GB/s  %.2f of copy\n", c.name, ms, gbs, gbs / copy_gbs);
    }

    // Graph ops of a V4-Flash decode step and of sampling, as times.
    {
        const std::int64_t vocab = 129280, keys = 262144, heads = 64, index_dim = 128, topk = 512;
        auto logits = random_bytes(vocab * 4, rng, 0, 0x3E);
        auto scores = random_bytes(keys * 4, rng, 0, 0x3E);
        auto index_keys = random_bytes(keys * index_dim * 4, rng, 0, 0x3C);
        auto query = random_bytes(heads * index_dim * 4, rng, 0, 0x3C);
        auto weights = random_bytes(heads * 4, rng, 0, 0x3C);
        auto router = random_bytes(256 * 4, rng, 0, 0x3E);
        auto chosen = must(cuda::DeviceBuffer::allocate(topk * 4));
        auto gate = must(cuda::DeviceBuffer::allocate(8 * 4));
        const double argmax_ms = median_ms([&] {
            (void)cuda::top_k(logits.as<float>(), 1, vocab, 1, cpu::TopKOrder::ByValue,
                              chosen.as<std::uint32_t>());
        });
        const double select_ms = median_ms([&] {
            (void)cuda::top_k(scores.as<float>(), 1, keys, topk, cpu::TopKOrder::ByIndex,
                              chosen.as<std::uint32_t>());
        });
        const double index_ms = median_ms([&] {
            (void)cuda::indexer_scores(query.as<float>(), weights.as<float>(), index_keys.as<float>(), 1,
                                       heads, keys, index_dim, scores.as<float>());
        });
        const double route_ms = median_ms([&] {
            (void)cuda::moe_route(router.as<float>(), nullptr, 1, 256, 6, 1.5f, chosen.as<std::uint32_t>(),
                                  gate.as<float>());
        });
        std::printf("%-44s %9.3f ms\n", "argmax over 129280 logits", argmax_ms);
        std::printf("%-44s %9.3f ms\n", "indexer top-512 of 262144 (1M context)", select_ms);
        std::printf("%-44s %9.3f ms %8.0f GB/s  %.2f of copy\n", "indexer scores 64 heads x 262144 keys",
                    index_ms, keys * index_dim * 4.0 / (index_ms * 1e6),
                    keys * index_dim * 4.0 / (index_ms * 1e6) / copy_gbs);
        std::printf("%-44s %9.3f ms\n", "moe_route 6 of 256 experts", route_ms);
    }

    for (const std::int64_t count : {640, 8192}) {
        const std::int64_t heads = 64, dim = 512;
        auto q = random_bytes(heads * dim * 4, rng, 0, 0x3C);
        auto e = random_bytes(count * dim * 4, rng, 0, 0x3C);
        auto sinks = random_bytes(heads * 4, rng, 0, 0x3C);
        auto scratch = must(cuda::DeviceBuffer::allocate(heads * count * 4));
        auto out = must(cuda::DeviceBuffer::allocate(heads * dim * 4));
        const double ms = median_ms([&] {
            (void)cuda::sink_attention(q.as<float>(), heads, e.as<float>(), count, dim, 0.044f,
                                       sinks.as<float>(), scratch.as<float>(), out.as<float>());
        });
        const double gbs = count * dim * 4.0 / (ms * 1e6);
        std::printf("sink_attention 64 heads x %5lld entries %17.3f ms %8.0f GB/s  %.2f of copy\n",
                    static_cast<long long>(count), ms, gbs, gbs / copy_gbs);
    }
    return 0;
}
