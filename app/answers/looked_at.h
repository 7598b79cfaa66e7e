#pragma once
// "Looked at" passages: evidence from attention (inference/engine/attention_evidence.h) mapped onto the
// passages of the prompt. DeepSeek-V4's indexer chose compressed entries, each a short token range, for
// every answer token; each range's weight is spread evenly over its tokens and every passage gets the
// part that falls inside its own tokens (rendered by prompt_renderer.h). A passage's weight is its share
// of all the recorded weight, so it says how much of the indexer's attention, over the whole answer,
// went to it (the rest went to the instructions, the question and the answer's own tokens). Passages the
// answer cites are listed too, and marked.

#include "app/answers/corpus.h"
#include "app/answers/prompt_renderer.h"
#include "inference/engine/attention_evidence.h"

#include <QList>
#include <QMetaType>
#include <QString>

#include <vector>

namespace lectern::answers {

struct LookedAtPassage {
    int marker = 0;
    QString passage_id;  // importers::Passage::id
    double weight = 0.0; // share of the recorded attention weight, 0..1
    bool cited = false;  // the answer cites it as well
};

// Best first, at most `limit`, only passages with some weight. `passages` must be ascending and disjoint
// (as rendered); markers that name no passage of `corpus` are skipped.
QList<LookedAtPassage> lookedAtPassages(const inference::AttentionEvidence& evidence,
                                        const std::vector<PassageTokens>& passages, const Corpus& corpus,
                                        const std::vector<int>& cited_markers, qsizetype limit = 12);

} // namespace lectern::answers

Q_DECLARE_METATYPE(lectern::answers::LookedAtPassage)
