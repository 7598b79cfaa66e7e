#include "inference/tokenizer/bpe_tokenizer.h"

#include "inference/tokenizer/added_token_matcher.h"
#include "inference/tokenizer/byte_level.h"
#include "inference/tokenizer/piece_cache.h"
#include "inference/tokenizer/utf8.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>

namespace lectern::tokenizer {
namespace {

struct Merge {
    std::uint32_t rank;
    TokenId merged;
};

// (left, right) → merge, open addressing with key and value side by side: the lookup BPE does most costs
// one cache line.
class MergeTable {
public:
    void reserve(std::size_t count) {
        std::size_t capacity = 16;
        while (capacity < count * 2) capacity *= 2;
        slots_.assign(capacity, Slot{kEmpty, Merge{0, 0}});
        mask_ = capacity - 1;
    }
    // Keeps the first (lowest-rank) merge of a pair, as HF does.
    void insert(TokenId left, TokenId right, Merge merge) {
        const std::uint64_t key = make_key(left, right);
        for (std::size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
            if (slots_[slot].key == key) return;
            if (slots_[slot].key == kEmpty) {
                slots_[slot] = Slot{key, merge};
                return;
            }
        }
    }
    const Merge* find(TokenId left, TokenId right) const {
        const std::uint64_t key = make_key(left, right);
        for (std::size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
            if (slots_[slot].key == key) return &slots_[slot].merge;
            if (slots_[slot].key == kEmpty) return nullptr;
        }
    }

private:
    struct Slot {
        std::uint64_t key;
        Merge merge;
    };
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
    static std::uint64_t make_key(TokenId left, TokenId right) {
        return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
    }
    static std::size_t hash(std::uint64_t key) {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 24);
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

struct Symbol {
    TokenId id;
    int prev;
    int next;
};

struct Candidate {
    std::uint32_t rank;
    int position;
    TokenId left;
    TokenId right;
    TokenId merged;
    // std::push_heap builds a max-heap: the lowest rank, then the leftmost position, must come out first.
    bool operator<(const Candidate& other) const {
        return rank != other.rank ? rank > other.rank : position > other.position;
    }
};

const icu::Normalizer2* icu_normalizer(Normalization form) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* normalizer = nullptr;
    switch (form) {
    case Normalization::Nfc:
        normalizer = icu::Normalizer2::getNFCInstance(status);
        break;
    case Normalization::Nfd:
        normalizer = icu::Normalizer2::getNFDInstance(status);
        break;
    case Normalization::Nfkc:
        normalizer = icu::Normalizer2::getNFKCInstance(status);
        break;
    case Normalization::Nfkd:
        normalizer = icu::Normalizer2::getNFKDInstance(status);
        break;
    }
    return U_SUCCESS(status) ? normalizer : nullptr;
}

} // namespace

struct BpeTokenizer::Impl {
    PreTokenizer pre_tokenizer;
    std::vector<const icu::Normalizer2*> normalizers;
    MergeTable merges;
    std::unordered_map<std::string, TokenId> id_by_bytes; // the model vocabulary, keyed by raw bytes
    std::array<std::vector<TokenId>, 256> byte_symbols;   // what each byte starts as before merging
    AddedTokenMatcher raw_matcher;                        // added tokens with normalized = false
    AddedTokenMatcher normalized_matcher;                 // added tokens with normalized = true
    bool ignore_merges = false;

    explicit Impl(PreTokenizer pre) : pre_tokenizer(std::move(pre)) {}

    std::string normalize(std::string_view text) const {
        std::string result(text);
        for (const icu::Normalizer2* normalizer : normalizers) {
            UErrorCode status = U_ZERO_ERROR;
            const icu::UnicodeString normalized =
                normalizer->normalize(icu::UnicodeString::fromUTF8(result), status);
            if (U_FAILURE(status)) continue; // ICU fails only on allocation; keep the text as it was
            result.clear();
            normalized.toUTF8String(result);
        }
        return result;
    }

