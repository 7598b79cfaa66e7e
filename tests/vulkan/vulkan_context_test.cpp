// The Vulkan host code: device choice, uploads (from memory-mapped files too), bounds errors, stream
// re-submission, timestamps, forced fallback and the pipeline cache file.

#include "kernels/cpu/ops.h"
#include "kernels/vulkan/ops.h"
#include "tests/vulkan/device_buffers.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace lectern::kernels;
using lectern::test::from_device;
using lectern::test::random_floats;
using lectern::test::to_device;

namespace {

void print_device(const vulkan::Context& context) {
    const vulkan::DeviceInfo& d = context.device();
    std::printf("device: %s (%s), driver %s, Vulkan %u.%u\n", d.name.c_str(), d.type.c_str(),
                d.driver.c_str(), VK_API_VERSION_MAJOR(d.api_version), VK_API_VERSION_MINOR(d.api_version));
    std::printf(
        "supports: subgroup arithmetic %d (size %u), float16 %d, 16-bit storage %d, 8-bit storage %d\n",
        d.supported.subgroup_arithmetic, d.supported.subgroup_size, d.supported.shader_float16,
        d.supported.storage_16bit, d.supported.storage_8bit);
    std::printf("largest buffer: %llu MiB; largest shader-visible range: %llu MiB\n",
                static_cast<unsigned long long>(d.max_allocation_bytes >> 20),
                static_cast<unsigned long long>(d.max_storage_buffer_range >> 20));
    for (const vulkan::MemoryHeap& heap : d.heaps)
        std::printf("heap: %llu MiB%s\n", static_cast<unsigned long long>(heap.bytes >> 20),
                    heap.device_local ? " device-local" : "");
}

// Larger than the 32 MiB staging buffer, and an odd size, so the chunking and the tail are both used.
void upload_from_mapped_file(vulkan::Context& context) {
    const std::size_t bytes = (40u << 20) + 7;
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("lectern-vulkan-mmap-" + std::to_string(getpid()) + ".bin");
    std::vector<unsigned char> pattern(bytes);
    for (std::size_t i = 0; i < bytes; ++i) pattern[i] = static_cast<unsigned char>((i * 2654435761u) >> 13);
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        CHECK(f != nullptr);
        if (!f) return;
        CHECK(std::fwrite(pattern.data(), 1, bytes, f) == bytes);
        std::fclose(f);
    }
    const int fd = open(path.c_str(), O_RDONLY);
    CHECK(fd >= 0);
    void* mapped = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(mapped != MAP_FAILED);
    if (mapped != MAP_FAILED) {
        auto buffer = context.create_buffer(bytes + 16);
        CHECK(buffer.ok());
        if (buffer) {
            CHECK(context.upload(*buffer, 16, mapped, bytes).ok());
            std::vector<unsigned char> back(bytes);
            CHECK(context.download(*buffer, 16, back.data(), bytes).ok());
            CHECK(back == pattern);
        }
        munmap(mapped, bytes);
    }
    close(fd);
    std::filesystem::remove(path);
}

void bounds_are_errors(vulkan::Context& context) {
    CHECK(!context.create_buffer(0).ok());
    // Larger than any heap: refused with a message, whatever the driver would do with the request.
    const auto huge = context.create_buffer(std::size_t{1} << 50);
    CHECK(!huge.ok() && huge.error().find("not enough memory") != std::string::npos);
    auto buffer = context.create_buffer(64);
    CHECK(buffer.ok());
    if (!buffer) return;
    std::vector<char> data(128);
    const auto too_big = context.upload(*buffer, 0, data.data(), 65);
    CHECK(!too_big.ok() && too_big.error().find("does not fit") != std::string::npos);
    CHECK(!context.upload(*buffer, 60, data.data(), 8).ok());
    CHECK(!context.download(*buffer, 65, data.data(), 0).ok());

    auto stream = context.create_stream();
    CHECK(stream.ok());
    if (!stream) return;
    // rms_norm of 4 x 8 floats needs 128 bytes; the buffer has 64.
    const auto small = vulkan::rms_norm(*stream, buffer->span(), std::nullopt, buffer->span(), 4, 8, 1e-6f);
    CHECK(!small.ok() && small.error().find("holds 64 bytes") != std::string::npos);
    CHECK(!stream->dispatch("no_such_shader", {buffer->span()}, nullptr, 0, {1, 1, 1}).ok());
    CHECK(!vulkan::rms_norm(*stream, buffer->span(), std::nullopt, buffer->span(), 0, 8, 1e-6f).ok());
}

