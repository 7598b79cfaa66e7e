#pragma once
// Puts an assembled prompt (prompt.h) through the model's chat template and tokenizes it. The template's
// own text is tokenized with its control tokens; every segment of content (instructions, passages,
// questions, earlier answers) is tokenized on its own as plain text, so a document that contains
// "<|im_start|>" or "<｜User｜>" cannot forge a turn. Passages tokenized one by one also make the corpus
// prefix's tokens independent of the question, which the corpus cache relies on.

#include "app/answers/prompt.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "inference/tokenizer/chat_template.h"

#include <QByteArray>

#include <string_view>
#include <vector>

namespace lectern::answers {

enum class ChatFormat { DeepSeekV4, ChatMl };

// DeepSeek-V4 for its family; ChatML for the dense family (SmolLM2, the built-in default model).
ChatFormat chatFormatFor(std::string_view model_family);
// V4 answers in thinking mode unless told not to: its model card shows long-context retrieval roughly
// halves without it. Other formats have no thinking mode.
bool thinksByDefault(ChatFormat format);

// Where one passage (its marker and text) lies in the rendered tokens.
struct PassageTokens {
    int marker = 0;
    std::size_t begin = 0, end = 0; // token indices [begin, end)
};

struct RenderedPrompt {
    std::vector<tokenizer::TokenId> tokens;
    std::vector<PassageTokens> passages; // in prompt order (document order), ascending and disjoint
    std::size_t prefix_tokens = 0;       // the leading tokens that do not depend on the question: the corpus
    QByteArray prefix_hash;              // SHA-256 of those tokens: the corpus part of the cache key
    bool thinking = false;               // the answer starts inside the model's thinking
};

class PromptRenderer {
public:
    PromptRenderer(const tokenizer::BpeTokenizer& tokenizer, ChatFormat format, bool thinking);

    // Counts as render() tokenizes content: plain text, no control tokens.
    TokenCounter counter() const;
    // The chat template's own tokens for a conversation with `history_turns` earlier exchanges.
    std::int64_t templateTokens(std::size_t history_turns) const;

    RenderedPrompt render(const AssembledPrompt& prompt) const;

private:
    std::string renderTemplate(const std::vector<tokenizer::ChatMessage>& messages) const;

    const tokenizer::BpeTokenizer& tokenizer_;
    ChatFormat format_;
    bool thinking_;
};

} // namespace lectern::answers