    void merge_piece(std::string_view piece, std::vector<Symbol>& symbols, std::vector<Candidate>& heap,
                     std::vector<TokenId>& out) const {
        if (ignore_merges) {
            const auto whole = id_by_bytes.find(std::string(piece));
            if (whole != id_by_bytes.end()) {
                out.push_back(whole->second);
                return;
            }
        }
        symbols.clear();
        for (const char byte : piece) {
            for (const TokenId id : byte_symbols[static_cast<unsigned char>(byte)]) {
                const int index = static_cast<int>(symbols.size());
                symbols.push_back({id, index - 1, index + 1});
            }
        }
        if (symbols.empty()) return;
        symbols.back().next = -1;

        heap.clear();
        auto consider = [&](int position) {
            const int next = symbols[position].next;
            if (next < 0) return;
            if (const Merge* merge = merges.find(symbols[position].id, symbols[next].id)) {
                heap.push_back(
                    {merge->rank, position, symbols[position].id, symbols[next].id, merge->merged});
                std::push_heap(heap.begin(), heap.end());
            }
        };
        for (int position = 0; position + 1 < static_cast<int>(symbols.size()); ++position)
            consider(position);

        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end());
            const Candidate candidate = heap.back();
            heap.pop_back();
            Symbol& left = symbols[candidate.position];
            // Stale when either side has merged since: its id (or the link) no longer matches.
            if (left.id != candidate.left || left.next < 0) continue;
            Symbol& right = symbols[left.next];
            if (right.id != candidate.right) continue;
            left.id = candidate.merged;
            right.id = -1; // a dead symbol never matches a candidate again
            left.next = right.next;
            if (left.next >= 0) symbols[left.next].prev = candidate.position;
            if (left.prev >= 0) consider(left.prev);
            consider(candidate.position);
        }
        for (int position = 0; position >= 0; position = symbols[position].next)
            out.push_back(symbols[position].id);
    }
};

BpeTokenizer::BpeTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

