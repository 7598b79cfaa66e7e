#include "app/answers/comparison.h"

#include <QLocale>

namespace lectern::answers {
namespace {

const QString kLabelA = QStringLiteral("A");
const QString kLabelB = QStringLiteral("B");

QString number(std::int64_t value) {
    return QLocale(QLocale::English).toString(qlonglong(value));
}

ComparisonAnswer prepare(QString label, std::shared_ptr<const Corpus> corpus, AssembledPrompt prompt,
                         const PromptRenderer& renderer, QString prompt_version) {
    ComparisonAnswer answer{
        std::move(label), std::move(corpus), std::move(prompt), {}, std::move(prompt_version)};
    answer.rendered = renderer.render(answer.prompt);
    return answer;
}

} // namespace

QString toString(CompareMode mode) {
    return mode == CompareMode::Both ? QStringLiteral("both") : QStringLiteral("each");
}

std::optional<CompareMode> compareModeNamed(const QString& name) {
    if (name == QStringLiteral("each")) return CompareMode::Each;
    if (name == QStringLiteral("both")) return CompareMode::Both;
    return std::nullopt;
}

Result<ComparisonPlan> planComparison(const ComparisonCorpora& corpora, const QString& question,
                                      CompareMode mode, const PromptRenderer& renderer,
                                      std::int64_t context_tokens, std::int64_t answer_reserve) {
    for (const auto& [corpus, label] :
         {std::pair{corpora.a.get(), kLabelA}, std::pair{corpora.b.get(), kLabelB}})
        if (!corpus || corpus->passageCount() == 0)
            return Error{"Corpus " + label.toStdString() +
                         " has no imported documents, so there is nothing to compare: import documents into "
                         "it first."};
    const BudgetSettings budget{context_tokens, answer_reserve, renderer.templateTokens(0)};
    ComparisonPlan plan;

    std::optional<OverBudget> both_over;
    if (mode == CompareMode::Both) {
        Result<PromptTemplates> templates = PromptTemplates::loadComparison();
        if (!templates) return std::move(templates).take_error();
        auto both =
            std::make_shared<const Corpus>(Corpus::sideBySide(*corpora.a, kLabelA, *corpora.b, kLabelB));
        const PromptBuilder builder(*both, *templates, renderer.counter());
        auto assembled = builder.assemble(question, {}, budget);
        if (auto* prompt = std::get_if<AssembledPrompt>(&assembled)) {
            plan.mode = CompareMode::Both;
            plan.answers.push_back(prepare(kLabelA + u'+' + kLabelB, std::move(both), std::move(*prompt),
                                           renderer, templates->version));
            return plan;
        }
        both_over = std::get<OverBudget>(assembled);
    }

    Result<PromptTemplates> templates = PromptTemplates::load();
    if (!templates) return std::move(templates).take_error();
    std::int64_t side_tokens[2] = {0, 0};
    for (const auto& [corpus, label] : {std::pair{corpora.a, kLabelA}, std::pair{corpora.b, kLabelB}}) {
        const PromptBuilder builder(*corpus, *templates, renderer.counter());
        auto assembled = builder.assemble(question, {}, budget);
        if (const auto* over = std::get_if<OverBudget>(&assembled))
            return Error{("Corpus " + label + QStringLiteral(" alone does not fit: ") + over->message())
                             .toStdString()};
        AssembledPrompt& prompt = std::get<AssembledPrompt>(assembled);
        side_tokens[plan.answers.size()] = prompt.corpus_tokens;
        plan.answers.push_back(prepare(label, corpus, std::move(prompt), renderer, templates->version));
    }
    if (both_over)
        plan.fallback =
            QStringLiteral(
                "Corpora A and B together need %1 tokens with the instructions, but the model's "
                "context holds %2 tokens, of which %3 are kept for the answer and %4 go to the "
                "question and the chat format, which leaves %5. Corpus A alone needs %6 and corpus "
                "B %7, so each was asked on its own.")
                .arg(number(both_over->corpus_tokens), number(context_tokens), number(answer_reserve),
                     number(both_over->other_tokens), number(both_over->availableForCorpus()),
                     number(side_tokens[0]), number(side_tokens[1]));
    return plan;
}

QString sideOf(const ComparisonAnswer& answer, const VerifiedCitation& citation) {
    if (!citation.passage || !answer.corpus) return {};
    const int side = answer.corpus->sideOf(citation.passage->document);
    if (side < 0) return answer.label;
    return answer.corpus->sides()[std::size_t(side)].label;
}

QString sideOf(const ComparisonAnswer& answer, int marker) {
    const MarkedPassage* marked = answer.corpus ? answer.corpus->find(marker) : nullptr;
    const int side = marked ? answer.corpus->sideOf(marked->document) : -1;
    return side < 0 ? answer.label : answer.corpus->sides()[std::size_t(side)].label;
}

} // namespace lectern::answers
