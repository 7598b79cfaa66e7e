#include "app/answers/store_corpus.h"

#include <QHash>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace lectern::answers {

Result<Corpus> loadCorpus(store::Store& store, qint64 session, std::optional<qint64> corpus) {
    Result<QList<store::DocumentInfo>> listed = store.documents(store::DocumentFilter{session, corpus});
    if (!listed) return std::move(listed).take_error();
    QList<importers::Document> documents;
    for (const store::DocumentInfo& info : *listed) {
        if (info.state != store::ImportState::Imported) continue;
        Result<importers::Document> document = store.loadDocument(info.id);
        if (!document) return std::move(document).take_error();
        documents.append(std::move(*document));
    }
    return Corpus(std::move(documents));
}

store::CitationRecord citationRecord(store::Store& store, qint64 corpus, const Corpus& answer_corpus,
                                     const VerifiedCitation& citation) {
    store::CitationRecord record;
    record.number = citation.citation.number;
    record.quote = citation.citation.quote;
    record.answerOffset = citation.citation.answer_offset;
    record.status = citation.verification == Verification::Fuzzy ? store::CitationStatus::Partial
                    : isVerified(citation.verification)          ? store::CitationStatus::Verified
                                                                 : store::CitationStatus::Unverified;
    if (!citation.passage) return record;
    const importers::Passage& passage = answer_corpus.passage(*citation.passage);
    record.passageStableId = passage.id;
    // A stored citation with no passage row is what the store keeps for a passage deleted since.
    if (auto stored = store.passageByStableId(corpus, passage.id); stored && *stored)
        record.passage = (*stored)->id;
    if (isVerified(citation.verification))
        record.range = {citation.range.start - passage.range.start, citation.range.end - passage.range.start};
    return record;
}

store::LookedAtRecord lookedAtRecord(store::Store& store, qint64 corpus, const LookedAtPassage& looked) {
    store::LookedAtRecord record;
    record.passageStableId = looked.passage_id;
    record.weight = looked.weight;
    record.cited = looked.cited;
    if (auto stored = store.passageByStableId(corpus, looked.passage_id); stored && *stored)
        record.passage = (*stored)->id;
    return record;
}

Result<std::vector<QString>> StoreRanker::rank(const QString& question) const {
    static const QRegularExpression word_pattern(QStringLiteral("[\\p{L}\\p{N}]+"));
    QSet<QString> words;
    for (auto it = word_pattern.globalMatch(question); it.hasNext();) {
        const QString word = it.next().captured(0).toCaseFolded();
        // Two-letter words carry little and cost a scan in the store (its trigram index needs three).
        if (word.size() >= 3 || std::any_of(word.begin(), word.end(), [](QChar c) { return c.isDigit(); }))
            words.insert(word);
    }
    QHash<QString, double> scores; // stable passage id -> summed score
    for (const QString& word : words) {
        store::SearchQuery query;
        query.session = session_;
        query.corpus = corpus_;
        query.text = u'"' + word + u'"';
        query.limit = kHitsPerWord;
        Result<store::SearchResults> results = store_.search(query);
        if (!results) return std::move(results).take_error();
        for (const store::SearchHit& hit : results->hits) scores[hit.stableId] += hit.score;
    }
    std::vector<std::pair<double, QString>> ranked;
    for (auto it = scores.cbegin(); it != scores.cend(); ++it) ranked.push_back({it.value(), it.key()});
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<QString> ids;
    for (const auto& [score, id] : ranked) ids.push_back(id);
    return ids;
}

} // namespace lectern::answers