Result<BpeTokenizer> BpeTokenizer::create(TokenizerParts parts) {
    const std::string& source = parts.source;
    auto pre = PreTokenizer::create(std::move(parts.pre_tokenizer));
    if (!pre) return Error{source + ": " + pre.error()};
    auto impl = std::make_unique<Impl>(std::move(pre).value());
    impl->ignore_merges = parts.ignore_merges;
    for (const Normalization form : parts.normalizers) {
        const icu::Normalizer2* normalizer = icu_normalizer(form);
        if (!normalizer) return Error{source + ": ICU could not provide a Unicode normalizer"};
        impl->normalizers.push_back(normalizer);
    }

    std::size_t id_count = parts.vocab.size();
    for (const auto& added : parts.added_tokens) {
        if (added.id < 0) return Error{source + ": added token '" + added.content + "' has a negative id"};
        id_count = std::max(id_count, static_cast<std::size_t>(added.id) + 1);
    }
    BpeTokenizer tokenizer(std::move(impl));
    Impl& core = *tokenizer.impl_;
    tokenizer.token_bytes_.resize(id_count);
    tokenizer.special_.assign(id_count, false);

    core.id_by_bytes.reserve(parts.vocab.size());
    for (std::size_t id = 0; id < parts.vocab.size(); ++id) {
        const std::string& spelled = parts.vocab[id];
        if (spelled.empty()) continue;
        auto bytes = byte_level_to_bytes(spelled);
        // HF's ByteLevel decoder keeps a token with a character outside the alphabet as its UTF-8 text.
        std::string raw = bytes ? std::move(*bytes) : spelled;
        if (!core.id_by_bytes.emplace(raw, static_cast<TokenId>(id)).second) {
            return Error{source + ": the vocabulary lists '" + spelled + "' twice"};
        }
        tokenizer.token_bytes_[id] = std::move(raw);
    }

    // Merges name tokens by their spelling; look them up without allocating per merge.
    std::unordered_map<std::string_view, TokenId> id_by_spelling;
    id_by_spelling.reserve(parts.vocab.size());
    for (std::size_t id = 0; id < parts.vocab.size(); ++id) {
        if (!parts.vocab[id].empty()) id_by_spelling.emplace(parts.vocab[id], static_cast<TokenId>(id));
    }
    core.merges.reserve(parts.merges.size());
    std::string joined;
    for (std::size_t rank = 0; rank < parts.merges.size(); ++rank) {
        const auto& [left_spelled, right_spelled] = parts.merges[rank];
        joined.assign(left_spelled).append(right_spelled);
        const auto left = id_by_spelling.find(left_spelled);
        const auto right = id_by_spelling.find(right_spelled);
        const auto merged = id_by_spelling.find(joined);
        if (left == id_by_spelling.end() || right == id_by_spelling.end() || merged == id_by_spelling.end()) {
            return Error{source + ": merge " + std::to_string(rank) + " ('" + left_spelled + "' + '" +
                         right_spelled +
                         "') names a token that is not in the vocabulary; the file is damaged"};
        }
        core.merges.insert(left->second, right->second, {static_cast<std::uint32_t>(rank), merged->second});
    }

    for (unsigned byte = 0; byte < 256; ++byte) {
        auto& symbols = core.byte_symbols[byte];
        const auto it = core.id_by_bytes.find(std::string(1, static_cast<char>(byte)));
        if (it != core.id_by_bytes.end()) {
            symbols.push_back(it->second);
            continue;
        }
        if (parts.byte_fallback) {
            // HF falls back on the UTF-8 bytes of the character the model sees: the byte-level spelling.
            for (const char unit : bytes_to_byte_level(std::string(1, static_cast<char>(byte)))) {
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned char>(unit));
                const auto fallback = core.id_by_bytes.find(name);
                if (fallback == core.id_by_bytes.end()) {
                    symbols.clear();
                    break;
                }
                symbols.push_back(fallback->second);
            }
            if (!symbols.empty()) continue;
        }
        if (parts.unknown_token) symbols.push_back(*parts.unknown_token);
        // Otherwise HF drops the byte; so do we.
    }

    tokenizer.added_tokens_ = std::move(parts.added_tokens);
    std::vector<const AddedToken*> raw_tokens;
    std::vector<const AddedToken*> normalized_tokens;
    for (const AddedToken& added : tokenizer.added_tokens_) {
        auto bytes = byte_level_to_bytes(added.content);
        tokenizer.token_bytes_[added.id] = bytes ? std::move(*bytes) : added.content;
        tokenizer.special_[added.id] = added.special;
        tokenizer.added_by_content_.emplace(added.content, added.id);
        (added.normalized ? normalized_tokens : raw_tokens).push_back(&added);
    }
    core.raw_matcher = AddedTokenMatcher(raw_tokens);
    core.normalized_matcher = AddedTokenMatcher(normalized_tokens);
    return tokenizer;
}

std::vector<TokenId> BpeTokenizer::encode(std::string_view text, AddedTokens added) const {
    std::string repaired;
    if (!is_valid_utf8(text)) {
        append_valid_utf8(repaired, text);
        text = repaired;
    }
    const ByteRange whole{0, text.size()};
    return encode_with_markup(text, added == AddedTokens::Match ? std::span(&whole, 1)
                                                                : std::span<const ByteRange>());
}

