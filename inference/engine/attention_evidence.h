#pragma once
// Evidence from attention: which stretches of the sequence a sparse-attention model looked at while it
// generated. DeepSeek-V4's lightning indexer picks, for every token in every CSA layer, the top-k
// compressed KV entries the attention will read; each entry stands for a short span of token positions.
// The recorder adds those choices up per entry, so the app can map them to the passages of the prompt.
//
// Weight: per (token, layer) selection, the softmax of the indexer scores over the chosen entries (each
// selection adds 1 in all). The indexer is trained so that this softmax approximates the attention's
// distribution over the entries (DeepSeek-V3.2's KL objective), and unlike a count of selections it
// still tells entries apart when the context has fewer entries than k (then every entry is chosen).
// The selection count is kept beside it.

#include "inference/model/model.h"

#include <cstdint>
#include <vector>

namespace lectern::inference {

struct EvidenceRange {
    std::int64_t begin = 0, end = 0; // token positions [begin, end) of one compressed entry
    std::int64_t selections = 0;     // (token, layer) selections that chose it
    double weight = 0.0;             // its share of those selections' indexer softmax mass
};

struct AttentionEvidence {
    bool available = false;            // the model reports indexer selections (DeepSeek-V4); false for dense
    std::int64_t tokens = 0;           // generated tokens whose selections were recorded
    std::int64_t selections = 0;       // (token, layer) selections recorded; the weights sum to this
    std::vector<EvidenceRange> ranges; // every entry chosen at least once, by begin; entries may overlap
};

class EvidenceRecorder final : public model::IndexerObserver {
public:
    void observe(const model::IndexerSelection& selection) override;
    void clear();
    AttentionEvidence evidence(bool available) const;

private:
    struct Entry {
        std::int64_t selections = 0;
        double weight = 0.0;
    };
    // Entries of one layout (stride, lookback); V4's CSA layers all share one.
    struct Grid {
        std::int64_t stride = 0, lookback = 0;
        std::vector<Entry> entries; // by entry index
    };

    std::vector<Grid> grids_;
    std::vector<float> softmax_; // scratch
    std::int64_t selections_ = 0;
    std::int64_t tokens_ = 0;
    std::int64_t last_position_ = -1;
};

} // namespace lectern::inference
