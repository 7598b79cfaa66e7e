#include "app/answers/corpus.h"

#include <QFileInfo>

namespace lectern::answers {

Corpus::Corpus(QList<importers::Document> documents) : documents_(std::move(documents)) {
    for (int d = 0; d < documents_.size(); ++d) {
        const importers::Document& document = documents_[d];
        QHash<int, int> page_index; // page number -> index
        for (int i = 0; i < document.pages.size(); ++i) page_index.insert(document.pages[i].number, i);
        for (int p = 0; p < document.passages.size(); ++p) {
            const int page = page_index.value(document.passages[p].page, -1);
            markers_.push_back(MarkedPassage{int(markers_.size()) + 1, d, p, page});
            marker_by_id_.insert(document.passages[p].id, markers_.back().marker);
        }
    }
}

const MarkedPassage* Corpus::find(int marker) const {
    if (marker < 1 || marker > passageCount()) return nullptr;
    return &markers_[std::size_t(marker - 1)];
}

const importers::Document& Corpus::document(const MarkedPassage& marked) const {
    return documents_[marked.document];
}

const importers::Passage& Corpus::passage(const MarkedPassage& marked) const {
    return documents_[marked.document].passages[marked.passage];
}

const importers::Page* Corpus::page(const MarkedPassage& marked) const {
    if (marked.page < 0) return nullptr;
    return &documents_[marked.document].pages[marked.page];
}

Corpus Corpus::sideBySide(const Corpus& a, const QString& label_a, const Corpus& b, const QString& label_b) {
    Corpus both(a.documents_ + b.documents_);
    both.sides_ = {CorpusSide{label_a, 0, 1, a.passageCount()},
                   CorpusSide{label_b, int(a.documents_.size()), a.passageCount() + 1,
                              a.passageCount() + b.passageCount()}};
    return both;
}

int Corpus::sideOf(int document) const {
    for (int side = int(sides_.size()) - 1; side >= 0; --side)
        if (document >= sides_[std::size_t(side)].first_document) return side;
    return -1;
}

int Corpus::markerOf(const QString& passage_id) const {
    return marker_by_id_.value(passage_id, 0);
}

QString Corpus::documentName(int document) const {
    const importers::Document& doc = documents_[document];
    if (!doc.title.trimmed().isEmpty()) return doc.title.trimmed();
    return QFileInfo(doc.path).fileName();
}

} // namespace lectern::answers
