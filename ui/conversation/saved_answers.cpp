#include "ui/conversation/saved_answers.h"

#include "app/answers/store_corpus.h"
#include "app/store/store.h"
#include "ui/conversation/citation_chips.h"

namespace lectern::ui {
namespace {

// Where [n] goes in the saved answer's text: the stored offset, when there is one and it lies in the text.
qsizetype savedOffset(const store::CitationRecord& record, const QString& answer) {
    return record.answerOffset && *record.answerOffset >= 0 && *record.answerOffset <= answer.size()
               ? *record.answerOffset
               : -1;
}

CitationChip savedChip(const store::CitationRecord& record, const answers::Corpus& corpus,
                       const QString& answer) {
    answers::VerifiedCitation citation;
    citation.citation.number = record.number;
    citation.citation.quote = record.quote;
    const int marker = corpus.markerOf(record.passageStableId);
    citation.citation.marker = marker;
    citation.passage = marker > 0 ? corpus.find(marker) : nullptr;
    if (!citation.passage) {
        CitationChip chip = chipFor(citation, corpus); // flagged as naming no passage
        chip.verification = store::citationStatusName(record.status);
        chip.flagged = true;
        chip.flagReason = QStringLiteral("the cited passage is no longer in this session's documents");
        chip.answerOffset = savedOffset(record, answer);
        return chip;
    }
    const importers::Passage& passage = corpus.passage(*citation.passage);
    const qsizetype length = passage.range.end - passage.range.start;
    const bool placed = record.status != store::CitationStatus::Unverified && record.range.start >= 0 &&
                        record.range.start < record.range.end && record.range.end <= length;
    if (placed) {
        citation.verification = record.status == store::CitationStatus::Partial
                                    ? answers::Verification::Fuzzy
                                    : answers::Verification::Exact;
        citation.range = {passage.range.start + record.range.start, passage.range.start + record.range.end};
        if (const importers::Page* page = corpus.page(*citation.passage))
            citation.boxes = answers::boxesFor(*page, citation.range);
    } else {
        citation.verification =
            record.quote.isEmpty() ? answers::Verification::NoQuote : answers::Verification::NotFound;
    }
    CitationChip chip = chipFor(citation, corpus);
    chip.answerOffset = savedOffset(record, answer);
    chip.verification = store::citationStatusName(record.status);
    return chip;
}

} // namespace

Result<qint64> saveAnswer(store::Store& store, qint64 conversation, qint64 corpus,
                          const answers::Corpus& answerCorpus, const QString& question,
                          const QString& modelId, const worker::AnswerOutcome& outcome) {
    store::MessageRecord record;
    record.question = question;
    record.answer = outcome.answer;
    record.thinking = outcome.thinking;
    record.modelId = modelId;
    record.prefillMs = outcome.prefill_seconds * 1000.0;
    record.decodeMs = outcome.decode_seconds * 1000.0;
    record.promptTokens = outcome.prompt_tokens;
    record.cachedTokens = outcome.cached_tokens;
    record.answerTokens = outcome.answer_tokens;
    record.corpus = corpus;
    for (const answers::VerifiedCitation& citation : outcome.citations)
        record.citations.append(answers::citationRecord(store, corpus, answerCorpus, citation));
    for (const answers::LookedAtPassage& looked : outcome.looked_at)
        record.lookedAt.append(answers::lookedAtRecord(store, corpus, looked));
    return store.saveMessage(conversation, record);
}

AnswerViewModel savedAnswerView(const store::MessageRecord& message, const answers::Corpus& corpus) {
    AnswerViewModel view;
    view.question = message.question;
    view.thinking = message.thinking;
    view.markdown = message.answer;
    for (const store::CitationRecord& citation : message.citations)
        view.citations.append(savedChip(citation, corpus, message.answer));
    for (const store::LookedAtRecord& looked : message.lookedAt) // a passage gone since is left out
        if (auto item = lookedAtFor({corpus.markerOf(looked.passageStableId), looked.passageStableId,
                                     looked.weight, looked.cited},
                                    corpus))
            view.lookedAt.append(*item);
    return view;
}

} // namespace lectern::ui
