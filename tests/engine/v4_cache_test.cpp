// Caches: prefill in chunks of 1, 3, 4, 127, 128, 129 and 1000 tokens (1 = decoding token by token) gives
// the same logits at every position as a single pass, across CSA (4) and HCA (128) block boundaries and
// the 128-token window wrap; snapshot -> restore -> continue equals computing straight through, in
// memory and through a file; damaged snapshots are rejected.
#include "inference/cache/snapshot_file.h"
#include "inference/engine/engine.h"
#include "inference/model/v4/state.h"
#include "inference/model/v4/v4_model.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

using namespace lectern;

std::vector<model::Token> prompt_tokens(std::size_t count) {
    std::vector<model::Token> tokens{0};
    for (std::size_t i = 1; i < count; ++i)
        tokens.push_back(static_cast<model::Token>((i * 7919 + 104729) % 129000));
    return tokens;
}

std::vector<float> run_in_chunks(const model::Model& m, std::span<const model::Token> tokens,
                                 std::size_t chunk) {
    auto state = m.new_state();
    std::vector<float> logits;
    model::ForwardOptions all;
    all.logits = model::LogitsWanted::All;
    for (std::size_t at = 0; at < tokens.size(); at += chunk) {
        auto result = m.forward(*state, tokens.subspan(at, std::min(chunk, tokens.size() - at)), all);
        if (!CHECK(result.ok())) return {};
        logits.insert(logits.end(), result->logits.begin(), result->logits.end());
    }
    CHECK(state->position() == static_cast<std::int64_t>(tokens.size()));
    return logits;
}

} // namespace

int main() {
    const std::string folder = test::tiny_v4_folder();
    auto loaded = model::v4::load_v4_model(folder);
    if (!CHECK(loaded.ok())) return test::finish("v4_cache");
    const model::Model& m = **loaded;
    const std::int64_t vocab = m.info().vocab_size;

    // 300 tokens: 75 CSA blocks (top-k active from position 35), 2 HCA blocks, the window wraps twice.
    const std::vector<model::Token> tokens = prompt_tokens(300);
    const std::vector<float> one_shot = run_in_chunks(m, tokens, tokens.size());
    for (const std::size_t chunk : {1, 3, 4, 127, 128, 129, 1000}) {
        const std::vector<float> chunked = run_in_chunks(m, tokens, chunk);
        std::int64_t differing = 0;
        for (std::size_t i = 0; i < one_shot.size() && i < chunked.size(); ++i)
            differing += one_shot[i] != chunked[i];
        if (!CHECK(chunked.size() == one_shot.size() && differing == 0))
            std::fprintf(stderr, "chunk size %zu: %lld logits differ from the single pass\n", chunk,
                         static_cast<long long>(differing));
    }

    // Snapshot after 200 tokens, continue; restore into a fresh state and continue again.
    const std::span<const model::Token> all(tokens);
    auto state = m.new_state();
    model::ForwardOptions last;
    CHECK(m.forward(*state, all.first(200), last).ok());
    const std::vector<std::byte> bytes = state->snapshot();
    auto straight = m.forward(*state, all.subspan(200), last);
    auto restored = m.new_state();
    CHECK(restored->restore(bytes).ok());
    CHECK(restored->position() == 200);
    auto resumed = m.forward(*restored, all.subspan(200), last);
    CHECK(straight.ok() && resumed.ok() && straight->logits == resumed->logits);
    CHECK(std::equal(straight->logits.begin(), straight->logits.end(), one_shot.end() - vocab));

    // A state refuses bytes that are not its own: truncated or changed.
    auto victim = m.new_state();
    CHECK(!victim->restore(std::span(bytes).first(bytes.size() - 4)).ok());
    std::vector<std::byte> wrong_position = bytes;
    wrong_position[24] = std::byte{0x33}; // position field: the cache sizes no longer match
    CHECK(!victim->restore(wrong_position).ok());
    CHECK(victim->position() == 0);

    // A state whose device failed part way through a forward is refused with the reason until a snapshot
    // is restored into it.
    auto& lost = dynamic_cast<model::v4::V4State&>(*victim);
    lost.invalidate("the device was lost");
    auto refused = m.forward(lost, all.first(4), last);
    CHECK(!refused.ok() && refused.error() == "the device was lost");
    CHECK(lost.snapshot().empty());
    CHECK(lost.restore(bytes).ok() && lost.position() == 200);
    auto revived = m.forward(lost, all.subspan(200), last);
    CHECK(revived.ok() && straight.ok() && revived->logits == straight->logits);

    // Through the engine and a file: snapshot, damage, reject; intact, restore and continue.
    inference::Engine engine(std::move(*loaded));
    CHECK(engine.prefill(all.first(200)).ok());
    const std::string path = std::string(LECTERN_BINARY_DIR) + "/test-data/v4_cache_test.snapshot";
    CHECK(engine.save_snapshot(path).ok());
    inference::GenerateOptions greedy;
    greedy.max_tokens = 6;
    auto first = engine.generate(greedy);
    CHECK(engine.load_snapshot(path).ok());
    CHECK(engine.stats().position == 200);
    auto second = engine.generate(greedy);
    CHECK(first.ok() && second.ok() && first->tokens == second->tokens);

    std::string file_bytes(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
    std::ifstream(path, std::ios::binary)
        .read(file_bytes.data(), static_cast<std::streamsize>(file_bytes.size()));
    auto write = [&](const std::string& content) {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    };
    const std::int64_t position = engine.stats().position;
    std::string damaged = file_bytes;
    damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x40);
    write(damaged);
    auto rejected = engine.load_snapshot(path);
    CHECK(!rejected.ok() && rejected.error().find("checksum") != std::string::npos);
    write(file_bytes.substr(0, file_bytes.size() - 100));
    CHECK(!engine.load_snapshot(path).ok());
    std::string other_version = file_bytes;
    other_version[8] = 9;
    write(other_version);
    rejected = engine.load_snapshot(path);
    CHECK(!rejected.ok() && rejected.error().find("version") != std::string::npos);
    write("not a snapshot");
    CHECK(!engine.load_snapshot(path).ok());
    CHECK(engine.stats().position == position); // failed loads leave the sequence alone
    std::filesystem::remove(path);
    return test::finish("v4_cache");
}
