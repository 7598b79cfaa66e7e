#pragma once
// Passages: each page's text split at paragraph and sentence boundaries into pieces of about a target
// token count. Passages never cross pages, never include running headers/footers, and carry their
// page's character range and line-merged boxes.

#include "importers/document.h"

namespace lectern::importers {

// A cheap, tokenizer-free estimate (about four characters per token in English prose).
int estimateTokens(QStringView text);

// Replaces document.passages. Ids are "<first 16 hex digits of contentHash>:<ordinal>".
void chunkDocument(Document& document, int targetTokens);

} // namespace lectern::importers
