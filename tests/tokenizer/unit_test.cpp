// The tokenizer's parts on their own: UTF-8 repair, split behaviors, streaming across split characters,
// round trips on random text, and plain-language errors for broken tokenizer files.

#include "../kernels/check.h"
#include "inference/tokenizer/byte_level.h"
#include "inference/tokenizer/gguf_vocab.h"
#include "inference/tokenizer/hf_tokenizer_json.h"
#include "inference/tokenizer/streaming_decoder.h"
#include "inference/tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace lectern;
using namespace lectern::tokenizer;

namespace {

void check_utf8() {
    auto repaired = [](std::string_view bytes) {
        std::string out;
        append_valid_utf8(out, bytes);
        return out;
    };
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(repaired("abc") == "abc");
    CHECK(repaired("\xff") == fffd);
    CHECK(repaired("\xc3\x28") == fffd + "("); // a lead byte without its continuation
    CHECK(repaired("\xe2\x82") == fffd);       // one maximal subpart, one U+FFFD
    CHECK(repaired("\xf0\x9f\x98!") == fffd + "!");
    CHECK(repaired("\xed\xa0\x80") == fffd + fffd + fffd); // a surrogate: three ill-formed bytes
    CHECK(repaired("\xc0\xaf") == fffd + fffd);            // overlong
    CHECK(repaired("\xe4\xbd\xa0") == "\xe4\xbd\xa0");
    CHECK(is_valid_utf8("\xf0\x9f\x98\x80") && !is_valid_utf8("\xf0\x9f\x98"));
    CHECK(incomplete_utf8_tail("ab\xf0\x9f\x98") == 3);
    CHECK(incomplete_utf8_tail("ab\xf0\x9f") == 2);
    CHECK(incomplete_utf8_tail("ab\xe4") == 1);
    CHECK(incomplete_utf8_tail("ab\xf0\x9f\x98\x80") == 0);
    CHECK(incomplete_utf8_tail("ab\xff") == 0);     // never valid: nothing to wait for
    CHECK(incomplete_utf8_tail("ab\xe0\x80") == 0); // E0 80 can never be completed
}

std::vector<std::string> split_with(SplitBehavior behavior, std::string_view text) {
    auto pre = PreTokenizer::create({{"-", behavior, false}});
    std::vector<std::string> pieces;
    if (!CHECK(pre.ok())) return pieces;
    std::vector<PieceRange> ranges;
    pre->split(text, 0, ranges);
    for (const auto& range : ranges) pieces.emplace_back(text.substr(range.begin, range.end - range.begin));
    return pieces;
}

void check_split_behaviors() {
    using Pieces = std::vector<std::string>;
    const std::string_view text = "the-final--countdown";
    CHECK(split_with(SplitBehavior::Removed, text) == (Pieces{"the", "final", "countdown"}));
    CHECK(split_with(SplitBehavior::Isolated, text) == (Pieces{"the", "-", "final", "-", "-", "countdown"}));
    CHECK(split_with(SplitBehavior::MergedWithPrevious, text) ==
          (Pieces{"the-", "final-", "-", "countdown"}));
    CHECK(split_with(SplitBehavior::MergedWithNext, text) == (Pieces{"the", "-final", "-", "-countdown"}));
    CHECK(split_with(SplitBehavior::Contiguous, text) == (Pieces{"the", "-", "final", "--", "countdown"}));

    auto invalid = PreTokenizer::create({{"(unclosed", SplitBehavior::Isolated, false}});
    CHECK(!invalid.ok() && invalid.error().find("(unclosed") != std::string::npos);
}

void check_streaming(const BpeTokenizer& tokenizer) {
    // Each byte of a four-byte emoji as its own token: nothing comes out until the last one.
    const std::string emoji = "\xf0\x9f\x98\x80";
    std::vector<TokenId> byte_tokens;
    for (const char byte : emoji) {
        const auto id = tokenizer.token_id(bytes_to_byte_level(std::string(1, byte)));
        if (!CHECK(id.has_value())) return;
        byte_tokens.push_back(*id);
    }
    StreamingDecoder stream(tokenizer);
    for (std::size_t i = 0; i + 1 < byte_tokens.size(); ++i) {
        auto piece = stream.push(byte_tokens[i]);
        CHECK(piece.ok() && piece->empty());
    }
    auto last = stream.push(byte_tokens.back());
    CHECK(last.ok() && *last == emoji);
    CHECK(stream.finish().empty());

    // An unfinished character at the end of the stream becomes U+FFFD, never a broken byte.
    CHECK(stream.push(byte_tokens[0]).ok());
    CHECK(stream.finish() == "\xEF\xBF\xBD");
    CHECK(!stream.push(-1).ok());
    CHECK(!stream.push(static_cast<TokenId>(tokenizer.vocab_size())).ok());
}

// Random text from many scripts, emoji and whitespace: decode(encode(x)) == x, and streaming never
// emits broken characters. Bounded to a few seconds.
void check_random_round_trips(const BpeTokenizer& tokenizer, const char* name) {
    const std::vector<std::pair<char32_t, char32_t>> ranges = {
        {0x20, 0x7E},     {0x09, 0x0D},       {0xA0, 0x17F},    {0x370, 0x3FF},   {0x400, 0x4FF},
        {0x590, 0x6FF},   {0x900, 0x97F},     {0x3040, 0x30FF}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7A3},
        {0x2000, 0x206F}, {0x1F300, 0x1FAFF}, {0xFE00, 0xFE0F}, {0x200D, 0x200D}, {0x10000, 0x1007F},
    };
    std::mt19937 random(1234);
    int failures = 0;
    for (int round = 0; round < 400; ++round) {
        std::string text;
        const int length = static_cast<int>(random() % 200);
        for (int i = 0; i < length; ++i) {
            const auto& [low, high] = ranges[random() % ranges.size()];
            append_utf8(text, low + static_cast<char32_t>(random() % (high - low + 1)));
        }
        for (const AddedTokens mode : {AddedTokens::Match, AddedTokens::AsText}) {
            const auto ids = tokenizer.encode(text, mode);
            const auto decoded = tokenizer.decode(ids);
            StreamingDecoder stream(tokenizer);
            std::string streamed;
            bool whole_characters = true;
            for (const TokenId id : ids) {
                const auto piece = stream.push(id);
                whole_characters = whole_characters && piece.ok() && is_valid_utf8(*piece);
                if (piece.ok()) streamed += *piece;
            }
            streamed += stream.finish();
            if (!decoded.ok() || *decoded != text || streamed != text || !whole_characters) ++failures;
        }
    }
    if (!CHECK(failures == 0))
        std::fprintf(stderr, "  %s: %d random texts did not round-trip\n", name, failures);
}

