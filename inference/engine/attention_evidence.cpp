#include "inference/engine/attention_evidence.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lectern::inference {

void EvidenceRecorder::observe(const model::IndexerSelection& selection) {
    if (selection.chosen.empty() || selection.entry_stride <= 0 ||
        static_cast<std::size_t>(selection.chosen.back()) >= selection.scores.size())
        return;
    if (selection.position > last_position_) { // layers repeat the positions of a multi-token call
        ++tokens_;
        last_position_ = selection.position;
    }
    ++selections_;

    auto grid = std::find_if(grids_.begin(), grids_.end(), [&](const Grid& g) {
        return g.stride == selection.entry_stride && g.lookback == selection.entry_lookback;
    });
    if (grid == grids_.end())
        grid = grids_.insert(grids_.end(), Grid{selection.entry_stride, selection.entry_lookback, {}});
    const auto last = static_cast<std::size_t>(selection.chosen.back()); // chosen is ascending
    if (grid->entries.size() <= last) grid->entries.resize(last + 1);

    float top = -std::numeric_limits<float>::infinity();
    for (const std::int64_t j : selection.chosen)
        top = std::max(top, selection.scores[static_cast<std::size_t>(j)]);
    softmax_.resize(selection.chosen.size());
    float sum = 0.0f;
    for (std::size_t i = 0; i < selection.chosen.size(); ++i) {
        softmax_[i] = std::exp(selection.scores[static_cast<std::size_t>(selection.chosen[i])] - top);
        sum += softmax_[i];
    }
    for (std::size_t i = 0; i < selection.chosen.size(); ++i) {
        Entry& entry = grid->entries[static_cast<std::size_t>(selection.chosen[i])];
        ++entry.selections;
        entry.weight += static_cast<double>(softmax_[i] / sum);
    }
}

void EvidenceRecorder::clear() {
    grids_.clear();
    selections_ = 0;
    tokens_ = 0;
    last_position_ = -1;
}

AttentionEvidence EvidenceRecorder::evidence(bool available) const {
    AttentionEvidence out;
    out.available = available;
    out.tokens = tokens_;
    out.selections = selections_;
    for (const Grid& grid : grids_) {
        for (std::size_t j = 0; j < grid.entries.size(); ++j) {
            const Entry& entry = grid.entries[j];
            if (entry.selections == 0) continue;
            const auto index = static_cast<std::int64_t>(j);
            out.ranges.push_back({std::max<std::int64_t>(0, index * grid.stride - grid.lookback),
                                  (index + 1) * grid.stride, entry.selections, entry.weight});
        }
    }
    std::stable_sort(out.ranges.begin(), out.ranges.end(),
                     [](const EvidenceRange& a, const EvidenceRange& b) { return a.begin < b.begin; });
    return out;
}

} // namespace lectern::inference
