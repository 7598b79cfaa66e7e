#pragma once
// A corpus as the model sees it: documents in order, and every passage numbered by the marker that
// stands before it in the prompt ([P1], [P2], ... across the whole corpus, in document order). The
// numbers belong to the corpus, not to one prompt: a prompt that keeps only some passages keeps their
// numbers, so citations always resolve the same way.

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

class Corpus {
public:
    Corpus() = default;
    explicit Corpus(QList<importers::Document> documents);

    const QList<importers::Document>& documents() const { return documents_; }
    const std::vector<MarkedPassage>& markers() const { return markers_; }
    int passageCount() const { return int(markers_.size()); }

    // nullptr when no passage carries this marker.
    const MarkedPassage* find(int marker) const;
    const importers::Document& document(const MarkedPassage& marked) const;
    const importers::Passage& passage(const MarkedPassage& marked) const;
    const importers::Page* page(const MarkedPassage& marked) const; // nullptr when missing
    QString documentName(int document) const;                       // its title, or else its file name
    // 0 when no passage has this id.
    int markerOf(const QString& passage_id) const;

private:
    QList<importers::Document> documents_;
    std::vector<MarkedPassage> markers_;
    QHash<QString, int> marker_by_id_;
};

} // namespace lectern::answers
