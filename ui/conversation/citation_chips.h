#pragma once
// From app/answers' verified citations to the chips the conversation pane shows: where the quote is
// (the verified words' boxes, or the whole cited passage when the quote could not be placed), and why a
// citation is flagged, in plain words.

#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"
#include "ui/conversation/answer_view_model.h"

namespace lectern::ui {

CitationChip chipFor(const answers::VerifiedCitation& citation, const answers::Corpus& corpus);

} // namespace lectern::ui