// One recording, submitted twice with different inputs: the command buffer is reused, not re-recorded.
void resubmit_recording(vulkan::Context& context, std::mt19937& rng) {
    const int rows = 3, n = 300;
    auto x1 = random_floats(rows * n, rng), x2 = random_floats(rows * n, rng), w = random_floats(n, rng);
    vulkan::Buffer dx = to_device(context, x1), dw = to_device(context, w);
    vulkan::Buffer dy = lectern::test::device_zeros<float>(context, x1.size());
    auto stream = context.create_stream();
    CHECK(stream.ok());
    if (!stream) return;
    const bool timed = context.device().timestamp_period_ns > 0;
    auto start = timed ? stream->timestamp() : lectern::Result<std::uint32_t>(0u);
    CHECK(vulkan::rms_norm(*stream, dx.span(), dw.span(), dy.span(), rows, n, 1e-6f).ok());
    auto end = timed ? stream->timestamp() : lectern::Result<std::uint32_t>(0u);
    CHECK(start.ok() && end.ok());

    for (const std::vector<float>* x : {&x1, &x2}) {
        CHECK(context.upload(dx, 0, x->data(), x->size() * sizeof(float)).ok());
        CHECK(stream->submit().ok());
        std::vector<float> expected(x->size());
        cpu::rms_norm(x->data(), w.data(), expected.data(), rows, n, 1e-6f);
        const auto actual = from_device<float>(context, dy, x->size());
        for (std::size_t i = 0; i < expected.size(); ++i)
            if (!CHECK_CLOSE(actual[i], expected[i], 1e-5 * (1.0 + std::fabs(expected[i])))) break;
        if (timed) {
            const auto ms = stream->elapsed_ms(*start, *end);
            CHECK(ms.ok() && *ms >= 0.0);
        }
    }
    // A finished recording takes no more work until reset().
    CHECK(!vulkan::rms_norm(*stream, dx.span(), dw.span(), dy.span(), rows, n, 1e-6f).ok());
    stream->reset();
    CHECK(vulkan::rms_norm(*stream, dx.span(), std::nullopt, dy.span(), rows, n, 1e-6f).ok());
    CHECK(stream->submit().ok());
}

// The context counts the device memory its buffers hold, and free_device_memory() goes down by as much
// (where the driver reports no budget) or at least does not go up; a stream's scratch grows by half again
// at a time and keeps only its largest buffer across reset().
void memory_accounting(vulkan::Context& context) {
    const std::uint64_t before = context.allocated_bytes(), free_before = context.free_device_memory();
    {
        auto buffer = context.create_buffer(3u << 20);
        CHECK(buffer.ok() && context.allocated_bytes() >= before + (3u << 20));
        CHECK(context.free_device_memory() <= free_before);
        vulkan::Buffer moved = std::move(*buffer);
        CHECK(context.allocated_bytes() >= before + (3u << 20)); // a move hands the charge over
    }
    CHECK(context.allocated_bytes() == before);

    auto stream = context.create_stream();
    if (!CHECK(stream.ok())) return;
    std::size_t largest = 0;
    for (std::size_t bytes = 4096; bytes < 400000; bytes += 4096) { // a need that grows a little each time
        auto span = stream->scratch(bytes);
        if (!CHECK(span.ok() && span->bytes == bytes)) return;
        stream->reset();
        largest = bytes;
    }
    const std::uint64_t held = context.allocated_bytes() - before;
    std::printf("scratch: %zu bytes at most asked for in 97 growing steps; the stream holds %llu\n", largest,
                static_cast<unsigned long long>(held));
    CHECK(held >= largest && held <= largest * 3 / 2 + 65536);
}

void device_choice(const vulkan::Context& context) {
    // By part of its name, in any case, as LECTERN_VULKAN_DEVICE=llvmpipe picks lavapipe.
    vulkan::ContextOptions by_name;
    by_name.device = context.device().name.substr(0, 4);
    for (char& c : by_name.device) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto named = vulkan::Context::create(by_name);
    CHECK(named.ok() && (*named)->device().name == context.device().name);
    vulkan::ContextOptions missing;
    missing.device = "no-such-device-anywhere";
    const auto none = vulkan::Context::create(missing);
    CHECK(!none.ok() && none.error().find("no usable device matches") != std::string::npos);
    vulkan::ContextOptions first;
    first.device = "0";
    CHECK(vulkan::Context::create(first).ok());
}

