#pragma once
// A structurally faithful DeepSeek-V4 checkpoint at tiny dimensions, with seeded weights: the official
// tensor names and dtypes (F8_E4M3 + E8M0 128x128 scales, packed FP4 experts + E8M0 1x32 scales, BF16,
// F32, I64 tid2eid), two shards with an index, config.json in the HF naming, and the V4 tokenizer.
// The weights depend only on the seed (integer arithmetic and exact float operations), so every machine
// writes the same bytes; the golden parity files rely on that.

#include "kernels/result.h"

#include <cstdint>
#include <string>

namespace lectern::tools {

struct TinyV4Options {
    std::uint64_t seed = 1234;
    std::string tokenizer_json; // copied beside the weights when not empty
    std::string config_json;    // replaces tiny_v4_config_json() when not empty (other dimensions)
};

// The config.json text of the tiny model (HF naming).
std::string tiny_v4_config_json();

Result<void> write_tiny_v4(const std::string& folder, const TinyV4Options& options);

} // namespace lectern::tools
