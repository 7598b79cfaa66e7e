#include "app/answers/prompt_renderer.h"

#include <QCryptographicHash>

#include <charconv>

namespace lectern::answers {
namespace {

// Stands for segment i in the rendered template. Control characters never occur in a template's own
// text, and content never reaches the template: only these stand-ins do.
constexpr char kSegmentOpen = '\x01';
constexpr char kSegmentClose = '\x02';

std::string stand_in(std::size_t index) {
    return kSegmentOpen + std::to_string(index) + kSegmentClose;
}

tokenizer::ChatMessage::Role roleOf(PromptMessage::Role role) {
    switch (role) {
    case PromptMessage::Role::System:
        return tokenizer::ChatMessage::Role::System;
    case PromptMessage::Role::User:
        return tokenizer::ChatMessage::Role::User;
    case PromptMessage::Role::Assistant:
        return tokenizer::ChatMessage::Role::Assistant;
    }
    return tokenizer::ChatMessage::Role::User;
}

} // namespace

ChatFormat chatFormatFor(std::string_view model_family) {
    return model_family == "deepseek_v4" ? ChatFormat::DeepSeekV4 : ChatFormat::ChatMl;
}

bool thinksByDefault(ChatFormat format) {
    return format == ChatFormat::DeepSeekV4;
}

PromptRenderer::PromptRenderer(const tokenizer::BpeTokenizer& tokenizer, ChatFormat format, bool thinking)
    : tokenizer_(tokenizer), format_(format), thinking_(thinking && format == ChatFormat::DeepSeekV4) {}

TokenCounter PromptRenderer::counter() const {
    return [this](const QString& text) {
        return std::int64_t(tokenizer_.encode(text.toStdString(), tokenizer::AddedTokens::AsText).size());
    };
}

std::string PromptRenderer::renderTemplate(const std::vector<tokenizer::ChatMessage>& messages) const {
    if (format_ == ChatFormat::DeepSeekV4)
        return tokenizer::render_deepseek_v4(messages, thinking_ ? tokenizer::ThinkingMode::Thinking
                                                                 : tokenizer::ThinkingMode::Chat)
            .text();
    return tokenizer::render_chatml(messages, tokenizer::kSmolLm2DefaultSystem).text();
}

std::int64_t PromptRenderer::templateTokens(std::size_t history_turns) const {
    // Rendered as render() does it, with empty segments: the pieces between them are tokenized apart.
    using Role = tokenizer::ChatMessage::Role;
    std::vector<tokenizer::ChatMessage> messages{{Role::System, stand_in(0), {}}};
    for (std::size_t i = 0; i < history_turns; ++i) {
        messages.push_back({Role::User, stand_in(0), {}});
        messages.push_back({Role::Assistant, stand_in(0), {}});
    }
    messages.push_back({Role::User, stand_in(0), {}});
    const std::string text = renderTemplate(messages);
    std::int64_t tokens = 0;
    for (std::size_t at = 0; at <= text.size();) {
        const std::size_t open = text.find(kSegmentOpen, at);
        tokens += std::int64_t(
            tokenizer_.encode(std::string_view(text).substr(at, open - at), tokenizer::AddedTokens::Match)
                .size());
        if (open == std::string::npos) break;
        at = text.find(kSegmentClose, open) + 1;
    }
    return tokens;
}

RenderedPrompt PromptRenderer::render(const AssembledPrompt& prompt) const {
    std::vector<const PromptSegment*> segments;
    std::size_t prefix_segment = 0; // the first segment after the question-independent messages
    std::vector<tokenizer::ChatMessage> messages;
    for (std::size_t m = 0; m < prompt.messages.size(); ++m) {
        if (m == prompt.prefix_messages) prefix_segment = segments.size();
        tokenizer::ChatMessage message{roleOf(prompt.messages[m].role), {}, {}};
        for (const PromptSegment& segment : prompt.messages[m].segments) {
            message.content += stand_in(segments.size());
            segments.push_back(&segment);
        }
        messages.push_back(std::move(message));
    }
    if (prompt.prefix_messages >= prompt.messages.size()) prefix_segment = segments.size();

    RenderedPrompt rendered;
    rendered.thinking = thinking_;
    const std::string text = renderTemplate(messages);
    const auto append = [&](std::vector<tokenizer::TokenId> ids) {
        rendered.tokens.insert(rendered.tokens.end(), ids.begin(), ids.end());
    };
    bool prefix_known = false;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t open = text.find(kSegmentOpen, at);
        append(
            tokenizer_.encode(std::string_view(text).substr(at, open - at), tokenizer::AddedTokens::Match));
        if (open == std::string::npos) break;
        const std::size_t close = text.find(kSegmentClose, open);
        std::size_t index = 0;
        std::from_chars(text.data() + open + 1, text.data() + close, index);
        if (index == prefix_segment && !prefix_known) {
            rendered.prefix_tokens = rendered.tokens.size();
            prefix_known = true;
        }
        const std::size_t begin = rendered.tokens.size();
        append(tokenizer_.encode(segments[index]->text.toStdString(), tokenizer::AddedTokens::AsText));
        if (segments[index]->marker > 0)
            rendered.passages.push_back({segments[index]->marker, begin, rendered.tokens.size()});
        at = close + 1;
    }
    if (!prefix_known) rendered.prefix_tokens = rendered.tokens.size();
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(QByteArrayView(reinterpret_cast<const char*>(rendered.tokens.data()),
                                qsizetype(rendered.prefix_tokens * sizeof(tokenizer::TokenId))));
    rendered.prefix_hash = hash.result();
    return rendered;
}

} // namespace lectern::answers
