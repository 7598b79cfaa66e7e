#pragma once
// Prompt assembly: the instructions and the corpus in document order with passage markers (the system
// turn, the same for every question, so the engine can cache it), then the earlier turns and the
// question. The result is a list of messages made of segments, not yet a chat template's text: the
// renderer (prompt_renderer.h) puts them through the model's template and tokenizes each segment on
// its own, so that document text can never forge a control token.
//
// Token budgeting: the prompt must fit the model's context minus the answer reserve. When the corpus
// does not, assemble() says so with the numbers, and the caller offers two ways on: choose documents
// (chooseDocuments) or let Lectern pick the passages most relevant to the question (pickRelevant);
// either selection carries a label that is shown with the answer.

#include "app/answers/corpus.h"
#include "kernels/result.h"

#include <QString>

#include <cstdint>
#include <functional>
#include <variant>
#include <vector>

namespace lectern::answers {

// The prompt texts (resources/prompts/), compiled in as Qt resources.
struct PromptTemplates {
    QString system;         // {{selection_note}}, {{corpus}}
    QString question;       // {{question}}
    QString selection_note; // {{label}}
    QString version;        // 16 hex digits of a hash over all three: part of the corpus cache key

    static Result<PromptTemplates> load();
    // For a question about the differences of two corpora shown side by side (Corpus::sideBySide):
    // compare_system.txt and compare_question.txt in place of system.txt and question.txt.
    static Result<PromptTemplates> loadComparison();

private:
    static Result<PromptTemplates> loadNamed(const QString& system_name, const QString& question_name);
};

struct PromptSegment {
    QString text;
    int marker = 0; // the passage this segment carries, 0 for other text
};

struct PromptMessage {
    enum class Role { System, User, Assistant };
    Role role = Role::User;
    std::vector<PromptSegment> segments;

    QString text() const; // the segments joined
};

struct Turn {
    QString question;
    QString answer;
};

struct CorpusSelection {
    enum class Kind { Whole, ChosenDocuments, RelevantPassages };
    Kind kind = Kind::Whole;
    std::vector<int> markers; // ascending; ignored for Whole
    QString label;            // empty for Whole; says what was left out otherwise
};

struct BudgetSettings {
    std::int64_t context_tokens = 0;  // the model's context
    std::int64_t answer_reserve = 0;  // kept free for the answer (and its thinking)
    std::int64_t template_tokens = 0; // the chat template's own tokens (the renderer knows them)
};

// Counts the tokens of one piece of text as the model's tokenizer would.
using TokenCounter = std::function<std::int64_t(const QString&)>;

struct AssembledPrompt {
    std::vector<PromptMessage> messages; // system, then earlier turns, then the question
    std::size_t prefix_messages = 1;     // the leading messages that do not depend on the question
    CorpusSelection selection;
    std::int64_t corpus_tokens = 0; // the system turn: instructions and passages
    std::int64_t total_tokens = 0;  // every message, plus the template's own tokens
};

struct DocumentCost {
    int document = 0; // index into Corpus::documents()
    QString name;
    std::int64_t tokens = 0; // its header and passages
};

struct OverBudget {
    BudgetSettings budget;
    std::int64_t corpus_tokens = 0; // the system turn with the selection asked for
    std::int64_t other_tokens = 0;  // earlier turns, the question and the template
    std::vector<DocumentCost> documents;

    std::int64_t availableForCorpus() const;
    QString message() const; // the numbers, and the two ways on
};

// Ranks passages for a question by full-text relevance (the store's FTS5 search): passage ids, best
// first; only passages that match at all.
class PassageRanker {
public:
    virtual ~PassageRanker() = default;
    virtual Result<std::vector<QString>> rank(const QString& question) const = 0;
};

class PromptBuilder {
public:
    PromptBuilder(const Corpus& corpus, PromptTemplates templates, TokenCounter count_tokens);

    std::variant<AssembledPrompt, OverBudget> assemble(const QString& question,
                                                       const std::vector<Turn>& history,
                                                       const BudgetSettings& budget,
                                                       const CorpusSelection& selection = {}) const;

    // The passages of the given documents (indices into Corpus::documents()).
    CorpusSelection chooseDocuments(const std::vector<int>& documents) const;
    // The most relevant passages that fit beside the question, kept in document order.
    Result<CorpusSelection> pickRelevant(const QString& question, const std::vector<Turn>& history,
                                         const BudgetSettings& budget, const PassageRanker& ranker) const;

    const PromptTemplates& templates() const { return templates_; }

private:
    struct Costs {
        std::int64_t instructions = 0; // the system turn without passages or document headers
        std::int64_t others = 0;       // history and question
    };
    std::vector<PromptSegment> corpusSegments(const CorpusSelection& selection) const;
    std::vector<PromptMessage> conversation(const QString& question, const std::vector<Turn>& history) const;
    QString systemText(const CorpusSelection& selection, bool before_corpus) const;
    std::int64_t segmentTokens(const PromptSegment& segment) const;
    Costs fixedCosts(const QString& question, const std::vector<Turn>& history,
                     const CorpusSelection& selection) const;
    std::vector<DocumentCost> documentCosts() const;

    const Corpus& corpus_;
    PromptTemplates templates_;
    TokenCounter count_tokens_;
    mutable std::vector<std::int64_t> passage_tokens_; // by marker - 1; -1 until counted
};

} // namespace lectern::answers