void forced_fallback() {
    vulkan::ContextOptions options;
    options.force_fallback = true;
    auto context = vulkan::Context::create(options);
    CHECK(context.ok());
    if (!context) return;
    const vulkan::Features& f = (*context)->features();
    CHECK(!f.subgroup_arithmetic && !f.shader_float16 && !f.storage_16bit && !f.storage_8bit);

    setenv("LECTERN_VULKAN_FALLBACK", "1", 1);
    auto from_env = vulkan::Context::create({});
    unsetenv("LECTERN_VULKAN_FALLBACK");
    CHECK(from_env.ok() && !(*from_env)->features().subgroup_arithmetic &&
          !(*from_env)->features().storage_16bit);
}

// Builds one pipeline (rms_norm) on a context with the pipeline cache in `folder`, runs it, and returns how
// many bytes of a saved cache the context took; -1 when the context or the op failed.
long long run_with_pipeline_cache(const std::filesystem::path& folder, std::mt19937& rng) {
    vulkan::ContextOptions options;
    options.pipeline_cache_dir = folder.string();
    auto context = vulkan::Context::create(options);
    if (!CHECK(context.ok())) return -1;
    const auto x = random_floats(64, rng);
    vulkan::Buffer dx = to_device(**context, x);
    auto stream = (*context)->create_stream();
    if (!CHECK(stream.ok() &&
               vulkan::rms_norm(*stream, dx.span(), std::nullopt, dx.span(), 1, 64, 1e-6f).ok() &&
               stream->submit().ok()))
        return -1;
    CHECK(std::filesystem::path((*context)->pipeline_cache_file()).parent_path() == folder);
    return static_cast<long long>((*context)->pipeline_cache_loaded_bytes());
}

// The cache is saved per device into a folder made on demand and taken back on the next run; a file
// that another device wrote, a damaged or truncated one, or a folder that cannot be written is never an
// error, only an empty cache.
void pipeline_cache_file(std::mt19937& rng) {
    namespace fs = std::filesystem;
    const fs::path folder =
        fs::temp_directory_path() / ("lectern-vulkan-pipelines-" + std::to_string(getpid()));
    std::error_code ec;
    fs::remove_all(folder, ec);
    CHECK(run_with_pipeline_cache(folder, rng) == 0);
    fs::path file;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) file = entry.path();
    const auto saved = static_cast<long long>(fs::file_size(file, ec));
    CHECK(!ec && file.filename().string().starts_with("pipelines-") && saved >= 32);
    CHECK(run_with_pipeline_cache(folder, rng) == saved);

    // Another device's cache: its pipelineCacheUUID (bytes 16..31 of the header) differs.
    std::vector<char> bytes(static_cast<std::size_t>(fs::file_size(file, ec)));
    std::FILE* f = std::fopen(file.c_str(), "r+b");
    if (CHECK(f && std::fread(bytes.data(), 1, bytes.size(), f) == bytes.size())) {
        bytes[20] = static_cast<char>(bytes[20] ^ 0x5a);
        std::rewind(f);
        CHECK(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    }
    if (f) std::fclose(f);
    CHECK(run_with_pipeline_cache(folder, rng) == 0);
    CHECK(run_with_pipeline_cache(folder, rng) == static_cast<long long>(fs::file_size(file, ec)));

    fs::resize_file(file, 10, ec);
    CHECK(!ec && run_with_pipeline_cache(folder, rng) == 0);

    // A folder that cannot be made (its parent is a file): memory only, no error.
    std::FILE* blocker = std::fopen((folder / "blocker").c_str(), "wb");
    if (blocker) std::fclose(blocker);
    CHECK(run_with_pipeline_cache(folder / "blocker" / "pipelines", rng) == 0);
    fs::remove_all(folder, ec);
}

} // namespace

int main() {
    auto context = lectern::test::open_context_or_skip("vulkan_context", {});
    print_device(*context);
    std::mt19937 rng(42);
    upload_from_mapped_file(*context);
    bounds_are_errors(*context);
    resubmit_recording(*context, rng);
    memory_accounting(*context);
    device_choice(*context);
    forced_fallback();
    pipeline_cache_file(rng);
    return lectern::test::finish("vulkan_context");
}
