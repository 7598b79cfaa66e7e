// Per-op time of the Vulkan backend (GPU timestamps around repeated dispatches) against the CPU backend
// (one thread, wall clock) on the same inputs. Prints a table and asserts nothing. On lavapipe the ratio
// is only a sanity figure: both run on the same CPU cores.
//
//   vulkan_ops [--quick]     (LECTERN_VULKAN_DEVICE picks the device, LECTERN_VULKAN_FALLBACK=1 the
//                             portable shaders)

#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/numerics.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/quant/half.h"
#include "kernels/cpu/quant/matmul.h"
#include "kernels/vulkan/graph_ops.h"
#include "kernels/vulkan/ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace lectern;
using namespace lectern::kernels;

namespace {

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "vulkan_ops: %s\n", what.c_str());
    std::exit(1);
}

template <typename T>
vulkan::Buffer upload(vulkan::Context& context, const std::vector<T>& values) {
    auto buffer = context.create_buffer(std::max<std::size_t>(values.size() * sizeof(T), 4));
    if (!buffer) fail(buffer.error());
    if (auto ok = context.upload(*buffer, 0, values.data(), values.size() * sizeof(T)); !ok) fail(ok.error());
    return std::move(buffer).value();
}

vulkan::Buffer scratch(vulkan::Context& context, std::size_t floats) {
    return upload(context, std::vector<float>(floats));
}

// Milliseconds per call: `reps` calls recorded between two timestamps; the recording is submitted again
// and again for at least 0.3 s (a GPU left idle during the CPU measurements drops its clocks and needs
// that long to bring them back) and the fastest submit is kept.
double vulkan_ms(vulkan::Context& context, const std::function<Result<void>(vulkan::Stream&)>& op, int reps) {
    auto stream = context.create_stream();
    if (!stream) fail(stream.error());
    const bool timestamps = context.device().timestamp_period_ns > 0;
    std::uint32_t start = 0, end = 0;
    if (timestamps) start = *stream->timestamp();
    for (int i = 0; i < reps; ++i)
        if (auto ok = op(*stream); !ok) fail(ok.error());
    if (timestamps) end = *stream->timestamp();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    double best = 1e300;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        if (attempt >= 2 && std::chrono::steady_clock::now() > until) break;
        const auto wall_start = std::chrono::steady_clock::now();
        if (auto ok = stream->submit(); !ok) fail(ok.error());
        const double wall =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start).count();
        best = std::min(best, timestamps ? *stream->elapsed_ms(start, end) : wall);
    }
    return best / reps;
}

double cpu_ms(const std::function<void()>& op, int reps) {
    op();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) op();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / reps;
}

void report(const char* op, const std::string& shape, double gpu, double cpu, double bytes) {
    std::printf("%-26s %-22s %10.3f %10.3f %8.2fx %9.1f\n", op, shape.c_str(), gpu, cpu, cpu / gpu,
                bytes / (gpu * 1e-3) / 1e9);
}

struct HostWeight {
    std::vector<std::uint8_t> data, scales;
    cpu::WeightMatrix matrix;
};

