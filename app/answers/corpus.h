#pragma once
// A corpus as the model sees it: documents in order, and every passage numbered by the marker that
// stands before it in the prompt ([P1], [P2], ... across the whole corpus, in document order). The
// numbers belong to the corpus, not to one prompt: a prompt that keeps only some passages keeps their
// numbers, so citations always resolve the same way.
//
// Two corpora compared in one prompt are one Corpus with two sides: B's documents follow A's and B's
// passages continue A's numbering, so every marker names one passage of one side (README.md).

#include "importers/document.h"

#include <QHash>
#include <QList>

#include <vector>

namespace lectern::answers {

struct MarkedPassage {
    int marker = 0;   // from 1
    int document = 0; // index into Corpus::documents()
    int passage = 0;  // index into that document's passages
    int page = -1;    // index into that document's pages; -1 when the passage names a page it lacks
};

// One of the corpora of a side-by-side corpus.
struct CorpusSide {
    QString label;          // "A" or "B"
    int first_document = 0; // its documents run up to the next side's first
    int first_marker = 1;
    int last_marker = 0; // first_marker - 1 when it has no passages
};

class Corpus {
public:
    Corpus() = default;
    explicit Corpus(QList<importers::Document> documents);
    // Both corpora as one, `a`'s side first (their labels, e.g. "A" and "B").
    static Corpus sideBySide(const Corpus& a, const QString& label_a, const Corpus& b,
                             const QString& label_b);

    const QList<importers::Document>& documents() const { return documents_; }
    const std::vector<MarkedPassage>& markers() const { return markers_; }
    int passageCount() const { return int(markers_.size()); }

    // nullptr when no passage carries this marker.
    const MarkedPassage* find(int marker) const;
    const importers::Document& document(const MarkedPassage& marked) const;
    const importers::Passage& passage(const MarkedPassage& marked) const;
    const importers::Page* page(const MarkedPassage& marked) const; // nullptr when missing
    QString documentName(int document) const;                       // its title, or else its file name
    // 0 when no passage has this id. In a side-by-side corpus the same id may name a passage on each
    // side (one file in both corpora): this gives the last.
    int markerOf(const QString& passage_id) const;

    // Empty for a single corpus.
    const std::vector<CorpusSide>& sides() const { return sides_; }
    // The side a document belongs to (index into sides()); -1 for a single corpus.
    int sideOf(int document) const;

private:
    QList<importers::Document> documents_;
    std::vector<MarkedPassage> markers_;
    QHash<QString, int> marker_by_id_;
    std::vector<CorpusSide> sides_;
};

} // namespace lectern::answers
