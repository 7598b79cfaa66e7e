#include "inference/tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <unicode/uchar.h>

#include <algorithm>
#include <cstdio>
#include <pcre2.h>
#include <string_view>
#include <utility>

namespace lectern::tokenizer {
namespace {

struct CodeDeleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeDeleter>;

// One segment of a piece: a stretch the pattern matched, or the text between two matches.
struct Segment {
    std::size_t begin;
    std::size_t end;
    bool matched;
};

// PCRE2's per-match state. A match needs only the whole-match offsets, so one small match block and one
// JIT stack per thread serve every pattern of every tokenizer.
struct MatchState {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    // Long whitespace runs under `\s+(?!\S)` backtrack deeply; the default 32 KiB JIT stack is too small.
    pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);

    MatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
    ~MatchState() {
        pcre2_jit_stack_free(stack);
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
    }
    MatchState(const MatchState&) = delete;
    MatchState& operator=(const MatchState&) = delete;
};

MatchState& match_state() {
    thread_local MatchState state;
    return state;
}

std::size_t utf8_char_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    return 4;
}

// Every match of `code` in `subject`, with the gaps between them, in order (HF `find_matches`).
void find_segments(const pcre2_code* code, std::string_view subject, std::vector<Segment>& segments) {
    segments.clear();
    MatchState& state = match_state();
    const auto* bytes = reinterpret_cast<PCRE2_SPTR>(subject.data());
    std::size_t search_from = 0;
    std::size_t previous_end = 0;
    while (search_from <= subject.size()) {
        const int rc =
            pcre2_jit_match(code, bytes, subject.size(), search_from, 0, state.data, state.context);
        if (rc < 0) break; // PCRE2_ERROR_NOMATCH, or a JIT stack overflow on pathological input
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
        const std::size_t begin = ovector[0];
        const std::size_t end = ovector[1];
        if (begin != previous_end) segments.push_back({previous_end, begin, false});
        segments.push_back({begin, end, true});
        previous_end = end;
        if (end == begin) {
            if (end >= subject.size()) break;
            search_from = end + utf8_char_length(static_cast<unsigned char>(subject[end]));
        } else {
            search_from = end;
        }
    }
    if (previous_end != subject.size()) segments.push_back({previous_end, subject.size(), false});
}

// Joins segments as the split behavior says (HF `SplitDelimiterBehavior`); `matched` on the result
// only guides the joining.
void apply_behavior(SplitBehavior behavior, bool invert, std::vector<Segment>& segments) {
    if (invert) {
        for (auto& segment : segments) segment.matched = !segment.matched;
    }
    std::vector<Segment> joined;
    joined.reserve(segments.size());
    bool previous_matched = false;
    switch (behavior) {
    case SplitBehavior::Isolated:
        return;
    case SplitBehavior::Removed:
        for (const auto& segment : segments) {
            if (!segment.matched) joined.push_back(segment);
        }
        break;
    case SplitBehavior::MergedWithPrevious:
        for (const auto& segment : segments) {
            if (segment.matched && !previous_matched && !joined.empty()) {
                joined.back().end = segment.end;
            } else {
                joined.push_back(segment);
            }
            previous_matched = segment.matched;
        }
        break;
    case SplitBehavior::MergedWithNext:
        for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
            if (it->matched && !previous_matched && !joined.empty()) {
                joined.back().begin = it->begin;
            } else {
                joined.push_back(*it);
            }
            previous_matched = it->matched;
        }
        std::reverse(joined.begin(), joined.end());
        break;
    case SplitBehavior::Contiguous:
        for (const auto& segment : segments) {
            if (segment.matched == previous_matched && !joined.empty()) {
                joined.back().end = segment.end;
            } else {
                joined.push_back(segment);
            }
            previous_matched = segment.matched;
        }
        break;
    }
    segments = std::move(joined);
}

