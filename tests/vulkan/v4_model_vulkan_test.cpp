// The tiny DeepSeek-V4 checkpoint (SWA, CSA and HCA layers, hash- and score-routed MoE) with every layer
// and the head on the Vulkan device (lavapipe in CI) against the CPU graph, over a sequence long enough to
// wrap the window ring, fill HCA entries and make the indexer choose among more CSA entries than it keeps:
// chunks of prefill and decode steps started from the CPU's own caches (restored from its snapshots),
// greedy generation, a device snapshot continued on the CPU, layers split between host and device, routed
// experts kept on the host, and the indexer's choices as the observer sees them. Skipped (77) without a
// Vulkan device.
//
// Why not bit for bit: the CPU sums in double and rounds once, the device sums in fp32. Where a value lies
// within that difference of a rounding point of the graph (a bf16 activation or attention probability,
// an FP8/FP4 QAT step or scale, the indexer's or the router's choice), the two round it apart, and the
// graph carries the step on. On lavapipe the first such step comes at position 41 (an attention
// probability in layer 1 rounds to the neighbouring bf16) and moves that row's logits by 1.45; rows
// without one agree within 2e-5. Each chunk therefore starts from the CPU's caches, so a step cannot
// accumulate, and the checks are: every row within kLogitBound, nearly every row within kExactBound (a
// real error, such as a wrong position, cache row or weight, moves every row), and the same greedy token
// wherever the CPU's top two logits lie further apart than the device may move them.

#include "inference/backend/backend.h"
#include "kernels/vulkan/attention_ops.h"
#include "kernels/vulkan/context.h"
#include "tests/kernels/check.h"
#include "tests/vulkan/v4_checks.h"

#include <cstdio>

using namespace lectern;

int main() {
    if (auto device = kernels::vulkan::Context::create(); !device) {
        std::printf("v4_model_vulkan: skipped: %s\n", device.error().c_str());
        return 77;
    }
    test::v4::all_checks(backend::Choice::Vulkan, backend::Kind::Vulkan,
                         kernels::vulkan::sparse_attention_scratch_bytes);
    return test::finish("v4_model_vulkan");
}
