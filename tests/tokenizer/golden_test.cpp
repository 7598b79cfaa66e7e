// Token ids identical to Hugging Face `tokenizers` on the committed multilingual text and edge cases
// (goldens written by tests/data/tokenizer/make_goldens.py), for DeepSeek-V4 and SmolLM2.

#include "../kernels/check.h"
#include "inference/tokenizer/streaming_decoder.h"
#include "inference/tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

using namespace lectern;
using namespace lectern::tokenizer;

namespace {

void check_goldens(const BpeTokenizer& tokenizer, const std::string& golden_file) {
    const auto goldens =
        nlohmann::json::parse(test::read_file(std::string(LECTERN_TEST_DATA) + "/tokenizer/" + golden_file));
    CHECK(tokenizer.vocab_size() == goldens["vocab_size"].get<std::size_t>());
    for (const auto& golden : goldens["cases"]) {
        const std::string name = golden["name"];
        const std::string text = test::from_hex(golden["hex"]);
        const auto expected = golden["ids"].get<std::vector<TokenId>>();
        const auto ids = tokenizer.encode(text);
        if (!CHECK(ids == expected)) {
            std::fprintf(stderr, "  %s, case '%s': %zu ids, expected %zu\n", golden_file.c_str(),
                         name.c_str(), ids.size(), expected.size());
            for (std::size_t i = 0; i < std::min(ids.size(), expected.size()); ++i) {
                if (ids[i] != expected[i]) {
                    std::fprintf(stderr, "  first difference at %zu: %d, expected %d\n", i, ids[i],
                                 expected[i]);
                    break;
                }
            }
            continue;
        }
        const auto decoded = tokenizer.decode(ids);
        CHECK(decoded.ok() && *decoded == test::from_hex(golden["decoded_hex"]));
        if (is_valid_utf8(text)) CHECK(decoded.ok() && *decoded == text);

        // Streaming, one token at a time: the pieces are always whole characters and add up to decode().
        StreamingDecoder stream(tokenizer);
        std::string streamed;
        for (const TokenId id : ids) {
            auto piece = stream.push(id);
            CHECK(piece.ok() && is_valid_utf8(*piece));
            if (piece.ok()) streamed += *piece;
        }
        streamed += stream.finish();
        CHECK(decoded.ok() && streamed == *decoded);
    }
    std::printf("%s: %zu cases compared\n", golden_file.c_str(), goldens["cases"].size());
}

} // namespace

int main() {
    if (!test::fixtures_present()) {
        std::printf("tokenizer files missing from the cache (run scripts/fetch-models): skipped\n");
        return 77;
    }
    auto deepseek = test::load_deepseek_v4();
    if (!CHECK(deepseek.ok())) std::fprintf(stderr, "  %s\n", deepseek.error().c_str());
    auto smollm2 = test::load_smollm2();
    if (!CHECK(smollm2.ok())) std::fprintf(stderr, "  %s\n", smollm2.error().c_str());
    if (deepseek.ok()) check_goldens(*deepseek, "deepseek_v4_goldens.json");
    if (smollm2.ok()) check_goldens(*smollm2, "smollm2_goldens.json");
    return test::finish("tokenizer_golden");
}
