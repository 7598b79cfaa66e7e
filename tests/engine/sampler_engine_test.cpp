// The sampler (greedy, temperature, top-p, min-p, seeds) and the engine API on the tiny checkpoint:
// streaming, stop tokens, caller stop, cancellation from another thread, progress and statistics.
#include "inference/engine/engine.h"
#include "inference/model/v4/v4_model.h"
#include "tests/engine/tiny_fixture.h"
#include "tests/kernels/check.h"

#include <array>
#include <cmath>
#include <thread>

namespace {

using namespace lectern;
using inference::Sampler;
using inference::SamplerSettings;

std::array<int, 4> histogram(SamplerSettings settings, const std::vector<float>& logits, int draws) {
    Sampler sampler(settings);
    std::array<int, 4> counts{};
    for (int i = 0; i < draws; ++i) ++counts[static_cast<std::size_t>(sampler.sample(logits))];
    return counts;
}

void sampler_tests() {
    const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f), -1e30f};
    CHECK(Sampler({}).sample(logits) == 0);
    CHECK(inference::argmax(std::vector<float>{1.0f, 3.0f, 3.0f}) == 1); // ties: the lower id

    // Temperature 1: frequencies follow the probabilities (20000 draws: sd of a share <= 0.0036).
    const auto counts = histogram({1.0f, 1.0f, 0.0f, 7}, logits, 20000);
    CHECK_CLOSE(counts[0] / 20000.0, 0.5, 0.02);
    CHECK_CLOSE(counts[1] / 20000.0, 0.3, 0.02);
    CHECK_CLOSE(counts[2] / 20000.0, 0.2, 0.02);
    CHECK(counts[3] == 0);
    // top-p 0.6: {0.5, 0.3} reaches it; the 0.2 token never appears.
    const auto nucleus = histogram({1.0f, 0.6f, 0.0f, 7}, logits, 5000);
    CHECK(nucleus[2] == 0 && nucleus[0] > 0 && nucleus[1] > 0);
    // min-p 0.5: keeps p >= 0.25, so 0.5 and 0.3.
    const auto min_p = histogram({1.0f, 1.0f, 0.5f, 7}, logits, 5000);
    CHECK(min_p[2] == 0 && min_p[1] > 0);
    // Low temperature sharpens: almost always the top token.
    const auto cold = histogram({0.05f, 1.0f, 0.0f, 7}, logits, 2000);
    CHECK(cold[0] > 1990);
    // Seeds: the same seed repeats the sequence; another seed gives another one.
    Sampler a({1.0f, 1.0f, 0.0f, 42}), b({1.0f, 1.0f, 0.0f, 42}), c({1.0f, 1.0f, 0.0f, 43});
    int same = 0, differ = 0;
    for (int i = 0; i < 200; ++i) {
        const auto x = a.sample(logits), y = b.sample(logits), z = c.sample(logits);
        same += x == y;
        differ += x != z;
    }
    CHECK(same == 200 && differ > 0);
}

std::vector<model::Token> prompt(std::size_t count) {
    std::vector<model::Token> tokens{0};
    for (std::size_t i = 1; i < count; ++i)
        tokens.push_back(static_cast<model::Token>((i * 48271 + 11) % 128000));
    return tokens;
}

void engine_tests() {
    int steps = 0; // a progress callback saying stop ends the load with an error and no engine
    auto load_stopped = inference::Engine::load(test::tiny_v4_folder(),
                                                [&](double, std::string_view) { return ++steps < 3; });
    CHECK(!load_stopped.ok() && load_stopped.error().find("was cancelled") != std::string::npos &&
          steps == 3);
    auto loaded =
        inference::Engine::load(test::tiny_v4_folder(), [](double, std::string_view) { return true; });
    if (!CHECK(loaded.ok())) return;
    inference::Engine& engine = **loaded;
    CHECK(engine.info().family == "deepseek_v4" && engine.info().eos_token == 1);
    CHECK(!engine.generate({}).ok()); // nothing prefilled

    std::int64_t last_done = 0, last_total = 0;
    const auto tokens = prompt(40);
    auto prefilled = engine.prefill(tokens, [&](std::int64_t done, std::int64_t total) {
        last_done = done;
        last_total = total;
    });
    CHECK(prefilled.ok() && prefilled->consumed == 40 && !prefilled->cancelled);
    CHECK(last_done == 40 && last_total == 40);
    const std::vector<std::byte> after_prompt = engine.snapshot();

    inference::GenerateOptions greedy;
    greedy.max_tokens = 6;
    greedy.stop_at_model_stop_tokens = false;
    std::vector<model::Token> streamed;
    auto full = engine.generate(greedy, [&](model::Token t) {
        streamed.push_back(t);
        return true;
    });
    CHECK(full.ok() && full->tokens.size() == 6 && full->tokens == streamed);
    CHECK(full->reason == inference::StopReason::MaxTokens);
    CHECK(engine.stats().position == 46 && engine.stats().generated_tokens == 6);

    // A stop token ends generation with that token; the caller can stop too.
    CHECK(engine.restore(after_prompt).ok());
    inference::GenerateOptions stopping = greedy;
    stopping.extra_stop_tokens = {full->tokens[2]};
    auto stopped = engine.generate(stopping);
    CHECK(stopped.ok() && stopped->reason == inference::StopReason::StopToken &&
          stopped->tokens == std::vector<model::Token>(full->tokens.begin(), full->tokens.begin() + 3));
    CHECK(engine.restore(after_prompt).ok());
    auto by_caller = engine.generate(greedy, [&](model::Token) { return false; });
    CHECK(by_caller.ok() && by_caller->reason == inference::StopReason::Caller &&
          by_caller->tokens.size() == 1);

    // Seeded sampling repeats from the same snapshot.
    inference::GenerateOptions sampled = greedy;
    sampled.sampler = {1.0f, 0.95f, 0.05f, 1234};
    CHECK(engine.restore(after_prompt).ok());
    auto first = engine.generate(sampled);
    CHECK(engine.restore(after_prompt).ok());
    auto second = engine.generate(sampled);
    CHECK(first.ok() && second.ok() && first->tokens == second->tokens);

    // Cancel from another thread while a long prefill runs: it stops between slices with a consistent
    // state, and finishing the rest gives the same result as one uninterrupted prefill.
    engine.reset();
    const auto long_prompt = prompt(700);
    std::thread canceller;
    auto cancelled = engine.prefill(long_prompt, [&](std::int64_t done, std::int64_t) {
        if (done > 0 && !canceller.joinable()) canceller = std::thread([&] { engine.cancel(); });
        if (canceller.joinable()) canceller.join();
    });
    CHECK(cancelled.ok() && cancelled->cancelled && cancelled->consumed > 0 && cancelled->consumed < 700);
    if (cancelled.ok()) {
        CHECK(engine.stats().position == cancelled->consumed);
        auto rest =
            engine.prefill(std::span(long_prompt).subspan(static_cast<std::size_t>(cancelled->consumed)));
        CHECK(rest.ok() && !rest->cancelled);
        auto resumed = engine.generate(greedy);
        engine.reset();
        CHECK(engine.prefill(long_prompt).ok());
        auto straight = engine.generate(greedy);
        CHECK(resumed.ok() && straight.ok() && resumed->tokens == straight->tokens);
    }
    const auto stats = engine.stats();
    CHECK(stats.prefill_tokens > 700 && stats.prefill_seconds > 0 && stats.state_bytes > 0);
}

} // namespace

int main() {
    sampler_tests();
    engine_tests();
    return test::finish("sampler_engine");
}
