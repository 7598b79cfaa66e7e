#pragma once
// Comparison: one question about the two corpora of a session (A and B).
//   each  the question is asked of corpus A, then of corpus B: two answers, each from its own corpus
//         prefix (and corpus cache), its citations verified against its own corpus;
//   both  one prompt holds both corpora side by side (Corpus::sideBySide: B's passage markers continue
//         A's) and asks about their differences; each citation lands on the side its marker belongs to.
//         When A and B together do not fit the model's context minus the answer reserve, the plan
//         falls back to "each" and says why, with the numbers.

#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"
#include "app/answers/prompt.h"
#include "app/answers/prompt_renderer.h"

#include <QString>

#include <memory>
#include <optional>
#include <vector>

namespace lectern::answers {

enum class CompareMode { Each, Both };

QString toString(CompareMode mode); // "each", "both"
std::optional<CompareMode> compareModeNamed(const QString& name);

// One answer of a comparison, ready for the worker.
struct ComparisonAnswer {
    QString label;                        // "A" or "B" (mode each), "A+B" (mode both)
    std::shared_ptr<const Corpus> corpus; // its citations are verified against this
    AssembledPrompt prompt;
    RenderedPrompt rendered;
    QString prompt_version; // with the model and rendered.prefix_hash, its corpus cache key
};

struct ComparisonPlan {
    CompareMode mode = CompareMode::Each;  // as it will run
    QString fallback;                      // why "both" runs as "each", with the numbers; else empty
    std::vector<ComparisonAnswer> answers; // A, then B; or the one answer about both
};

struct ComparisonCorpora {
    std::shared_ptr<const Corpus> a;
    std::shared_ptr<const Corpus> b;
};

// Both corpora must have passages. Fails, with the numbers, when a corpus alone does not fit.
Result<ComparisonPlan> planComparison(const ComparisonCorpora& corpora, const QString& question,
                                      CompareMode mode, const PromptRenderer& renderer,
                                      std::int64_t context_tokens, std::int64_t answer_reserve);

// The corpus ("A" or "B") a citation of `answer` lands on; empty when its marker names no passage.
QString sideOf(const ComparisonAnswer& answer, const VerifiedCitation& citation);
// The same for the passage carrying `marker` (a looked-at passage); the answer's label when none does.
QString sideOf(const ComparisonAnswer& answer, int marker);

} // namespace lectern::answers