std::vector<TokenId> BpeTokenizer::encode_with_markup(std::string_view text,
                                                      std::span<const ByteRange> markup) const {
    const Impl& core = *impl_;
    auto in_markup = [&](std::size_t begin, std::size_t end) {
        const auto after =
            std::upper_bound(markup.begin(), markup.end(), begin,
                             [](std::size_t offset, const ByteRange& range) { return offset < range.begin; });
        return after != markup.begin() && std::prev(after)->end >= end;
    };

    std::vector<TokenId> ids;
    ids.reserve(text.size() / 3);
    std::vector<PieceRange> pieces;
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    PieceCache cache;
    std::vector<TokenId> cached_ids;
    std::deque<std::string> normalized_texts; // the cache's keys point into these

    auto encode_pieces = [&](std::string_view segment) {
        pieces.clear();
        core.pre_tokenizer.split(segment, 0, pieces);
        for (const PieceRange& range : pieces) {
            std::string_view piece = segment.substr(range.begin, range.end - range.begin);
            const std::uint64_t hash = PieceCache::hash(piece);
            if (const PieceCache::Ids* hit = cache.find(piece, hash)) {
                ids.insert(ids.end(), cached_ids.begin() + hit->offset,
                           cached_ids.begin() + hit->offset + hit->count);
                continue;
            }
            const std::size_t first = cached_ids.size();
            core.merge_piece(piece, symbols, heap, cached_ids);
            cache.insert(
                piece, hash,
                {static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(cached_ids.size() - first)});
            ids.insert(ids.end(), cached_ids.begin() + first, cached_ids.end());
        }
    };

    // HF matches added tokens in two passes: those with normalized = false in the raw text, then those
    // with normalized = true in what lies between, after normalization.
    // After normalization, offsets no longer point into `text`: then a match counts as markup only when
    // its whole segment is.
    auto encode_text = [&](std::string_view segment, std::size_t base) {
        std::string_view normalized = segment;
        if (!core.normalizers.empty()) normalized = normalized_texts.emplace_back(core.normalize(segment));
        if (markup.empty()) {
            encode_pieces(normalized);
            return;
        }
        std::size_t done = 0;
        for (const AddedTokenMatch& match : core.normalized_matcher.find_all(normalized)) {
            const bool allowed = core.normalizers.empty() ? in_markup(base + match.begin, base + match.end)
                                                          : in_markup(base, base + segment.size());
            if (!allowed) continue;
            encode_pieces(normalized.substr(done, match.begin - done));
            ids.push_back(match.id);
            done = match.end;
        }
        encode_pieces(normalized.substr(done));
    };

    if (markup.empty()) {
        encode_text(text, 0);
        return ids;
    }
    std::size_t done = 0;
    for (const AddedTokenMatch& match : core.raw_matcher.find_all(text)) {
        if (!in_markup(match.begin, match.end)) continue;
        encode_text(text.substr(done, match.begin - done), done);
        ids.push_back(match.id);
        done = match.end;
    }
    encode_text(text.substr(done), done);
    return ids;
}

Result<std::string> BpeTokenizer::decode(std::span<const TokenId> ids, SpecialTokens special) const {
    std::string bytes;
    for (const TokenId id : ids) {
        if (!contains(id)) {
            return Error{"cannot decode token id " + std::to_string(id) + ": the vocabulary has ids 0 to " +
                         std::to_string(vocab_size() - 1)};
        }
        if (special == SpecialTokens::Skip && special_[id]) continue;
        bytes += token_bytes_[id];
    }
    if (is_valid_utf8(bytes)) return bytes;
    std::string text;
    append_valid_utf8(text, bytes);
    return text;
}

std::string_view BpeTokenizer::token_bytes(TokenId id) const {
    return contains(id) ? std::string_view(token_bytes_[id]) : std::string_view();
}

bool BpeTokenizer::is_special(TokenId id) const {
    return contains(id) && special_[id];
}

bool BpeTokenizer::contains(TokenId id) const {
    return id >= 0 && static_cast<std::size_t>(id) < token_bytes_.size();
}

std::optional<TokenId> BpeTokenizer::token_id(std::string_view written) const {
    if (const auto it = added_by_content_.find(std::string(written)); it != added_by_content_.end()) {
        return it->second;
    }
    const auto bytes = byte_level_to_bytes(written);
    if (!bytes) return std::nullopt;
    const auto it = impl_->id_by_bytes.find(*bytes);
    if (it == impl_->id_by_bytes.end()) return std::nullopt;
    return it->second;
}

} // namespace lectern::tokenizer
