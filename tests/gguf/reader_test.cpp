// The GGUF reader on files built here byte by byte: a valid one (every metadata type, arrays, alignment,
// tensor views) and damaged ones, each of which must give a clear error naming the problem, never a
// crash or a read outside the buffer (the asan preset checks the latter); and well-formed GGUF files that
// lack a tensor the dense graph needs, or hold one of the wrong shape, which the model loader refuses.

#include "inference/formats/gguf.h"
#include "inference/model/dense/dense_model.h"
#include "tests/kernels/check.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace lectern;
using formats::GgufFile;
using formats::GgufType;

namespace {

// Appends little-endian GGUF fields.
struct Builder {
    std::vector<std::byte> bytes;

    template <typename T>
    Builder& put(T value) {
        const auto* p = reinterpret_cast<const std::byte*>(&value);
        bytes.insert(bytes.end(), p, p + sizeof(T));
        return *this;
    }
    Builder& str(const std::string& text) {
        put<std::uint64_t>(text.size());
        const auto* p = reinterpret_cast<const std::byte*>(text.data());
        bytes.insert(bytes.end(), p, p + text.size());
        return *this;
    }
    Builder& key(const std::string& name, GgufType type) {
        return str(name).put(static_cast<std::uint32_t>(type));
    }
    Builder& pad_to(std::size_t alignment) {
        while (bytes.size() % alignment) bytes.push_back(std::byte{0});
        return *this;
    }
};

struct TensorSpec {
    std::string name = "weight";
    std::vector<std::uint64_t> dims = {64, 2}; // innermost first
    std::uint32_t type = 0;                    // F32
    std::uint64_t offset = 0;
};

// A valid file with the given tensors (data filled with its own byte index) and a metadata block.
std::vector<std::byte> make_file(const std::vector<TensorSpec>& tensors, std::uint64_t data_bytes,
                                 std::uint32_t version = 3) {
    Builder b;
    b.put<std::uint32_t>(0x46554747).put<std::uint32_t>(version);
    b.put<std::uint64_t>(tensors.size()).put<std::uint64_t>(8);
    b.key("general.architecture", GgufType::String).str("llama");
    b.key("test.u8", GgufType::U8).put<std::uint8_t>(200);
    b.key("test.i16", GgufType::I16).put<std::int16_t>(-7);
    b.key("test.f32", GgufType::F32).put<float>(1.5f);
    b.key("test.bool", GgufType::Bool).put<std::uint8_t>(1);
    b.key("test.u64", GgufType::U64).put<std::uint64_t>(1ull << 40);
    b.key("test.f64", GgufType::F64).put<double>(-0.25);
    b.key("test.strings", GgufType::Array).put<std::uint32_t>(8).put<std::uint64_t>(2).str("a").str("bc");
    for (const TensorSpec& t : tensors) {
        b.str(t.name).put<std::uint32_t>(static_cast<std::uint32_t>(t.dims.size()));
        for (const std::uint64_t d : t.dims) b.put<std::uint64_t>(d);
        b.put<std::uint32_t>(t.type).put<std::uint64_t>(t.offset);
    }
    b.pad_to(32);
    for (std::uint64_t i = 0; i < data_bytes; ++i) b.put<std::uint8_t>(static_cast<std::uint8_t>(i));
    return b.bytes;
}

void expect_error(const std::vector<std::byte>& bytes, const std::string& fragment, const char* what) {
    auto file = GgufFile::parse(bytes, "bad.gguf");
    if (file.ok()) {
        std::fprintf(stderr, "%s: parsed without error\n", what);
        CHECK(false);
        return;
    }
    const bool names_file = file.error().starts_with("bad.gguf: ");
    const bool says_why = file.error().find(fragment) != std::string::npos;
    if (!names_file || !says_why)
        std::fprintf(stderr, "%s: unexpected message: %s\n", what, file.error().c_str());
    CHECK(names_file && says_why);
}

void valid_file_parses() {
    const auto bytes = make_file({{"a", {64, 2}, 0, 0}, {"b", {32}, 8, 512}}, 512 + 34);
    auto file = GgufFile::parse(bytes, "good.gguf");
    if (!CHECK(file.ok())) {
        std::fprintf(stderr, "%s\n", file.error().c_str());
        return;
    }
    CHECK(file->version() == 3);
    CHECK(file->require_string("general.architecture").value() == "llama");
    CHECK(file->require_uint("test.u8").value() == 200);
    CHECK(file->find("test.i16")->as_int() == -7);
    CHECK(!file->require_uint("test.i16").ok());
    CHECK(file->require_float("test.f32").value() == 1.5);
    CHECK(file->find("test.bool")->as_bool() == true);
    CHECK(file->require_uint("test.u64").value() == (1ull << 40));
    CHECK(file->require_float("test.f64").value() == -0.25);
    const auto* strings = file->find("test.strings")->as_array();
    CHECK(strings && strings->size() == 2 && *(*strings)[1].as_string() == "bc");
    CHECK(!file->require_string("missing.key").ok());
    CHECK(file->require_string("missing.key").error().find("missing.key") != std::string::npos);
    const formats::TensorView* a = file->find_tensor("a");
    const formats::TensorView* b = file->find_tensor("b");
    CHECK(a && a->shape == std::vector<std::int64_t>({2, 64}) && a->dtype == kernels::DType::F32);
    CHECK(a && a->data.size() == 512 && a->data.data() == bytes.data() + file->data_offset());
    CHECK(b && b->dtype == kernels::DType::Q8_0 && b->data.size() == 34);
    CHECK(b && b->data.data() == bytes.data() + file->data_offset() + 512);
    CHECK(file->data_offset() % 32 == 0);
}

void damaged_files_are_errors() {
    const auto good = make_file({{"a", {64, 2}, 0, 0}}, 512);
    // Truncated anywhere: inside the header, the metadata, the tensor table, the data.
    for (std::size_t cut = 0; cut < good.size(); cut += (cut < 300 ? 1 : 97)) {
        const std::vector<std::byte> truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
        auto file = GgufFile::parse(truncated, "bad.gguf");
        if (!CHECK(!file.ok())) std::fprintf(stderr, "a file cut at %zu bytes parsed\n", cut);
    }
    expect_error(std::vector<std::byte>(good.begin(), good.begin() + 200), "truncated", "cut in metadata");
    expect_error(std::vector<std::byte>(good.end() - 600, good.end()), "not a GGUF file", "wrong magic");
    expect_error(make_file({{"a", {64, 2}, 0, 0}}, 511), "past the end of the file", "data cut short");
    expect_error(make_file({{"a", {64, 2}, 0, 1u << 30}}, 512), "past the end", "offset past the end");
    expect_error(make_file({{"a", {64, 2}, 0, 3}}, 512), "not a multiple of the alignment", "misaligned");
    expect_error(make_file({{"a", {1ull << 40, 1ull << 40}, 0, 0}}, 512), "impossible shape", "absurd dims");
    expect_error(make_file({{"a", {64, 0}, 0, 0}}, 512), "impossible shape", "zero dim");
    expect_error(make_file({{"a", {64, 1, 1, 1, 1}, 0, 0}}, 512), "5 dimensions", "too many dims");
    expect_error(make_file({{"a", {64, 2}, 77, 0}}, 512), "unknown ggml type 77", "unknown type");
    expect_error(make_file({{"a", {256}, 21, 0}}, 512), "IQ3_S", "unsupported type");
    expect_error(make_file({{"a", {48}, 2, 0}}, 512), "not a multiple of Q4_0's block", "partial block");
    expect_error(make_file({{"a", {64}, 0, 0}, {"a", {64}, 0, 256}}, 512), "appears twice",
                 "duplicate tensor");
    expect_error(make_file({{"a", {64}, 0, 0}, {"b", {128}, 0, 128}}, 640), "overlap", "overlapping tensors");
    expect_error(make_file({{"a", {64, 2}, 0, 0}}, 512, 7), "version 7", "future version");

    Builder huge_count;
    huge_count.put<std::uint32_t>(0x46554747)
        .put<std::uint32_t>(3)
        .put<std::uint64_t>(0)
        .put<std::uint64_t>(~0ull);
    expect_error(huge_count.bytes, "more than the file can hold", "absurd metadata count");
    Builder huge_array;
    huge_array.put<std::uint32_t>(0x46554747)
        .put<std::uint32_t>(3)
        .put<std::uint64_t>(0)
        .put<std::uint64_t>(1);
    huge_array.key("x", GgufType::Array).put<std::uint32_t>(4).put<std::uint64_t>(1ull << 60);
    expect_error(huge_array.bytes, "more than the file can hold", "absurd array length");
    Builder huge_string;
    huge_string.put<std::uint32_t>(0x46554747)
        .put<std::uint32_t>(3)
        .put<std::uint64_t>(0)
        .put<std::uint64_t>(1);
    huge_string.key("x", GgufType::String).put<std::uint64_t>(~0ull);
    expect_error(huge_string.bytes, "more than the rest of the file", "absurd string length");
    Builder bad_type;
    bad_type.put<std::uint32_t>(0x46554747).put<std::uint32_t>(3).put<std::uint64_t>(0).put<std::uint64_t>(1);
    bad_type.str("x").put<std::uint32_t>(99).put<std::uint64_t>(0);
    expect_error(bad_type.bytes, "unknown value type 99", "unknown metadata type");
    Builder nested;
    nested.put<std::uint32_t>(0x46554747).put<std::uint32_t>(3).put<std::uint64_t>(0).put<std::uint64_t>(1);
    nested.key("x", GgufType::Array);
    for (int depth = 0; depth < 20; ++depth) nested.put<std::uint32_t>(9).put<std::uint64_t>(1);
    nested.put<std::uint32_t>(0).put<std::uint64_t>(0);
    expect_error(nested.bytes, "nests arrays deeper", "deep nesting");
    Builder bad_alignment;
    bad_alignment.put<std::uint32_t>(0x46554747)
        .put<std::uint32_t>(3)
        .put<std::uint64_t>(0)
        .put<std::uint64_t>(1);
    bad_alignment.key("general.alignment", GgufType::U32).put<std::uint32_t>(12);
    expect_error(bad_alignment.bytes, "general.alignment", "bad alignment");
}

void missing_file_is_an_error() {
    auto file = GgufFile::open("/nonexistent/model.gguf");
    CHECK(!file.ok() && file.error().find("/nonexistent/model.gguf") != std::string::npos);
}

// A Llama-style file with one layer's metadata and the given F32 tensors (names and row-major shapes).
std::vector<std::byte>
make_llama(const std::vector<std::pair<std::string, std::vector<std::uint64_t>>>& tensors) {
    Builder b;
    b.put<std::uint32_t>(0x46554747)
        .put<std::uint32_t>(3)
        .put<std::uint64_t>(tensors.size())
        .put<std::uint64_t>(9);
    b.key("general.architecture", GgufType::String).str("llama");
    for (const char* key : {"llama.block_count", "llama.attention.head_count_kv"})
        b.key(key, GgufType::U32).put<std::uint32_t>(1);
    b.key("llama.embedding_length", GgufType::U32).put<std::uint32_t>(64);
    b.key("llama.attention.head_count", GgufType::U32).put<std::uint32_t>(2);
    b.key("llama.feed_forward_length", GgufType::U32).put<std::uint32_t>(96);
    b.key("llama.context_length", GgufType::U32).put<std::uint32_t>(16);
    b.key("llama.attention.layer_norm_rms_epsilon", GgufType::F32).put<float>(1e-5f);
    b.key("llama.rope.freq_base", GgufType::F32).put<float>(10000.0f);
    std::uint64_t offset = 0;
    for (const auto& [name, shape] : tensors) {
        b.str(name).put<std::uint32_t>(static_cast<std::uint32_t>(shape.size()));
        std::uint64_t elements = 1;
        for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
            b.put<std::uint64_t>(*it);
            elements *= *it;
        }
        b.put<std::uint32_t>(0).put<std::uint64_t>(offset);
        offset += (elements * 4 + 31) / 32 * 32;
    }
    b.pad_to(32);
    for (std::uint64_t i = 0; i < offset / 4; ++i) b.put<float>(0.01f);
    return b.bytes;
}

