#pragma once
// Chat prompts as the models were trained on them. DeepSeek-V4 has no Jinja template: its source of truth
// is the Python renderer encoding/encoding_dsv4.py (design note v4-architecture.md §8), reproduced here
// for system, user and assistant turns (tool calls are not rendered yet). SmolLM2 uses ChatML as its
// GGUF `tokenizer.chat_template` says. Prompts are tokenized with AddedTokens::Match and no extra BOS.

#include <span>
#include <string>
#include <string_view>

namespace lectern::tokenizer {

struct ChatMessage {
    enum class Role { System, User, Assistant };
    Role role;
    std::string content;
    std::string reasoning; // an assistant turn's thinking; dropped from turns before the last user turn
};

enum class ThinkingMode { Chat, Thinking };
enum class ReasoningEffort { Default, High, Max };

// The fixed paragraph DeepSeek-V4's encoder puts first in thinking mode with reasoning effort "max".
inline constexpr std::string_view kDeepSeekV4ReasoningEffortMax =
    "Reasoning Effort: Absolute maximum with no shortcuts permitted.\n"
    "You MUST be very thorough in your thinking and comprehensively decompose the problem to resolve the "
    "root cause, rigorously stress-testing your logic against all potential paths, edge cases, and "
    "adversarial scenarios.\n"
    "Explicitly write out your entire deliberation process, documenting every intermediate step, considered "
    "alternative, and rejected hypothesis to ensure absolutely no assumption is left unchecked.\n\n";

// BOS, [effort paragraph], then each turn; after a final user turn comes <｜Assistant｜> and <think>
// (thinking) or </think> (chat). Consecutive user turns merge into one, joined by a blank line, as the
// reference's tool-message merging does.
std::string render_deepseek_v4(std::span<const ChatMessage> messages, ThinkingMode mode,
                               ReasoningEffort effort = ReasoningEffort::Default);

// SmolLM2-135M-Instruct's `tokenizer.chat_template`, verbatim: ChatML with a default system turn.
inline constexpr std::string_view kSmolLm2ChatTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' "
    "}}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
    "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

inline constexpr std::string_view kSmolLm2DefaultSystem =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

// ChatML: "<|im_start|>{role}\n{content}<|im_end|>\n" per turn, a `default_system` turn first when the
// conversation has none, and "<|im_start|>assistant\n" to ask for the answer.
std::string render_chatml(std::span<const ChatMessage> messages, std::string_view default_system,
                          bool add_generation_prompt = true);

} // namespace lectern::tokenizer
