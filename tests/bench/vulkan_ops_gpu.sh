#!/bin/sh
# Runs the Vulkan op benchmark on the machine's best Vulkan device (a real GPU when one is present), then
# again with the portable fallback shaders, then end to end against the CPU (backend_bench): the default
# model and the tests' tiny DeepSeek-V4 checkpoint, when they are there.
# Usage: tests/bench/vulkan_ops_gpu.sh [BUILD_DIR [--quick]]   (LECTERN_VULKAN_DEVICE picks another device)
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
bench="$build/bench/vulkan_ops"
if [ ! -x "$bench" ]; then
    echo "vulkan_ops_gpu: $bench is missing; build it with: cmake --build $build --target vulkan_ops" >&2
    exit 1
fi
if command -v vulkaninfo >/dev/null 2>&1; then
    vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|deviceType' || true
fi
"$bench" "$@"
echo
echo "portable fallback shaders:"
LECTERN_VULKAN_FALLBACK=1 "$bench" "$@"
end_to_end="$build/bench/backend_bench"
if [ -x "$end_to_end" ]; then
    echo
    echo "end to end, the default model (512-token prompt, 64 decoded):"
    "$end_to_end" default vulkan 512 64 || true
    if [ -d "$build/test-data/tiny-v4" ]; then
        echo
        echo "end to end, the tiny DeepSeek-V4 checkpoint (512-token prompt, 64 decoded):"
        "$end_to_end" "$build/test-data/tiny-v4" vulkan 512 64 || true
    fi
fi
