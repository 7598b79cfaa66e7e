// The memory estimate read from metadata only equals the sequence state's memory_bytes() after the same
// number of tokens is prefilled in one pass, byte for byte: the tiny DeepSeek-V4 checkpoint (from its
// config.json and from a deepseek4 GGUF header written from that config) and the built-in default model
// (dense, fp16 keys and values on the CPU) when it is fetched; at Flash dims a CSA layer adds 320 bytes
// per token and an HCA layer 8. Bad paths give plain errors.
#include "inference/formats/gguf_writer.h"
#include "inference/model/factory.h"
#include "inference/model/memory_estimate.h"
#include "inference/model/v4/gguf_layout.h"
#include "inference/model/v4/v4_model.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <filesystem>

namespace {

using namespace lectern;

std::vector<model::Token> tokens(std::size_t count) {
    std::vector<model::Token> out{1};
    for (std::size_t i = 1; i < count; ++i) out.push_back(static_cast<model::Token>((i * 7919 + 13) % 30000));
    return out;
}

// Prefills `count` tokens in one pass and compares the state's bytes with the estimate.
void check_estimate(const model::Model& m, const std::string& path, std::size_t count) {
    auto estimate = model::estimate_memory(path, static_cast<std::int64_t>(count));
    if (!CHECK(estimate.ok())) {
        std::fprintf(stderr, "%s\n", estimate.error().c_str());
        return;
    }
    auto state = m.new_state();
    if (count) {
        const std::vector<model::Token> prompt = tokens(count);
        if (!CHECK(m.forward(*state, prompt, {}).ok())) return;
    }
    const std::uint64_t actual = state->memory_bytes();
    std::printf("%s (%s), %zu tokens: estimate %llu bytes, state %llu bytes (%.1f bytes/token, %llu fixed)\n",
                path.c_str(), estimate->family.c_str(), count,
                static_cast<unsigned long long>(estimate->kv_cache_bytes),
                static_cast<unsigned long long>(actual), estimate->bytes_per_token,
                static_cast<unsigned long long>(estimate->fixed_bytes));
    CHECK(estimate->kv_cache_bytes == actual);
    CHECK(estimate->tokens == static_cast<std::int64_t>(count));
}

} // namespace

int main() {
    const std::string folder = test::tiny_v4_folder();
    auto loaded = model::v4::load_v4_model(folder);
    if (!CHECK(loaded.ok())) return test::finish("memory_estimate");
    // 0: windows and compressors only; 301: CSA and HCA blocks plus a partial block, the window wrapped.
    for (const std::size_t count : {0, 5, 128, 301}) check_estimate(**loaded, folder, count);

    // A deepseek4 GGUF's header gives the same numbers as the folder's config.json.
    auto config = model::v4::load_config(folder + "/config.json");
    if (CHECK(config.ok())) {
        // Without the MTP block's tensors a GGUF's blocks are all main layers (gguf_layout.h): write none.
        config->n_mtp_layers = 0;
        config->compress_ratios.resize(static_cast<std::size_t>(config->n_layers));
        formats::GgufWriter writer;
        writer.add_string("general.architecture", std::string(model::v4::gguf::kArchitecture));
        model::v4::gguf::write_config(*config, writer);
        const std::string gguf = std::string(LECTERN_BINARY_DIR) + "/test-data/memory-estimate-v4.gguf";
        if (CHECK(writer.write(gguf).ok())) {
            auto from_gguf = model::estimate_memory(gguf, 301);
            auto from_folder = model::estimate_memory(folder, 301);
            if (!from_gguf) std::fprintf(stderr, "%s\n", from_gguf.error().c_str());
            CHECK(from_gguf.ok() && from_folder.ok() &&
                  from_gguf->kv_cache_bytes == from_folder->kv_cache_bytes &&
                  from_gguf->family == "DeepSeek-V4");
        }
        // At DeepSeek-V4-Flash's attention dims (head 512, indexer 128) a CSA layer adds 320 bytes per
        // token and an HCA layer 8, the numbers tests/bench/engine_layers prints.
        config->head_dim = 512;
        config->index_head_dim = 128;
        config->n_layers = 2;
        config->compress_ratios = {4, 128};
        formats::GgufWriter flash;
        flash.add_string("general.architecture", std::string(model::v4::gguf::kArchitecture));
        model::v4::gguf::write_config(*config, flash);
        if (CHECK(flash.write(gguf).ok())) {
            auto estimate = model::estimate_memory(gguf, 1024);
            if (!estimate) std::fprintf(stderr, "%s\n", estimate.error().c_str());
            CHECK(estimate.ok() && estimate->bytes_per_token == 320 + 8);
        }
        std::filesystem::remove(gguf);
    }

    auto missing = model::estimate_memory(folder + "/no-such.gguf", 10);
    CHECK(!missing.ok() && missing.error().find("no-such.gguf") != std::string::npos);
    CHECK(!model::estimate_memory(folder + "/config.json", 10).ok()); // neither GGUF nor folder
    CHECK(!model::estimate_memory(folder, -1).ok());

    auto dense = model::load_model("default");
    if (!dense) {
        std::printf("the default model is not fetched (scripts/fetch-models): dense part skipped\n");
    } else {
        for (const std::size_t count : {0, 1, 200}) check_estimate(**dense, "default", count);
    }
    return test::finish("memory_estimate");
}
