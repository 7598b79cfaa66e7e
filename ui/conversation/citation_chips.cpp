#include "ui/conversation/citation_chips.h"

namespace lectern::ui {
namespace {

QString flagReason(const answers::VerifiedCitation& citation) {
    const int marker = citation.citation.marker;
    switch (citation.verification) {
    case answers::Verification::Exact:
    case answers::Verification::Normalized:
    case answers::Verification::Fuzzy:
        return {};
    case answers::Verification::NotFound:
        return QStringLiteral("the quoted words are not in passage P%1").arg(marker);
    case answers::Verification::NoQuote:
        return QStringLiteral("the answer names passage P%1 but quotes nothing from it").arg(marker);
    case answers::Verification::UnknownPassage:
        return QStringLiteral("there is no passage P%1 in this corpus").arg(marker);
    }
    return {};
}

} // namespace

CitationChip chipFor(const answers::VerifiedCitation& citation, const answers::Corpus& corpus) {
    CitationChip chip;
    chip.number = citation.citation.number;
    chip.quote = citation.citation.quote;
    chip.answerOffset = citation.citation.answer_offset;
    chip.flagged = !answers::isVerified(citation.verification);
    chip.flagReason = flagReason(citation);
    chip.verification = answers::toString(citation.verification);
    if (!citation.passage) return chip; // nowhere to go: the chip only says why
    const importers::Document& document = corpus.document(*citation.passage);
    const importers::Passage& passage = corpus.passage(*citation.passage);
    chip.documentTitle = corpus.documentName(citation.passage->document);
    chip.location.documentPath = document.path;
    chip.location.page = passage.page;
    if (answers::isVerified(citation.verification)) {
        chip.location.rects = citation.boxes;
        chip.location.range = citation.range;
    } else {
        // The quote was not found: show the passage the model pointed at, so the reader can judge.
        chip.location.rects = passage.boxes;
        chip.location.range = passage.range;
    }
    return chip;
}

std::optional<LookedAtPassage> lookedAtFor(const answers::LookedAtPassage& looked,
                                           const answers::Corpus& corpus) {
    const answers::MarkedPassage* marked = corpus.find(looked.marker);
    if (!marked) return std::nullopt;
    const importers::Passage& passage = corpus.passage(*marked);
    LookedAtPassage item;
    item.documentTitle = corpus.documentName(marked->document);
    item.excerpt = passage.text;
    item.location.documentPath = corpus.document(*marked).path;
    item.location.page = passage.page;
    item.location.rects = passage.boxes;
    item.location.range = passage.range;
    item.weight = looked.weight;
    item.cited = looked.cited;
    return item;
}

} // namespace lectern::ui
