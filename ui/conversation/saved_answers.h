#pragma once
// Answers kept in the store and shown again: what the conversation pane saves when an answer is complete
// (the same records lectern-cli ask writes: question, answer, thinking, token counts, citations with
// passage, range and verification, the passages looked at), and the pane's view of a saved
// conversation when its session is reopened, each citation resolved against the session's corpus as it
// is now.

#include "app/answers/corpus.h"
#include "app/store/records.h"
#include "app/worker/inference_worker.h"
#include "ui/conversation/answer_view_model.h"

#include <QList>
#include <QString>

namespace lectern::store {
class Store;
}

namespace lectern::ui {

// Saves a complete answer to `conversation`; `corpus` is the store's id of the corpus `answerCorpus`
// was loaded from. Returns the message's id.
Result<qint64> saveAnswer(store::Store& store, qint64 conversation, qint64 corpus,
                          const answers::Corpus& answerCorpus, const QString& question,
                          const QString& modelId, const worker::AnswerOutcome& outcome);

// A saved answer as the pane shows it: each [n] where it stood in the text (answers saved before the
// store kept that come back as chips under the answer only). A verified quote opens on its words again; one
// whose passage is gone from the corpus since is flagged and says so.
AnswerViewModel savedAnswerView(const store::MessageRecord& message, const answers::Corpus& corpus);

} // namespace lectern::ui
