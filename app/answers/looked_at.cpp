#include "app/answers/looked_at.h"

#include <algorithm>

namespace lectern::answers {

QList<LookedAtPassage> lookedAtPassages(const inference::AttentionEvidence& evidence,
                                        const std::vector<PassageTokens>& passages, const Corpus& corpus,
                                        const std::vector<int>& cited_markers, qsizetype limit) {
    double total = 0.0;
    for (const inference::EvidenceRange& range : evidence.ranges) total += range.weight;
    if (total <= 0.0 || passages.empty()) return {};

    std::vector<double> mass(passages.size(), 0.0);
    for (const inference::EvidenceRange& range : evidence.ranges) {
        if (range.end <= range.begin) continue;
        const double per_token = range.weight / double(range.end - range.begin);
        // The first passage that ends after the range begins; passages are ascending and disjoint.
        auto it = std::upper_bound(
            passages.begin(), passages.end(), range.begin,
            [](std::int64_t at, const PassageTokens& p) { return at < std::int64_t(p.end); });
        for (; it != passages.end() && std::int64_t(it->begin) < range.end; ++it) {
            const std::int64_t overlap = std::min<std::int64_t>(range.end, std::int64_t(it->end)) -
                                         std::max<std::int64_t>(range.begin, std::int64_t(it->begin));
            if (overlap > 0) mass[std::size_t(it - passages.begin())] += per_token * double(overlap);
        }
    }

    QList<LookedAtPassage> looked;
    for (std::size_t i = 0; i < passages.size(); ++i) {
        const MarkedPassage* marked = corpus.find(passages[i].marker);
        if (mass[i] <= 0.0 || !marked) continue;
        const bool cited =
            std::find(cited_markers.begin(), cited_markers.end(), passages[i].marker) != cited_markers.end();
        looked.append({passages[i].marker, corpus.passage(*marked).id, mass[i] / total, cited});
    }
    std::stable_sort(looked.begin(), looked.end(),
                     [](const LookedAtPassage& a, const LookedAtPassage& b) { return a.weight > b.weight; });
    if (looked.size() > limit) looked.resize(limit);
    return looked;
}

} // namespace lectern::answers