HostWeight random_weight(cpu::WeightFormat format, std::int64_t out, std::int64_t in, std::mt19937& rng) {
    HostWeight w;
    w.data.resize(cpu::weight_data_bytes(format, out, in));
    w.scales.resize(std::max<std::uint64_t>(cpu::weight_scale_bytes(format, out, in), 1), 127);
    std::uniform_int_distribution<int> byte(0, 255);
    if (format == cpu::WeightFormat::F32) {
        const auto values = random_floats(static_cast<std::size_t>(out * in), rng, 0.05f);
        std::memcpy(w.data.data(), values.data(), w.data.size());
    } else if (format == cpu::WeightFormat::BF16) {
        for (std::size_t i = 0; i < w.data.size(); i += 2) {
            const std::uint16_t bits = cpu::f32_to_bf16(random_floats(1, rng, 0.05f)[0]);
            std::memcpy(&w.data[i], &bits, 2);
        }
    } else {
        for (std::uint8_t& b : w.data) b = static_cast<std::uint8_t>(byte(rng) & 0x77); // no NaN codes
    }
    w.matrix = {format, w.data.data(), w.scales.data(), out, in};
    return w;
}

} // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    auto created = vulkan::Context::create();
    if (!created) {
        std::printf("vulkan_ops: no Vulkan device: %s\n", created.error().c_str());
        return 77;
    }
    vulkan::Context& context = **created;
    const vulkan::Features& f = context.features();
    std::printf(
        "device: %s (%s), %s\nshaders: subgroup %d, 16-bit storage %d, 8-bit storage %d; timer: %s\n\n",
        context.device().name.c_str(), context.device().type.c_str(), context.device().driver.c_str(),
        f.subgroup_arithmetic, f.storage_16bit, f.storage_8bit,
        context.device().timestamp_period_ns > 0 ? "GPU timestamps" : "wall clock");
    std::printf("%-26s %-22s %10s %10s %9s %9s\n", "op", "shape", "vulkan ms", "cpu ms", "cpu/vk", "vk GB/s");
    std::mt19937 rng(7);
    const int reps = quick ? 2 : 10;
    const std::int64_t dim = quick ? 1024 : 4096;

    {
        const std::int64_t rows = 32;
        auto x = random_floats(static_cast<std::size_t>(rows * dim), rng), w = random_floats(dim, rng);
        std::vector<float> y(x.size());
        vulkan::Buffer dx = upload(context, x), dw = upload(context, w), dy = scratch(context, x.size());
        report("rms_norm", std::to_string(rows) + "x" + std::to_string(dim),
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::rms_norm(s, dx.span(), dw.span(), dy.span(), rows, dim, 1e-6f);
                   },
                   reps),
               cpu_ms([&] { cpu::rms_norm(x.data(), w.data(), y.data(), rows, dim, 1e-6f); }, reps),
               2.0 * static_cast<double>(x.size()) * 4);
    }

    for (const auto& [format, name] : {std::pair{cpu::WeightFormat::F32, "linear F32"},
                                       {cpu::WeightFormat::BF16, "linear BF16"},
                                       {cpu::WeightFormat::F8_E4M3_BLOCK128, "linear F8 block128"},
                                       {cpu::WeightFormat::FP4_E2M1_BLOCK32, "linear FP4 block32"}}) {
        const HostWeight w = random_weight(format, dim, dim, rng);
        vulkan::Buffer dw = upload(context, w.data), ds = upload(context, w.scales);
        vulkan::DeviceWeight weight{format, dw.span(), ds.span(), dim, dim};
        for (const std::int64_t rows : {std::int64_t{1}, std::int64_t{128}}) {
            const auto x = random_floats(static_cast<std::size_t>(rows * dim), rng);
            std::vector<float> y(static_cast<std::size_t>(rows * dim));
            vulkan::Buffer dx = upload(context, x), dy = scratch(context, y.size());
            report(
                name, std::to_string(rows) + "x" + std::to_string(dim) + "x" + std::to_string(dim),
                vulkan_ms(
                    context,
                    [&](vulkan::Stream& s) { return vulkan::linear(s, dx.span(), rows, weight, dy.span()); },
                    reps),
                cpu_ms([&] { cpu::linear(x.data(), rows, w.matrix, y.data()); }, quick ? 1 : 3),
                static_cast<double>(w.data.size()));
        }
    }

    // GGUF weights against the CPU backend's quant::matmul on one thread.
    for (const DType type : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K}) {
        std::vector<std::uint8_t> w(static_cast<std::size_t>(*dtype_bytes(type, dim * dim)));
        std::uniform_int_distribution<int> byte(0, 255);
        for (std::uint8_t& b : w) b = static_cast<std::uint8_t>(byte(rng));
        // Every fp16 field finite: set the high byte of each 16-bit word's exponent to a small value.
        const std::uint16_t small = quant::float_to_half(0.01f);
        const std::size_t block = static_cast<std::size_t>(dtype_info(type).block_bytes);
        const std::size_t d_at = type == DType::Q6_K ? 208 : 0;
        for (std::size_t at = 0; at < w.size(); at += block) {
            std::memcpy(&w[at + d_at], &small, 2);
            if (type == DType::Q4_K) std::memcpy(&w[at + 2], &small, 2);
        }
        vulkan::Buffer dw = upload(context, w);
        const std::string name = "linear_gguf " + std::string(dtype_info(type).name);
        for (const std::int64_t rows : {std::int64_t{1}, std::int64_t{128}}) {
            const auto x = random_floats(static_cast<std::size_t>(rows * dim), rng);
            std::vector<float> y(static_cast<std::size_t>(rows * dim));
            vulkan::Buffer dx = upload(context, x), dy = scratch(context, y.size());
            report(name.c_str(), std::to_string(rows) + "x" + std::to_string(dim) + "x" + std::to_string(dim),
                   vulkan_ms(
                       context,
                       [&](vulkan::Stream& s) {
                           return vulkan::linear_gguf(s, dx.span(), rows, type, dw.span(), dim, dim,
                                                      dy.span());
                       },
                       reps),
                   cpu_ms(
                       [&] {
                           quant::matmul(type, reinterpret_cast<const std::byte*>(w.data()), dim, dim,
                                         x.data(), rows, y.data());
                       },
                       quick ? 1 : 3),
                   static_cast<double>(w.size()));
        }
    }

    {
        const std::int64_t heads = quick ? 4 : 16, count = quick ? 256 : 2048, head_dim = 512;
        auto q = random_floats(static_cast<std::size_t>(heads * head_dim), rng, 0.1f);
        auto e = random_floats(static_cast<std::size_t>(count * head_dim), rng);
        auto sinks = random_floats(static_cast<std::size_t>(heads), rng);
        std::vector<float> out(q.size());
        vulkan::Buffer dq = upload(context, q), de = upload(context, e), ds = upload(context, sinks);
        vulkan::Buffer dscratch = scratch(context, static_cast<std::size_t>(heads * count)),
                       dout = scratch(context, out.size());
        const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
        report("sink_attention",
               std::to_string(heads) + "h " + std::to_string(count) + "x" + std::to_string(head_dim),
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::sink_attention(s, dq.span(), heads, de.span(), count, head_dim, scale,
                                                     ds.span(), dscratch.span(), dout.span());
                   },
                   reps),
               cpu_ms(
                   [&] {
                       for (std::int64_t h = 0; h < heads; ++h)
                           cpu::sink_attention(q.data() + h * head_dim, e.data(), count, head_dim, scale,
                                               sinks[static_cast<std::size_t>(h)], out.data() + h * head_dim);
                   },
                   reps),
               static_cast<double>(e.size()) * 4);
    }

    {
        const std::int64_t rows = 64, heads = 64, head_dim = 512, offset = 448, pairs = 32;
        auto x = random_floats(static_cast<std::size_t>(rows * heads * head_dim), rng);
        std::vector<float> frequencies(pairs, 0.01f);
        std::vector<double> positions(rows);
        for (std::int64_t r = 0; r < rows; ++r) positions[static_cast<std::size_t>(r)] = 100000.0 + r;
        vulkan::Buffer dx = upload(context, x);
        vulkan::Buffer table = upload(context, cpu::rope_cos_sin(positions, frequencies.data(), pairs));
        report("rope_interleaved", std::to_string(rows) + "x" + std::to_string(heads) + "h pairs 32",
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::rope_interleaved(s, dx.span(), table.span(), rows, heads, head_dim,
                                                       offset, pairs, false);
                   },
                   reps),
               cpu_ms(
                   [&] {
                       for (std::int64_t r = 0; r < rows; ++r)
                           for (std::int64_t h = 0; h < heads; ++h)
                               cpu::rope_interleaved(x.data() + (r * heads + h) * head_dim + offset, pairs,
                                                     frequencies.data(),
                                                     positions[static_cast<std::size_t>(r)], false);
                   },
                   reps),
               static_cast<double>(rows * heads * pairs) * 16);
    }

    {
        const std::int64_t rows = 512, n = 128;
        auto x = random_floats(static_cast<std::size_t>(rows * n), rng);
        vulkan::Buffer dx = upload(context, x);
        report("hadamard", std::to_string(rows) + "x" + std::to_string(n),
               vulkan_ms(
                   context, [&](vulkan::Stream& s) { return vulkan::hadamard(s, dx.span(), rows, n); }, reps),
               cpu_ms(
                   [&] {
                       for (std::int64_t r = 0; r < rows; ++r) cpu::hadamard(x.data() + r * n, n);
                   },
                   reps),
               static_cast<double>(x.size()) * 8);
    }

    {
        const std::int64_t count = 4096, k = 4;
        auto m = random_floats(static_cast<std::size_t>(count * k * k), rng);
        vulkan::Buffer dm = upload(context, m);
        report("sinkhorn (20 iterations)", std::to_string(count) + " x 4x4",
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) { return vulkan::sinkhorn(s, dm.span(), count, k, 20, 1e-6f); },
                   reps),
               cpu_ms(
                   [&] {
                       for (std::int64_t i = 0; i < count; ++i)
                           cpu::sinkhorn(m.data() + i * k * k, k, 20, 1e-6f);
                   },
                   reps),
               static_cast<double>(m.size()) * 8);
    }

    // The graph-level ops (graph_ops.h) at DeepSeek-V4-Flash sizes (smaller with --quick).
    {
        const std::int64_t vocab = quick ? 32768 : 129280;
        auto logits = random_floats(static_cast<std::size_t>(vocab), rng);
        std::vector<std::int64_t> best(64);
        vulkan::Buffer dl = upload(context, logits), di = scratch(context, 64);
        for (const std::int64_t k : {std::int64_t{1}, std::int64_t{64}})
            report(k == 1 ? "top_k argmax" : "top_k 64 best-first", "vocab " + std::to_string(vocab),
                   vulkan_ms(
                       context,
                       [&](vulkan::Stream& s) {
                           return vulkan::top_k(s, dl.span(), 1, vocab, k, cpu::TopKOrder::ByValue,
                                                di.span());
                       },
                       reps),
                   cpu_ms([&] { cpu::top_k(logits.data(), vocab, k, cpu::TopKOrder::ByValue, best.data()); },
                          reps),
                   static_cast<double>(vocab) * 4);
    }
    {
        const std::int64_t heads = 64, key_dim = 128, keys = quick ? 2048 : 16384, keep = 512;
        auto q = random_floats(static_cast<std::size_t>(heads * key_dim), rng);
        auto w = random_floats(static_cast<std::size_t>(heads), rng, 0.1f);
        auto k = random_floats(static_cast<std::size_t>(keys * key_dim), rng);
        std::vector<float> scores(static_cast<std::size_t>(keys));
        std::vector<std::int64_t> chosen(static_cast<std::size_t>(keep));
        vulkan::Buffer dq = upload(context, q), dw = upload(context, w), dk = upload(context, k),
                       dscores = scratch(context, scores.size()), dchosen = scratch(context, chosen.size());
        report("indexer_scores", "64h x " + std::to_string(keys) + " keys",
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::indexer_scores(s, dq.span(), dw.span(), dk.span(), 1, heads, keys,
                                                     key_dim, dscores.span());
                   },
                   reps),
               cpu_ms(
                   [&] {
                       cpu::indexer_scores(q.data(), w.data(), k.data(), heads, keys, key_dim, scores.data());
                   },
                   reps),
               static_cast<double>(k.size()) * 4);
        report("top_k indexer 512", std::to_string(keys) + " scores",
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::top_k(s, dscores.span(), 1, keys, keep, cpu::TopKOrder::ByIndex,
                                            dchosen.span());
                   },
                   reps),
               cpu_ms([&] { cpu::top_k(scores.data(), keys, keep, cpu::TopKOrder::ByIndex, chosen.data()); },
                      reps),
               static_cast<double>(keys) * 4);
    }
    {
        const std::int64_t rows = 32, experts = 256, active = 6, inter = 2048;
        auto scores = random_floats(static_cast<std::size_t>(rows * experts), rng);
        for (float& v : scores) v = std::fabs(v);
        auto bias = random_floats(static_cast<std::size_t>(experts), rng, 0.1f);
        std::vector<std::int64_t> chosen(static_cast<std::size_t>(rows * active));
        std::vector<float> weights(chosen.size());
        vulkan::Buffer ds = upload(context, scores), db = upload(context, bias),
                       dc = scratch(context, chosen.size()), dw = scratch(context, weights.size());
        report("moe_route", std::to_string(rows) + "x256, 6 active",
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::moe_route(s, ds.span(), db.span(), rows, experts, active, 1.5f,
                                                dc.span(), dw.span());
                   },
                   reps),
               cpu_ms(
                   [&] {
                       cpu::moe_route(scores.data(), bias.data(), rows, experts, active, 1.5f, chosen.data(),
                                      weights.data());
                   },
                   reps),
               static_cast<double>(scores.size()) * 4);
        auto gate = random_floats(static_cast<std::size_t>(rows * inter), rng, 4.0f);
        auto up = random_floats(gate.size(), rng, 4.0f);
        std::vector<float> y(gate.size());
        vulkan::Buffer dg = upload(context, gate), du = upload(context, up), dy = scratch(context, y.size());
        report(
            "swiglu (limit 10)", std::to_string(rows) + "x" + std::to_string(inter),
            vulkan_ms(
                context,
                [&](vulkan::Stream& s) {
                    return vulkan::swiglu(s, dg.span(), du.span(), std::nullopt, dy.span(), rows, inter,
                                          10.0f);
                },
                reps),
            cpu_ms([&] { cpu::swiglu(gate.data(), up.data(), nullptr, y.data(), rows, inter, 10.0f); }, reps),
            static_cast<double>(gate.size()) * 12);
    }
    {
        const std::int64_t rows = 32, width = 4096;
        auto x = random_floats(static_cast<std::size_t>(rows * width), rng);
        vulkan::Buffer dx = upload(context, x);
        report("qat FP8 block 128", std::to_string(rows) + "x" + std::to_string(width),
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::qat(s, dx.span(), rows, width, width, 128, vulkan::QatFormat::Fp8E4M3);
                   },
                   reps),
               cpu_ms([&] { cpu::fp8_qat(x.data(), rows * width, 128); }, reps),
               static_cast<double>(x.size()) * 8);
    }
    {
        const std::int64_t ratio = 128, width = 512;
        auto kv = random_floats(static_cast<std::size_t>(ratio * width), rng);
        auto score = random_floats(kv.size(), rng, 3.0f);
        std::vector<float> pooled(static_cast<std::size_t>(width));
        vulkan::Buffer dk = upload(context, kv), ds = upload(context, score),
                       dp = scratch(context, pooled.size());
        report(
            "compressor_pool HCA", "ratio 128, width 512",
            vulkan_ms(
                context,
                [&](vulkan::Stream& s) {
                    return vulkan::compressor_pool(s, dk.span(), ds.span(), 1, ratio, width, false,
                                                   dp.span());
                },
                reps),
            cpu_ms([&] { cpu::compressor_pool(kv.data(), score.data(), ratio, width, false, pooled.data()); },
                   reps),
            static_cast<double>(kv.size()) * 8);
    }
    {
        const std::int64_t rows = 32, hc = 4, width = quick ? 1024 : 4096;
        auto streams = random_floats(static_cast<std::size_t>(rows * hc * width), rng);
        auto y = random_floats(static_cast<std::size_t>(rows * width), rng);
        auto post = random_floats(static_cast<std::size_t>(rows * hc), rng);
        auto comb = random_floats(static_cast<std::size_t>(rows * hc * hc), rng);
        std::vector<float> out(streams.size());
        vulkan::Buffer ds = upload(context, streams), dy = upload(context, y), dp = upload(context, post),
                       dc = upload(context, comb), dout = scratch(context, out.size());
        report("hc_post_mix", std::to_string(rows) + "x4x" + std::to_string(width),
               vulkan_ms(
                   context,
                   [&](vulkan::Stream& s) {
                       return vulkan::hc_post_mix(s, dp.span(), dc.span(), dy.span(), ds.span(), rows, hc,
                                                  width, dout.span());
                   },
                   reps),
               cpu_ms(
                   [&] {
                       for (std::int64_t r = 0; r < rows; ++r)
                           cpu::hc_post_mix(post.data() + r * hc, comb.data() + r * hc * hc,
                                            y.data() + r * width, streams.data() + r * hc * width, hc, width,
                                            out.data() + r * hc * width);
                   },
                   reps),
               static_cast<double>(streams.size()) * 8);
    }
    return 0;
}
