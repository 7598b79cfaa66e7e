#pragma once
// From app/answers' verified citations to the chips the conversation pane shows: where the quote is
// (the verified words' boxes, or the whole cited passage when the quote could not be placed), and why a
// citation is flagged, in plain words. Also the "looked at" passages (answers/looked_at.h) as listed.

#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"
#include "app/answers/looked_at.h"
#include "ui/conversation/answer_view_model.h"

#include <optional>

namespace lectern::ui {

CitationChip chipFor(const answers::VerifiedCitation& citation, const answers::Corpus& corpus);
// The passage's whole range (boxes on paged formats); null when its marker names no passage.
std::optional<LookedAtPassage> lookedAtFor(const answers::LookedAtPassage& looked,
                                           const answers::Corpus& corpus);

} // namespace lectern::ui
