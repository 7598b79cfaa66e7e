#pragma once
// Small helpers for the Vulkan tests: open a context or skip, move vectors to and from device buffers,
// random inputs, one op recorded, run and (optionally) timed, and a tolerance check.

#include "kernels/cpu/numerics.h"
#include "kernels/vulkan/context.h"
#include "kernels/vulkan/stream.h"
#include "tests/kernels/check.h"
#include "tests/kernels/random_inputs.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace lectern::test {

// The context for `options`, or exit 77 (skipped) when the machine has no usable Vulkan device.
inline std::unique_ptr<kernels::vulkan::Context>
open_context_or_skip(const char* test, const kernels::vulkan::ContextOptions& options) {
    auto context = kernels::vulkan::Context::create(options);
    if (!context) {
        std::printf("%s: skipped: %s\n", test, context.error().c_str());
        std::exit(77);
    }
    return std::move(context).value();
}

template <typename T>
kernels::vulkan::Buffer to_device(kernels::vulkan::Context& context, const std::vector<T>& values) {
    auto buffer = context.create_buffer(values.size() * sizeof(T));
    if (!buffer) {
        std::fprintf(stderr, "create_buffer: %s\n", buffer.error().c_str());
        std::exit(1);
    }
    const auto uploaded = context.upload(*buffer, 0, values.data(), values.size() * sizeof(T));
    if (!uploaded) {
        std::fprintf(stderr, "upload: %s\n", uploaded.error().c_str());
        std::exit(1);
    }
    return std::move(buffer).value();
}

template <typename T>
std::vector<T> from_device(kernels::vulkan::Context& context, const kernels::vulkan::Buffer& buffer,
                           std::size_t count) {
    std::vector<T> values(count);
    const auto downloaded = context.download(buffer, 0, values.data(), count * sizeof(T));
    CHECK(downloaded.ok());
    if (!downloaded) std::fprintf(stderr, "download: %s\n", downloaded.error().c_str());
    return values;
}

template <typename T>
kernels::vulkan::Buffer device_zeros(kernels::vulkan::Context& context, std::size_t count) {
    return to_device(context, std::vector<T>(count, T{}));
}

// `values` rounded as cpu::f32_to_bf16 into a buffer of Storage::BF16 (two per word, padded to whole
// words).
inline kernels::vulkan::Buffer to_device_bf16(kernels::vulkan::Context& context,
                                              const std::vector<float>& values) {
    std::vector<std::uint16_t> bits((values.size() + 1) / 2 * 2, 0);
    for (std::size_t i = 0; i < values.size(); ++i) bits[i] = kernels::cpu::f32_to_bf16(values[i]);
    return to_device(context, bits);
}

// Records one op, submits it and reports a failure as a check failure (with its message); with `timed`,
// between two timestamps, printing its device time.
template <typename Record>
bool run_op(kernels::vulkan::Context& context, const std::string& op, Record record, bool timed = false) {
    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return false;
    const auto mark = [&]() -> std::optional<std::uint32_t> {
        if (!timed) return std::nullopt;
        const Result<std::uint32_t> index = stream->timestamp();
        return index ? std::optional<std::uint32_t>(*index) : std::nullopt;
    };
    const auto before = mark();
    const Result<void> recorded = record(*stream);
    const auto after = mark();
    if (!recorded) std::fprintf(stderr, "%s: %s\n", op.c_str(), recorded.error().c_str());
    const Result<void> submitted = recorded ? stream->submit() : Result<void>();
    if (!submitted) std::fprintf(stderr, "%s: %s\n", op.c_str(), submitted.error().c_str());
    if (!CHECK(recorded.ok() && submitted.ok())) return false;
    if (before && after)
        if (const auto ms = stream->elapsed_ms(*before, *after))
            std::printf("  %-50s %8.3f ms on the device\n", op.c_str(), *ms);
    return true;
}

template <typename Record>
bool run_timed(kernels::vulkan::Context& context, const std::string& op, Record record) {
    return run_op(context, op, record, true);
}

// Reports the first element out of tolerance (tolerance = abs + rel * |expected|) and the largest error.
inline void expect_close(const std::string& op, const std::vector<float>& actual,
                         const std::vector<float>& expected, double abs, double rel) {
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - expected[i]));
        if (!CHECK_CLOSE(actual[i], expected[i], abs + rel * std::fabs(expected[i]))) {
            std::fprintf(stderr, "  %s: element %zu of %zu\n", op.c_str(), i, expected.size());
            return;
        }
    }
    std::printf("  %-28s max abs error %.3g over %zu values\n", op.c_str(), worst, expected.size());
}

} // namespace lectern::test
