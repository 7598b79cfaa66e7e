// Config and checkpoint validation: every inconsistency in config.json is an error naming the field;
// a missing tensor, wrong dtype or shape, truncated shard, bad header or missing shard is an error naming
// the tensor and/or file — never a crash.
#include "inference/formats/safetensors.h"
#include "inference/model/factory.h"
#include "inference/model/v4/config.h"
#include "inference/model/v4/v4_model.h"
#include "inference/tools/tiny_v4.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace {

using namespace lectern;
namespace fs = std::filesystem;

bool error_mentions(const std::string& error, std::initializer_list<const char*> words) {
    for (const char* word : words) {
        if (error.find(word) == std::string::npos) {
            std::fprintf(stderr, "error \"%s\" does not mention \"%s\"\n", error.c_str(), word);
            return false;
        }
    }
    return true;
}

void expect_config_error(const std::string& field, const nlohmann::json& value, const char* mentioned) {
    auto json = nlohmann::json::parse(tools::tiny_v4_config_json());
    if (value.is_null())
        json.erase(field);
    else
        json[field] = value;
    auto parsed = model::v4::parse_config(json.dump(), "config.json");
    if (CHECK(!parsed.ok())) CHECK(error_mentions(parsed.error(), {"config.json", mentioned}));
}

std::string read(const fs::path& path) {
    std::string bytes(static_cast<std::size_t>(fs::file_size(path)), '\0');
    std::ifstream(path, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return bytes;
}

void write(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A private copy of the tiny checkpoint to damage.
fs::path fresh_copy(const std::string& source) {
    const fs::path copy = fs::path(LECTERN_BINARY_DIR) / "test-data" / "tiny-v4-damaged";
    fs::remove_all(copy);
    fs::create_directories(copy);
    for (const auto& entry : fs::directory_iterator(source))
        if (entry.path().filename() != "tokenizer.json")
            fs::copy_file(entry.path(), copy / entry.path().filename());
    return copy;
}

// Rewrites one shard's header through `edit` (the data section is kept).
void edit_header(const fs::path& shard, const std::function<void(nlohmann::json&)>& edit) {
    const std::string bytes = read(shard);
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data(), 8);
    auto header = nlohmann::json::parse(bytes.substr(8, length));
    edit(header);
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t new_length = text.size();
    std::string out(reinterpret_cast<const char*>(&new_length), 8);
    write(shard, out + text + bytes.substr(8 + length));
}

std::string load_error(const fs::path& folder) {
    auto loaded = model::v4::load_v4_model(folder.string());
    return loaded.ok() ? std::string() : loaded.error();
}

} // namespace

