// The dense graph's CUDA half (DenseCudaGraph) on the host emulation of CUDA (tests/cuda_emulation), which
// needs no GPU: the built-in default model (SmolLM2-135M Q4_1) with every layer and the
// head in the CUDA half, against the CPU backend on the same tokens: the argmax of every row of a prompt
// equal, logits within the bound of the Vulkan and CUDA device tests (tests/vulkan/dense_against_cpu.h),
// then one decode step at the next position and one after the cache is cloned. It checks the graph's
// wiring and every kernel it runs; a GPU's own behaviour is for dense_model_cuda. Skipped (77) without
// the model.

#include "inference/formats/gguf.h"
#include "inference/model/default_model.h"
#include "inference/model/dense/dense_cuda.h"
#include "inference/model/dense/dense_model.h"
#include "inference/tokenizer/bpe_tokenizer.h"
#include "kernels/cpu/graph_ops.h"
#include "kernels/cpu/quant/dequantize.h"
#include "kernels/dtype.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/dense_against_cpu.h"

#include <cstdio>
#include <vector>

using namespace lectern;
using model::Token;

int main() {
    auto path = model::default_model_path();
    if (!path) {
        std::printf("dense_graph_cuda_emulated: skipped: %s\n", path.error().c_str());
        return 77;
    }
    auto file = formats::GgufFile::open(*path);
    auto config = file ? model::dense::read_dense_config(*file) : Error{file.error()};
    if (!CHECK(file.ok() && config.ok())) return lectern::test::finish("dense_graph_cuda_emulated");
    const auto cpu = lectern::test::load_dense(*path, {backend::Choice::Cpu, {}, {}, {}, {}});
    const std::int64_t vocab = cpu->info().vocab_size, e = config->embedding;

    std::vector<Token> prompt;
    if (cpu->info().prompt_starts_with_bos && cpu->info().bos_token >= 0)
        prompt.push_back(cpu->info().bos_token);
    for (const Token id : cpu->tokenizer()->encode("The capital of France is", tokenizer::AddedTokens::Match))
        prompt.push_back(id);
    const auto rows = static_cast<std::int64_t>(prompt.size());

    // The embedding rows the host hands over, as DenseModel gathers them.
    const formats::TensorView* embedding = file->find_tensor("token_embd.weight");
    const std::int64_t row_bytes = *kernels::dtype_bytes(embedding->dtype, e);
    const auto embed = [&](const std::vector<Token>& tokens) {
        std::vector<float> x(tokens.size() * static_cast<std::size_t>(e));
        for (std::size_t t = 0; t < tokens.size(); ++t)
            kernels::quant::dequantize_row(embedding->dtype, embedding->data.data() + tokens[t] * row_bytes,
                                           x.data() + t * static_cast<std::size_t>(e), e);
        return x;
    };

    auto graph = model::dense::DenseCudaGraph::create(*file, *config, 0, rows);
    if (!CHECK(graph.ok())) {
        std::fprintf(stderr, "create: %s\n", graph.error().c_str());
        return lectern::test::finish("dense_graph_cuda_emulated");
    }
    auto cache = (*graph)->new_cache();
    std::vector<float> actual(static_cast<std::size_t>(rows * vocab));
    const std::vector<float> prompt_rows = embed(prompt);
    CHECK((*graph)->forward(*cache, 0, prompt_rows.data(), rows, rows, actual.data()).ok());
    auto cpu_state = cpu->new_state();
    const auto expected = lectern::test::run(*cpu, *cpu_state, prompt, model::LogitsWanted::All);
    if (!CHECK(expected.size() == actual.size())) return lectern::test::finish("dense_graph_cuda_emulated");
    int equal = 0;
    for (std::int64_t r = 0; r < rows; ++r)
        equal += CHECK(kernels::cpu::argmax(actual.data() + r * vocab, vocab) ==
                       kernels::cpu::argmax(expected.data() + r * vocab, vocab))
                     ? 1
                     : 0;
    const double prompt_worst = lectern::test::max_difference(actual.data(), expected.data(), actual.size());
    std::printf("%lld prompt rows: argmax equal on %d, max logit difference %.4f\n",
                static_cast<long long>(rows), equal, prompt_worst);
    CHECK(prompt_worst <= lectern::test::kLogitBound);

    // One decode step at the next position, then the same step from a clone of the cache.
    const Token next = kernels::cpu::argmax(expected.data() + (rows - 1) * vocab, vocab);
    const std::vector<float> next_row = embed({next});
    auto copy = cache->clone(rows);
    std::vector<float> step(static_cast<std::size_t>(vocab)), from_copy(step.size());
    CHECK((*graph)->forward(*cache, rows, next_row.data(), 1, 1, step.data()).ok());
    CHECK(copy.ok() && (*graph)->forward(**copy, rows, next_row.data(), 1, 1, from_copy.data()).ok());
    const auto want = lectern::test::run(*cpu, *cpu_state, {next});
    if (CHECK(want.size() == step.size())) {
        const double decode_worst = lectern::test::max_difference(step.data(), want.data(), want.size());
        std::printf("decode step: max logit difference %.4f; from the cloned cache the same logits: %s\n",
                    decode_worst, step == from_copy ? "yes" : "no");
        CHECK(decode_worst <= lectern::test::kLogitBound && step == from_copy);
    }
    return lectern::test::finish("dense_graph_cuda_emulated");
}
