#pragma once
// Chat prompts as the models were trained on them. DeepSeek-V4 has no Jinja template: its source of truth
// is the Python renderer encoding/encoding_dsv4.py (design note v4-architecture.md §8), reproduced here
// for system, user and assistant turns (tool calls are not rendered yet). SmolLM2 uses ChatML as its
// GGUF `tokenizer.chat_template` says.

#include "inference/tokenizer/bpe_tokenizer.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lectern::tokenizer {

// A rendered prompt that remembers which bytes the template wrote. encode() recognizes added tokens
// ("<｜User｜>", "<|im_end|>") only there, so a message or document that contains such a string cannot
// forge a turn; for messages free of them the ids equal encode(text()), i.e. HF's. No BOS is added:
// the templates write their own.
class ChatPrompt {
public:
    void add_markup(std::string_view text);
    void add_content(std::string_view text); // invalid UTF-8 is repaired to U+FFFD here

    const std::string& text() const { return text_; }
    std::vector<TokenId> encode(const BpeTokenizer& tokenizer) const;

private:
    std::string text_;
    std::vector<ByteRange> markup_;
};

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
ChatPrompt render_deepseek_v4(std::span<const ChatMessage> messages, ThinkingMode mode,
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
ChatPrompt render_chatml(std::span<const ChatMessage> messages, std::string_view default_system,
                         bool add_generation_prompt = true);

} // namespace lectern::tokenizer