// encode() is documented as safe from several threads at once (PCRE2 state is per thread).
void check_threads(const BpeTokenizer& tokenizer) {
    const std::string text = test::read_file(std::string(LECTERN_TEST_DATA) + "/tokenizer/multilingual.txt");
    const auto expected = tokenizer.encode(text);
    std::vector<int> agreed(4, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < agreed.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 20; ++round) agreed[t] += tokenizer.encode(text) == expected ? 1 : 0;
        });
    }
    for (auto& thread : threads) thread.join();
    for (const int count : agreed) CHECK(count == 20);
}

std::string write_temp(const std::string& name, const std::string& contents) {
    const auto path = std::filesystem::temp_directory_path() / ("lectern-tokenizer-test-" + name);
    std::ofstream(path, std::ios::binary) << contents;
    return path.string();
}

bool error_mentions(const Result<BpeTokenizer>& result, const std::string& words) {
    if (result.ok()) return false;
    if (result.error().find(words) != std::string::npos) return true;
    std::fprintf(stderr, "  error '%s' does not mention '%s'\n", result.error().c_str(), words.c_str());
    return false;
}

void check_errors() {
    CHECK(error_mentions(load_hf_tokenizer("/nonexistent/tokenizer.json"), "cannot open"));
    CHECK(error_mentions(load_hf_tokenizer(write_temp("broken.json", "{\"model\": ")), "not valid JSON"));
    const std::string byte_level =
        R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
        "decoder": {"type": "ByteLevel"})";
    CHECK(error_mentions(
        load_hf_tokenizer(write_temp(
            "wordpiece.json", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}, )" + byte_level + "}")),
        "not BPE"));
    CHECK(error_mentions(
        load_hf_tokenizer(write_temp(
            "badmerge.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}, )" +
                                 byte_level + "}")),
        "merge 0"));
    CHECK(error_mentions(
        load_hf_tokenizer(write_temp("metaspace.json",
                                     R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
        "pre_tokenizer": {"type": "Metaspace"}, "decoder": {"type": "ByteLevel"}})")),
        "Metaspace"));
    CHECK(error_mentions(
        load_hf_tokenizer(write_temp("prefixspace.json",
                                     R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true}, "decoder": {"type": "ByteLevel"}})")),
        "add_prefix_space"));
    CHECK(error_mentions(
        load_hf_tokenizer(write_temp("nobytelevel.json",
                                     R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
        "decoder": {"type": "ByteLevel"}})")),
        "ByteLevel"));

    const std::vector<std::string> tokens{"a", "b", "ab"};
    const std::vector<std::int32_t> types{1, 1, 1};
    const std::vector<std::string> merges{"a b"};
    CHECK(!gguf_tokenizer_parts("llama", "default", tokens, types, merges, "x.gguf").ok());
    CHECK(!gguf_tokenizer_parts("gpt2", "no-such-pre", tokens, types, merges, "x.gguf").ok());
    CHECK(!gguf_tokenizer_parts("gpt2", "gpt2", tokens, std::vector<std::int32_t>{1}, merges, "x.gguf").ok());

    // A tiny tokenizer made of plain parts, as the GGUF reader builds one.
    auto parts = gguf_tokenizer_parts("gpt2", "gpt2", tokens, types, merges, "tiny");
    if (!CHECK(parts.ok())) return;
    auto tiny = BpeTokenizer::create(std::move(parts).value());
    if (!CHECK(tiny.ok())) return;
    CHECK(tiny->encode("abba") == (std::vector<TokenId>{2, 1, 0})); // "ab" merged; unknown bytes dropped
    CHECK(tiny->encode("ab ab").size() == 2);                       // the space has no token here
}

} // namespace

int main() {
    check_utf8();
    check_split_behaviors();
    check_errors();
    if (!test::fixtures_present()) {
        std::printf(
            "tokenizer files missing from the cache (run scripts/fetch-models): model checks skipped\n");
        return test::failures() == 0 ? 77 : 1;
    }
    auto deepseek = test::load_deepseek_v4();
    auto smollm2 = test::load_smollm2();
    if (CHECK(deepseek.ok())) {
        check_streaming(*deepseek);
        check_random_round_trips(*deepseek, "DeepSeek-V4");
        check_threads(*deepseek);
    }
    if (CHECK(smollm2.ok())) {
        check_streaming(*smollm2);
        check_random_round_trips(*smollm2, "SmolLM2");
    }
    return test::finish("tokenizer_unit");
}
