// libFuzzer target for the model header parsers: every input goes to the GGUF reader (from memory) and,
// written to a scratch file, to the safetensors reader. Both must return a value or an error; a crash,
// sanitizer report, leak or timeout is a finding. Run by run_fuzz.sh (ctest: gguf_header_fuzz).

#include "inference/formats/gguf.h"
#include "inference/formats/safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <unistd.h>

namespace {

void touch_everything(const lectern::formats::GgufFile& file) {
    volatile std::size_t sum = 0;
    for (const auto& tensor : file.tensors())
        for (const std::byte b : tensor.data) sum = sum + static_cast<std::size_t>(b); // must stay in bounds
    for (const auto& [key, value] : file.metadata()) sum = sum + key.size() + (value.as_string() ? 1 : 0);
}

const std::string& scratch_path() {
    static const std::string path = "/tmp/lectern-fuzz-" + std::to_string(::getpid()) + ".safetensors";
    return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    if (auto gguf = lectern::formats::GgufFile::parse(bytes, "fuzz.gguf"); gguf.ok()) touch_everything(*gguf);

    if (std::FILE* out = std::fopen(scratch_path().c_str(), "wb")) {
        std::fwrite(data, 1, size, out);
        std::fclose(out);
        if (auto checkpoint = lectern::formats::SafetensorsCheckpoint::open_file(scratch_path());
            checkpoint.ok()) {
            volatile std::size_t sum = 0;
            for (const auto& [name, tensor] : checkpoint->tensors())
                for (const std::byte b : tensor.data) sum = sum + static_cast<std::size_t>(b);
        }
    }
    return 0;
}
