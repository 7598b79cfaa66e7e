// Golden parity against the transformers DeepSeek-V4 implementation itself (transformers 5.24,
// models/deepseek_v4, run by inference/tools/golden/make_transformers_golden.py with the official
// semantics patched in): the C++ engine on the tiny checkpoint gives the same top-1 token at every position
// of both prompts, the golden top-8 logits within kLogitTolerance, and the same greedy continuation (decoded
// token by token through the caches; transformers recomputes the whole sequence at each step).
#include "inference/model/v4/v4_model.h"
#include "tests/engine/golden_parity.h"
#include "tests/engine/tiny_fixture.h"

namespace {

// The patched transformers run rounds where the engine rounds (bf16 activations, FP8/FP4 QAT, float32
// results of float64 sums), so the two agree to the last bit except for a rare last-ulp difference in a
// transcendental function; the golden values are stored to 1e-5, and the measured largest difference is
// ~1e-5. 1e-3 is well above that, below half of the smallest top-1 margin in the file (0.0024), so top-1
// equality also follows from it, and four orders of magnitude below what any single semantic difference
// listed in inference/tools/golden/README.md moves the logits by (transformers without the patches: up to
// 15 logits, top-1 different at 93 of 316 positions).
constexpr double kLogitTolerance = 1e-3;

} // namespace

int main() {
    using namespace lectern;
    const std::string folder = test::tiny_v4_folder();
    const auto golden = test::read_golden("tiny_v4_transformers_golden.json");
    if (!test::golden_matches_checkpoint(golden, folder, "make_transformers_golden.py"))
        return test::finish("v4_transformers_golden");
    auto loaded = model::v4::load_v4_model(folder);
    if (!CHECK(loaded.ok())) {
        std::fprintf(stderr, "%s\n", loaded.error().c_str());
        return test::finish("v4_transformers_golden");
    }
    const double worst = test::check_prompts(**loaded, golden, kLogitTolerance);
    std::printf("largest |logit difference| from transformers over the golden top-8 entries: %.6f "
                "(tolerance %.0e)\n",
                worst, kLogitTolerance);
    return test::finish("v4_transformers_golden");
}
