#pragma once
// The store's side of grounded answers: a corpus loaded from a session, and passages ranked for a
// question by the store's full-text index.

#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"
#include "app/answers/looked_at.h"
#include "app/answers/prompt.h"
#include "app/store/store.h"

#include <optional>

namespace lectern::answers {

// The imported documents of `session` (one corpus of it, or all), in the store's order: corpus label,
// then path. Failed, pending and duplicate files are not part of it.
Result<Corpus> loadCorpus(store::Store& store, qint64 session, std::optional<qint64> corpus = std::nullopt);

// A citation as the store keeps it: its passage found by stable id in `corpus` (the store's id of the
// corpus `answer_corpus` was loaded from), the quote's range relative to the passage when verified.
store::CitationRecord citationRecord(store::Store& store, qint64 corpus, const Corpus& answer_corpus,
                                     const VerifiedCitation& citation);
// A "looked at" passage as the store keeps it: its passage found by stable id in `corpus`.
store::LookedAtRecord lookedAtRecord(store::Store& store, qint64 corpus, const LookedAtPassage& looked);

// Ranks by the sum of each word's bm25 score, which is what bm25 gives a query that ORs the words (the
// store's search ANDs them: a whole question would rarely match anything).
class StoreRanker : public PassageRanker {
public:
    // The most hits taken per word: beyond this a word is too common to decide anything.
    static constexpr int kHitsPerWord = 2000;

    StoreRanker(store::Store& store, qint64 session, std::optional<qint64> corpus)
        : store_(store), session_(session), corpus_(corpus) {}

    Result<std::vector<QString>> rank(const QString& question) const override;

private:
    store::Store& store_;
    qint64 session_;
    std::optional<qint64> corpus_;
};

} // namespace lectern::answers
