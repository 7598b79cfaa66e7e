#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and no Qt: builds only the kernels (LECTERN_KERNELS_ONLY) for this GPU,
# runs the CUDA parity tests (label cuda) and the CUDA benchmark. Usage: tests/bench/cuda_device_check.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-/tmp/lectern-cuda}
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n1 | tr -d '.[:space:]')
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nvcc --version | tail -n 2
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLECTERN_KERNELS_ONLY=ON -DLECTERN_WITH_VULKAN=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="${arch}-real" >/dev/null
cmake --build "$build" -j "$(nproc)"
status=0
ctest --test-dir "$build" -L cuda --output-on-failure -V || status=$?
"$build/bench/cuda_ops" || status=$?
exit "$status"
