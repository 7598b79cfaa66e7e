// lectern-cli generate --model M PROMPT [--max-tokens N] [--temperature T] [--seed N] [--top-p P] [--min-p
// P] [--backend auto|cpu|vulkan|cuda] [--gpu-layers N] [--experts device|host]: raw generation from a prompt
// (no chat template), streamed to stdout as it is made; the backend used (and why not another) goes to
// stderr.

#include "app/cli/cli.h"
#include "inference/engine/engine.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "inference/tokenizer/streaming_decoder.h"

#include <QJsonArray>

#include <cstdio>

namespace lectern::cli {
namespace {

std::optional<double> number(const Context& context, const QString& name, double fallback) {
    const auto text = context.args.value(name);
    if (!text) return fallback;
    bool ok = false;
    const double value = text->toDouble(&ok);
    if (!ok) return std::nullopt;
    return value;
}

int runGenerate(Context& context) {
    const auto model_path = context.args.value(QStringLiteral("model"));
    if (!model_path)
        return context.fail(
            Usage, QStringLiteral("generate needs --model (a checkpoint folder, a .gguf file or default)"));
    if (context.args.positional.size() != 1)
        return context.fail(Usage, QStringLiteral("generate takes one PROMPT (quote it)"));
    const auto max_tokens = number(context, QStringLiteral("max-tokens"), 128);
    const auto temperature = number(context, QStringLiteral("temperature"), 0.0);
    const auto seed = number(context, QStringLiteral("seed"), 0);
    const auto top_p = number(context, QStringLiteral("top-p"), 1.0);
    const auto min_p = number(context, QStringLiteral("min-p"), 0.0);
    if (!max_tokens || *max_tokens < 1 || !temperature || *temperature < 0 || !seed || *seed < 0 || !top_p ||
        *top_p <= 0 || *top_p > 1 || !min_p || *min_p < 0 || *min_p >= 1)
        return context.fail(Usage,
                            QStringLiteral("--max-tokens must be >= 1, --temperature >= 0, --seed >= 0, "
                                           "--top-p in (0, 1], --min-p in [0, 1)"));

    backend::Request request;
    if (const auto choice = context.args.value(QStringLiteral("backend"))) {
        auto parsed = backend::parse_choice(choice->toStdString());
        if (!parsed) return context.fail(Usage, QString::fromStdString(parsed.error()));
        request.choice = *parsed;
    }
    if (const auto layers = context.args.value(QStringLiteral("gpu-layers"))) {
        bool ok = false;
        request.gpu_layers = layers->toLongLong(&ok);
        if (!ok)
            return context.fail(Usage,
                                QStringLiteral("--gpu-layers must be a whole number (-1 for all that fit)"));
    }
    if (const auto experts = context.args.value(QStringLiteral("experts"))) {
        auto parsed = backend::parse_experts(experts->toStdString());
        if (!parsed) return context.fail(Usage, QString::fromStdString(parsed.error()));
        request.experts = *parsed;
    }

    auto engine = inference::Engine::load(model_path->toStdString(), {}, request);
    if (!engine) return context.fail(Failure, QString::fromStdString(engine.error()));
    inference::Engine& e = **engine;
    const backend::Status placed = e.backend();
    if (!context.json) {
        std::fprintf(stderr, "backend: %s on %s (%lld of %lld layers on the device%s)\n",
                     std::string(backend::kind_name(placed.kind)).c_str(), placed.device.c_str(),
                     static_cast<long long>(placed.device_layers), static_cast<long long>(placed.layers),
                     placed.experts == backend::ExpertPlacement::Host ? ", MoE experts on the host" : "");
        for (const std::string& reason : placed.fallbacks)
            std::fprintf(stderr, "  note: %s\n", reason.c_str());
    }
    const tokenizer::BpeTokenizer* tokens = e.tokenizer();
    if (!tokens)
        return context.fail(Failure,
                            QStringLiteral("the model at %1 has no tokenizer (tokenizer.json) to turn the "
                                           "prompt into tokens")
                                .arg(*model_path));
    std::vector<model::Token> prompt;
    if (e.info().prompt_starts_with_bos && e.info().bos_token >= 0) prompt.push_back(e.info().bos_token);
    for (const auto id :
         tokens->encode(context.args.positional.front().toStdString(), tokenizer::AddedTokens::Match))
        prompt.push_back(id);

    auto prefilled = e.prefill(prompt);
    if (!prefilled) return context.fail(Failure, QString::fromStdString(prefilled.error()));

    inference::GenerateOptions options;
    options.max_tokens = static_cast<std::int64_t>(*max_tokens);
    options.sampler = {static_cast<float>(*temperature), static_cast<float>(*top_p),
                       static_cast<float>(*min_p), static_cast<std::uint64_t>(*seed)};
    tokenizer::StreamingDecoder decoder(*tokens, tokenizer::SpecialTokens::Skip);
    std::string text;
    auto generated = e.generate(options, [&](model::Token token) {
        auto piece = decoder.push(token);
        if (piece) {
            text += *piece;
            if (!context.json) {
                std::fputs(piece->c_str(), stdout);
                std::fflush(stdout);
            }
        }
        return true;
    });
    if (!generated) return context.fail(Failure, QString::fromStdString(generated.error()));
    const std::string tail = decoder.finish();
    text += tail;
    const inference::EngineStats stats = e.stats();
    // Notes that came while running: a sequence that outgrew the GPU continued on the CPU.
    const backend::Status finished = e.backend();
    if (!context.json)
        for (std::size_t i = placed.fallbacks.size(); i < finished.fallbacks.size(); ++i)
            std::fprintf(stderr, "\n  %s\n", finished.fallbacks[i].c_str());
    if (context.json) {
        QJsonArray fallbacks;
        for (const std::string& reason : finished.fallbacks) fallbacks.append(QString::fromStdString(reason));
        QJsonArray ids;
        for (const model::Token id : generated->tokens) ids.append(id);
        context.printJson(
            {{QStringLiteral("text"), QString::fromStdString(text)},
             {QStringLiteral("tokens"), ids},
             {QStringLiteral("prompt_tokens"), static_cast<qint64>(prompt.size())},
             {QStringLiteral("generated_tokens"), static_cast<qint64>(generated->tokens.size())},
             {QStringLiteral("backend"),
              QString::fromUtf8(backend::kind_name(placed.kind).data(),
                                static_cast<qsizetype>(backend::kind_name(placed.kind).size()))},
             {QStringLiteral("device"), QString::fromStdString(placed.device)},
             {QStringLiteral("backend_fallbacks"), fallbacks},
             {QStringLiteral("experts"), placed.experts == backend::ExpertPlacement::Host
                                             ? QStringLiteral("host")
                                             : QStringLiteral("device")},
             {QStringLiteral("prefill_tokens_per_second"),
              stats.prefill_seconds > 0 ? static_cast<double>(stats.prefill_tokens) / stats.prefill_seconds
                                        : 0.0},
             {QStringLiteral("decode_tokens_per_second"),
              stats.decode_seconds > 0 ? static_cast<double>(stats.generated_tokens) / stats.decode_seconds
                                       : 0.0}});
    } else {
        std::fputs((tail + "\n").c_str(), stdout);
    }
    return Success;
}

} // namespace

Command generateCommand() {
    return {
        QStringLiteral("generate"),
        QStringLiteral(
            "generate --model M PROMPT [--max-tokens N] [--temperature T] [--seed N] [--backend B]"),
        QStringLiteral("raw generation from a prompt (temperature 0 = greedy); streams the text"),
        {{QStringLiteral("model"), true, QStringLiteral("checkpoint folder, .gguf file or default")},
         {QStringLiteral("max-tokens"), true, QStringLiteral("most tokens to generate (128)")},
         {QStringLiteral("temperature"), true, QStringLiteral("0 = greedy (default)")},
         {QStringLiteral("seed"), true, QStringLiteral("sampling seed (0)")},
         {QStringLiteral("top-p"), true, QStringLiteral("nucleus mass (1.0)")},
         {QStringLiteral("min-p"), true, QStringLiteral("drop tokens below this share of the top one (0)")},
         {QStringLiteral("backend"), true,
          QStringLiteral(
              "auto (default; or LECTERN_BACKEND), cpu, vulkan or cuda; falls back with the reason")},
         {QStringLiteral("gpu-layers"), true,
          QStringLiteral(
              "layers on the GPU, the last ones (default, or -1: all that fit in its free memory)")},
         {QStringLiteral("experts"), true,
          QStringLiteral("where MoE experts run with a GPU: device (default; or LECTERN_EXPERTS) or host "
                         "(kept in host memory, computed on the CPU)")}},
        runGenerate};
}

} // namespace lectern::cli
