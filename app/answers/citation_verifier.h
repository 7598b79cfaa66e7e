#pragma once
// Checks each citation's quote against the passage it cites and maps it to the source: a character
// range in the page text and the page boxes of the words in it. Tiers, first that holds wins:
//   exact       the quote occurs verbatim;
//   normalized  it occurs after folding case, white space, line-end hyphenation, typographic quotes and
//               dashes, ligatures (folded_text.h); "..." in a quote may skip text, pieces in order;
//   fuzzy       the best local alignment (character edit distance, semi-global) has a similarity of at
//               least kFuzzyThreshold, and every word that carries meaning (3+ characters, or any
//               digit) on either side has a counterpart on the other, equal or within OCR-like slips
//               (<= 40% edits; numbers exactly); quotes shorter than kFuzzyMinLength never match fuzzily.
// A citation that fails all three is kept and flagged `not-found`; one whose marker names no passage
// is kept and flagged `unknown-passage`. The search covers the cited passage and kContextSlack
// characters of page text on each side, since a quote may run over a passage boundary; a match must
// overlap the cited passage.

#include "app/answers/citation_parser.h"
#include "app/answers/corpus.h"

#include <QList>
#include <QRectF>

namespace lectern::answers {

enum class Verification { Exact, Normalized, Fuzzy, NotFound, NoQuote, UnknownPassage };

QString toString(Verification verification); // "exact", "normalized", "fuzzy", "not-found", ...
bool isVerified(Verification verification);  // exact, normalized or fuzzy

struct VerifiedCitation {
    Citation citation;
    Verification verification = Verification::NotFound;
    double similarity = 0.0; // 1 for exact and normalized; the alignment's for fuzzy and not-found
    const MarkedPassage* passage = nullptr; // null for unknown-passage
    importers::TextRange range;             // in the page text; empty unless verified
    QList<QRectF> boxes;                    // merged per line; empty for reflowable pages
};

class CitationVerifier {
public:
    // 1 - edits/length. 0.85 takes OCR slips and typos (a few characters per sentence) and rejects
    // fabrication and paraphrase, which score 0.37-0.83 against the passage they claim (printed by
    // tests/answers/citation_verifier_test.cpp). One changed word keeps 0.86-0.96, hence the word check.
    static constexpr double kFuzzyThreshold = 0.85;
    // Below ~20 folded characters an alignment within 15% is 2-3 edits, which chance text meets.
    static constexpr qsizetype kFuzzyMinLength = 20;
    static constexpr qsizetype kContextSlack = 200;

    explicit CitationVerifier(const Corpus& corpus) : corpus_(corpus) {}

    VerifiedCitation verify(const Citation& citation) const;

private:
    const Corpus& corpus_;
};

// The rects of the words overlapping `range`, merged into one rect per run of words on a line.
QList<QRectF> boxesFor(const importers::Page& page, importers::TextRange range);

} // namespace lectern::answers