int main() {
    // Both namings parse to the same values.
    auto hf = model::v4::parse_config(tools::tiny_v4_config_json(), "config.json");
    CHECK(hf.ok());
    const nlohmann::json inference_names = {{"vocab_size", 129280},
                                            {"dim", 128},
                                            {"n_layers", 4},
                                            {"n_heads", 4},
                                            {"head_dim", 128},
                                            {"rope_head_dim", 64},
                                            {"q_lora_rank", 64},
                                            {"o_groups", 2},
                                            {"o_lora_rank", 128},
                                            {"window_size", 128},
                                            {"compress_ratios", {0, 4, 128, 4, 0}},
                                            {"compress_rope_theta", 160000},
                                            {"rope_theta", 10000},
                                            {"rope_factor", 16},
                                            {"original_seq_len", 65536},
                                            {"beta_fast", 32},
                                            {"beta_slow", 1},
                                            {"index_n_heads", 4},
                                            {"index_head_dim", 128},
                                            {"index_topk", 8},
                                            {"n_routed_experts", 8},
                                            {"n_shared_experts", 1},
                                            {"n_activated_experts", 3},
                                            {"moe_inter_dim", 64},
                                            {"score_func", "sqrtsoftplus"},
                                            {"route_scale", 1.5},
                                            {"n_hash_layers", 2},
                                            {"swiglu_limit", 10.0},
                                            {"hc_mult", 4},
                                            {"hc_sinkhorn_iters", 20},
                                            {"hc_eps", 1e-6},
                                            {"norm_eps", 1e-6},
                                            {"dtype", "fp8"},
                                            {"scale_fmt", "ue8m0"},
                                            {"expert_dtype", "fp4"}};
    auto official = model::v4::parse_config(inference_names.dump(), "inference/config.json");
    if (CHECK(official.ok() && hf.ok())) {
        CHECK(official->dim == hf->dim && official->compress_ratios == hf->compress_ratios &&
              official->rope_factor == hf->rope_factor &&
              official->original_seq_len == hf->original_seq_len &&
              official->route_scale == hf->route_scale &&
              official->n_activated_experts == hf->n_activated_experts);
    } else if (!official.ok()) {
        std::fprintf(stderr, "%s\n", official.error().c_str());
    }

    expect_config_error("hidden_size", nullptr, "hidden_size");
    expect_config_error("hidden_size", "128", "hidden_size");
    expect_config_error("compress_ratios", {0, 4, 128}, "compress_ratios");
    expect_config_error("compress_ratios", {0, 4, 64, 4, 0}, "compress_ratios[2]");
    expect_config_error("compress_ratios", {0, 4, 128, 4, 4}, "MTP");
    expect_config_error("num_key_value_heads", 2, "num_key_value_heads");
    expect_config_error("o_groups", 3, "o_groups");
    expect_config_error("qk_rope_head_dim", 32, "head_dim");
    expect_config_error("num_experts_per_tok", 9, "num_experts_per_tok");
    expect_config_error("scoring_func", "softmax", "scoring_func");
    expect_config_error("num_hash_layers", 5, "num_hash_layers");
    expect_config_error("tie_word_embeddings", true, "tie_word_embeddings");
    expect_config_error("rope_scaling", {{"type", "yarn"}, {"factor", 16}},
                        "rope_scaling.original_max_position_embeddings");
    expect_config_error("index_head_dim", 96, "index_head_dim");
    auto not_json = model::v4::parse_config("{\"hidden_size\": ", "config.json");
    CHECK(!not_json.ok() && error_mentions(not_json.error(), {"config.json", "JSON"}));

    // Checkpoints.
    const std::string good = test::tiny_v4_folder();
    CHECK(load_error(good).empty());
    const std::string layers_shard = "model-00001-of-00002.safetensors";
    const std::string other_shard = "model-00002-of-00002.safetensors";

    fs::path copy = fresh_copy(good);
    edit_header(copy / layers_shard, [](nlohmann::json& h) { h.erase("layers.2.attn.compressor.ape"); });
    CHECK(error_mentions(load_error(copy), {"layers.2.attn.compressor.ape"}));

    copy = fresh_copy(good);
    edit_header(copy / layers_shard,
                [](nlohmann::json& h) { h["layers.1.attn.wkv.weight"]["dtype"] = "BF16"; });
    CHECK(error_mentions(load_error(copy), {"layers.1.attn.wkv.weight", layers_shard.c_str()}));

    copy = fresh_copy(good);
    edit_header(copy / layers_shard, [](nlohmann::json& h) {
        // Same bytes, transposed shape: the size check passes, the config check must not.
        h["layers.3.attn.wo_b.weight"]["shape"] = {256, 128};
    });
    CHECK(error_mentions(load_error(copy), {"layers.3.attn.wo_b.weight", "shape", "[256, 128]"}));

    copy = fresh_copy(good);
    edit_header(copy / layers_shard, [](nlohmann::json& h) {
        h["layers.0.ffn.experts.5.w2.weight"]["shape"] = {128, 33};
    });
    CHECK(error_mentions(load_error(copy), {"layers.0.ffn.experts.5.w2.weight", layers_shard.c_str()}));

    copy = fresh_copy(good);
    {
        const std::string bytes = read(copy / other_shard);
        write(copy / other_shard, bytes.substr(0, bytes.size() - 1000));
    }
    CHECK(error_mentions(load_error(copy), {other_shard.c_str(), "truncated"}));

    copy = fresh_copy(good);
    write(copy / layers_shard, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}");
    CHECK(error_mentions(load_error(copy), {layers_shard.c_str()}));

    copy = fresh_copy(good);
    {
        std::string bytes = read(copy / layers_shard);
        bytes[8] = '#'; // the header's opening brace
        write(copy / layers_shard, bytes);
    }
    CHECK(error_mentions(load_error(copy), {layers_shard.c_str(), "JSON"}));

    copy = fresh_copy(good);
    fs::remove(copy / other_shard);
    CHECK(error_mentions(load_error(copy), {other_shard.c_str(), "missing"}));

    copy = fresh_copy(good);
    {
        // A hash table naming an expert that does not exist.
        const std::string bytes = read(copy / layers_shard);
        std::uint64_t length = 0;
        std::memcpy(&length, bytes.data(), 8);
        const auto header = nlohmann::json::parse(bytes.substr(8, length));
        const auto offset = header.at("layers.0.ffn.gate.tid2eid").at("data_offsets")[0].get<std::uint64_t>();
        std::string damaged = bytes;
        const std::int64_t bad_expert = 99;
        std::memcpy(damaged.data() + 8 + length + offset, &bad_expert, 8);
        write(copy / layers_shard, damaged);
    }
    CHECK(error_mentions(load_error(copy), {"layers.0.ffn.gate.tid2eid", "99"}));

    copy = fresh_copy(good);
    {
        auto config = nlohmann::json::parse(read(copy / "config.json"));
        config["hidden_size"] = 256;
        write(copy / "config.json", config.dump());
    }
    CHECK(error_mentions(load_error(copy), {"embed.weight", "[129280, 256]"}));

    // The factory: a folder without config.json, an unknown path, a .gguf without a registered loader.
    const fs::path empty = fs::path(LECTERN_BINARY_DIR) / "test-data" / "empty-model-folder";
    fs::create_directories(empty);
    auto no_config = model::load_model(empty.string());
    CHECK(!no_config.ok() && error_mentions(no_config.error(), {"config.json"}));
    auto missing = model::load_model("/nonexistent/model/path");
    CHECK(!missing.ok() && error_mentions(missing.error(), {"/nonexistent/model/path"}));
    auto via_factory = model::load_model(good);
    CHECK(via_factory.ok() && (*via_factory)->info().family == "deepseek_v4");
    fs::remove_all(fs::path(LECTERN_BINARY_DIR) / "test-data" / "tiny-v4-damaged");
    return test::finish("v4_checkpoint");
}
