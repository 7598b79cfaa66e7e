#include "inference/tokenizer/chat_template.h"

#include "inference/tokenizer/utf8.h"

#include <vector>

namespace lectern::tokenizer {
namespace {

constexpr std::string_view kBos = "<｜begin▁of▁sentence｜>";
constexpr std::string_view kEos = "<｜end▁of▁sentence｜>";
constexpr std::string_view kUser = "<｜User｜>";
constexpr std::string_view kAssistant = "<｜Assistant｜>";
constexpr std::string_view kThinkStart = "<think>";
constexpr std::string_view kThinkEnd = "</think>";

using Role = ChatMessage::Role;

} // namespace

void ChatPrompt::add_markup(std::string_view text) {
    if (text.empty()) return;
    const std::size_t begin = text_.size();
    text_ += text;
    if (!markup_.empty() && markup_.back().end == begin) {
        markup_.back().end = text_.size();
    } else {
        markup_.push_back({begin, text_.size()});
    }
}

void ChatPrompt::add_content(std::string_view text) {
    append_valid_utf8(text_, text);
}

std::vector<TokenId> ChatPrompt::encode(const BpeTokenizer& tokenizer) const {
    return tokenizer.encode_with_markup(text_, markup_);
}

ChatPrompt render_deepseek_v4(std::span<const ChatMessage> messages, ThinkingMode mode,
                              ReasoningEffort effort) {
    std::vector<ChatMessage> turns;
    for (const ChatMessage& message : messages) {
        if (message.role == Role::User && !turns.empty() && turns.back().role == Role::User) {
            turns.back().content += "\n\n" + message.content;
        } else {
            turns.push_back(message);
        }
    }
    std::ptrdiff_t last_user = -1;
    for (std::size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].role == Role::User) last_user = static_cast<std::ptrdiff_t>(i);
    }
    const bool thinking = mode == ThinkingMode::Thinking;

    ChatPrompt prompt;
    prompt.add_markup(kBos);
    for (std::size_t i = 0; i < turns.size(); ++i) {
        const ChatMessage& turn = turns[i];
        const auto index = static_cast<std::ptrdiff_t>(i);
        if (i == 0 && thinking && effort == ReasoningEffort::Max)
            prompt.add_markup(kDeepSeekV4ReasoningEffortMax);
        switch (turn.role) {
        case Role::System:
            prompt.add_content(turn.content);
            break;
        case Role::User:
            prompt.add_markup(kUser);
            prompt.add_content(turn.content);
            break;
        case Role::Assistant:
            // Only a turn after the last user turn keeps its reasoning; earlier ones lose it and their
            // </think> too (the </think> that opened them follows <｜Assistant｜>).
            if (thinking && index > last_user) {
                prompt.add_content(turn.reasoning);
                prompt.add_markup(kThinkEnd);
            }
            prompt.add_content(turn.content);
            prompt.add_markup(kEos);
            break;
        }
        const bool next_is_assistant = i + 1 < turns.size() && turns[i + 1].role == Role::Assistant;
        if (turn.role == Role::User && (i + 1 == turns.size() || next_is_assistant)) {
            prompt.add_markup(kAssistant);
            prompt.add_markup(thinking && index >= last_user ? kThinkStart : kThinkEnd);
        }
    }
    return prompt;
}

ChatPrompt render_chatml(std::span<const ChatMessage> messages, std::string_view default_system,
                         bool add_generation_prompt) {
    auto role_name = [](Role role) -> std::string_view {
        switch (role) {
        case Role::System:
            return "system";
        case Role::User:
            return "user";
        case Role::Assistant:
            return "assistant";
        }
        return "user";
    };
    ChatPrompt prompt;
    if (!messages.empty() && messages.front().role != Role::System) {
        prompt.add_markup("<|im_start|>system\n");
        prompt.add_markup(default_system);
        prompt.add_markup("<|im_end|>\n");
    }
    for (const ChatMessage& message : messages) {
        prompt.add_markup("<|im_start|>");
        prompt.add_markup(role_name(message.role));
        prompt.add_markup("\n");
        prompt.add_content(message.content);
        prompt.add_markup("<|im_end|>\n");
    }
    if (add_generation_prompt) prompt.add_markup("<|im_start|>assistant\n");
    return prompt;
}

} // namespace lectern::tokenizer
