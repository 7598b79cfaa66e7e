#pragma once
// Remembers the ids of each distinct piece during one encode call: real text repeats its words so much
// that most pieces are merged once and then copied. Open addressing on an XXH3 hash; the keys are views
// into the text being encoded, which outlives the cache.

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace lectern::tokenizer {

class PieceCache {
public:
    struct Ids {
        std::uint32_t offset; // into the caller's id store
        std::uint32_t count;
    };

    PieceCache() { slots_.resize(1024); }

    // The ids cached for `piece`, or nullptr; `hash` must be hash(piece) and is reused by insert().
    const Ids* find(std::string_view piece, std::uint64_t hash) const {
        for (std::size_t slot = hash & (slots_.size() - 1);; slot = (slot + 1) & (slots_.size() - 1)) {
            const Slot& entry = slots_[slot];
            if (!entry.data) return nullptr;
            if (entry.hash == hash && entry.size == piece.size() &&
                std::memcmp(entry.data, piece.data(), piece.size()) == 0) {
                return &entry.ids;
            }
        }
    }

    void insert(std::string_view piece, std::uint64_t hash, Ids ids) {
        if ((used_ + 1) * 2 > slots_.size()) grow();
        place({piece.data(), static_cast<std::uint32_t>(piece.size()), hash, ids});
        ++used_;
    }

    static std::uint64_t hash(std::string_view piece) { return XXH3_64bits(piece.data(), piece.size()); }

private:
    struct Slot {
        const char* data = nullptr;
        std::uint32_t size = 0;
        std::uint64_t hash = 0;
        Ids ids{0, 0};
    };

    void place(const Slot& entry) {
        std::size_t slot = entry.hash & (slots_.size() - 1);
        while (slots_[slot].data) slot = (slot + 1) & (slots_.size() - 1);
        slots_[slot] = entry;
    }

    void grow() {
        std::vector<Slot> old(slots_.size() * 2);
        old.swap(slots_);
        for (const Slot& entry : old) {
            if (entry.data) place(entry);
        }
    }

    std::vector<Slot> slots_;
    std::size_t used_ = 0;
};

} // namespace lectern::tokenizer
