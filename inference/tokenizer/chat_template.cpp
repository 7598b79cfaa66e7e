#include "inference/tokenizer/chat_template.h"

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

std::string render_deepseek_v4(std::span<const ChatMessage> messages, ThinkingMode mode,
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

    std::string prompt(kBos);
    for (std::size_t i = 0; i < turns.size(); ++i) {
        const ChatMessage& turn = turns[i];
        const auto index = static_cast<std::ptrdiff_t>(i);
        if (i == 0 && thinking && effort == ReasoningEffort::Max) prompt += kDeepSeekV4ReasoningEffortMax;
        switch (turn.role) {
        case Role::System:
            prompt += turn.content;
            break;
        case Role::User:
            prompt += kUser;
            prompt += turn.content;
            break;
        case Role::Assistant:
            // Only a turn after the last user turn keeps its reasoning; earlier ones lose it and their
            // </think> too (the </think> that opened them follows <｜Assistant｜>).
            if (thinking && index > last_user) {
                prompt += turn.reasoning;
                prompt += kThinkEnd;
            }
            prompt += turn.content;
            prompt += kEos;
            break;
        }
        const bool next_is_assistant = i + 1 < turns.size() && turns[i + 1].role == Role::Assistant;
        if (turn.role == Role::User && (i + 1 == turns.size() || next_is_assistant)) {
            prompt += kAssistant;
            prompt += thinking && index >= last_user ? kThinkStart : kThinkEnd;
        }
    }
    return prompt;
}

std::string render_chatml(std::span<const ChatMessage> messages, std::string_view default_system,
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
    std::string prompt;
    if (!messages.empty() && messages.front().role != Role::System) {
        prompt += "<|im_start|>system\n";
        prompt += default_system;
        prompt += "<|im_end|>\n";
    }
    for (const ChatMessage& message : messages) {
        prompt += "<|im_start|>";
        prompt += role_name(message.role);
        prompt += '\n';
        prompt += message.content;
        prompt += "<|im_end|>\n";
    }
    if (add_generation_prompt) prompt += "<|im_start|>assistant\n";
    return prompt;
}

} // namespace lectern::tokenizer