// The code points of Unicode's White_Space property as a PCRE2 class body ("\x{9}-\x{D}\x{20}..."), from
// ICU. Oniguruma, which HF's regexes run on, means exactly this by \s; PCRE2's \s also takes U+180E.
const std::string& white_space_class_body() {
    static const std::string body = [] {
        std::string ranges;
        auto append = [&](UChar32 first, UChar32 last) {
            char buffer[32];
            if (first == last)
                std::snprintf(buffer, sizeof buffer, "\\x{%X}", static_cast<unsigned>(first));
            else
                std::snprintf(buffer, sizeof buffer, "\\x{%X}-\\x{%X}", static_cast<unsigned>(first),
                              static_cast<unsigned>(last));
            ranges += buffer;
        };
        UChar32 start = -1;
        for (UChar32 c = 0; c <= 0x110000; ++c) {
            const bool space = c < 0x110000 && u_hasBinaryProperty(c, UCHAR_WHITE_SPACE);
            if (space && start < 0) start = c;
            if (!space && start >= 0) {
                append(start, c - 1);
                start = -1;
            }
        }
        return ranges;
    }();
    return body;
}

// HF patterns are Oniguruma syntax; PCRE2 reads them the same except for \s and \S, which are rewritten
// to White_Space classes (inside a class too; \S inside a class is left alone, no tokenizer uses it).
std::string oniguruma_to_pcre2(std::string_view pattern) {
    std::string out;
    bool in_class = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char next = pattern[++i];
            if (next == 's') {
                out += in_class ? white_space_class_body() : "[" + white_space_class_body() + "]";
            } else if (next == 'S' && !in_class) {
                out += "[^" + white_space_class_body() + "]";
            } else {
                out += c;
                out += next;
            }
            continue;
        }
        out += c;
        if (!in_class && c == '[') {
            in_class = true;
            // A ']' right after '[' or '[^' is a literal, not the end of the class.
            if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
        } else if (in_class && c == ']') {
            in_class = false;
        }
    }
    return out;
}

} // namespace

struct PreTokenizer::Compiled {
    std::vector<CodePtr> codes;
};

PreTokenizer::PreTokenizer(std::vector<SplitRule> rules, std::unique_ptr<Compiled> compiled)
    : rules_(std::move(rules)), compiled_(std::move(compiled)) {}
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

Result<PreTokenizer> PreTokenizer::create(std::vector<SplitRule> rules) {
    auto compiled = std::make_unique<Compiled>();
    for (const auto& rule : rules) {
        int error_code = 0;
        PCRE2_SIZE error_offset = 0;
        const std::string pattern = oniguruma_to_pcre2(rule.pattern);
        CodePtr code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error_code, &error_offset,
                                   nullptr));
        if (!code) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(error_code, message, sizeof message);
            return Error{"the pre-tokenizer pattern '" + rule.pattern + "' is not a valid regex (" +
                         reinterpret_cast<const char*>(message) + " at offset " +
                         std::to_string(error_offset) + ")"};
        }
        if (pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE) != 0) {
            return Error{"PCRE2 could not JIT-compile the pre-tokenizer pattern '" + rule.pattern +
                         "' (this PCRE2 build lacks JIT support)"};
        }
        compiled->codes.push_back(std::move(code));
    }
    return PreTokenizer(std::move(rules), std::move(compiled));
}

void PreTokenizer::split(std::string_view text, std::size_t base, std::vector<PieceRange>& pieces) const {
    // Depth first, so that only one piece per rule is in flight: no list of all pieces of a large text.
    thread_local std::vector<std::vector<Segment>> segments_per_rule;
    if (segments_per_rule.size() < rules_.size()) segments_per_rule.resize(rules_.size());

    auto split_from = [&](auto& self, std::size_t rule_index, std::size_t begin, std::size_t end) -> void {
        if (begin == end) return;
        if (rule_index == rules_.size()) {
            pieces.push_back({base + begin, base + end});
            return;
        }
        // Each rule has its own vector, so the deeper calls below leave this one alone.
        std::vector<Segment>& segments = segments_per_rule[rule_index];
        find_segments(compiled_->codes[rule_index].get(), text.substr(begin, end - begin), segments);
        apply_behavior(rules_[rule_index].behavior, rules_[rule_index].invert, segments);
        for (const Segment& segment : segments) {
            self(self, rule_index + 1, begin + segment.begin, begin + segment.end);
        }
    };
    split_from(split_from, 0, 0, text.size());
}

} // namespace lectern::tokenizer