void expect_load_error(const std::vector<std::byte>& bytes, const std::string& fragment, const char* what) {
    const auto path = std::filesystem::temp_directory_path() / "lectern-gguf-reader-test.gguf";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    auto loaded = lectern::model::dense::load_dense_gguf(path.string(), {}, 1);
    std::filesystem::remove(path);
    const bool ok = !loaded.ok() && loaded.error().find(path.string()) != std::string::npos &&
                    loaded.error().find(fragment) != std::string::npos;
    if (!ok) std::fprintf(stderr, "%s: %s\n", what, loaded.ok() ? "loaded" : loaded.error().c_str());
    CHECK(ok);
}

void incomplete_models_are_errors() {
    const std::vector<std::pair<std::string, std::vector<std::uint64_t>>> base = {
        {"token_embd.weight", {8, 64}}, {"output_norm.weight", {64}}};
    expect_load_error(make_llama(base), "'blk.0.attn_norm.weight' is missing", "missing layer tensor");
    auto wrong = base;
    wrong.push_back({"blk.0.attn_norm.weight", {64}});
    wrong.push_back({"blk.0.attn_q.weight", {64, 32}});
    expect_load_error(make_llama(wrong),
                      "'blk.0.attn_q.weight' is F32 [64, 32] but the model's metadata needs [64, 64]",
                      "wrong shape");
}

} // namespace

int main() {
    valid_file_parses();
    damaged_files_are_errors();
    missing_file_is_an_error();
    incomplete_models_are_errors();
    return test::finish("gguf_reader");
}
