#!/usr/bin/env bash
# Packs what a GPU machine without this project's libraries needs to run the device tests of a full build
# on both GPU backends: every test labelled cuda that runs on a device (the model tests included, which a
# kernels-only build lacks), the Vulkan ops' and graphs' tests, bench/cuda_ops, bench/vulkan_ops and
# bench/backend_bench, and the shared libraries they load that a bare machine may not have. The bundle's
# run.sh runs them there. It is written as one gzipped tar (about 32 MB), so that it travels with a working
# tree (carry it to the device machine).
#   here:  tests/bench/gpu_bundle.sh [BUILD_DIR] [ARCHIVE]     (defaults: build, .gpu-bundle.tgz)
#   there: tar xzf ARCHIVE -C /tmp && /tmp/gpu-bundle/run.sh
# dense_model_cuda and dense_model_vulkan also want the default model in $LECTERN_CACHE (too large to
# carry): without it, they report themselves skipped. The Vulkan tests take the machine's best device (its
# driver must be installed there; LECTERN_VULKAN_DEVICE picks another).
# The device's own build of the kernels (tests/bench/cuda_device_check.sh) stays the check for another GPU
# architecture than the build's CMAKE_CUDA_ARCHITECTURES (80, 89, 90 and 120 by default).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
archive=$(realpath -m "${2:-.gpu-bundle.tgz}")
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
bundle=$staging/gpu-bundle
mkdir -p "$bundle/bin" "$bundle/lib"

# The device tests' executables, from CTest's own list: the CUDA ones (the emulated builds run in CI, not
# there) and the Vulkan ops' and graphs' (the others need the model, a session store or the fallback
# shaders, which lavapipe covers in CI).
mapfile -t programs < <(ctest --test-dir "$build" -L "cuda|vulkan" --show-only=json-v1 | python3 -c '
import json, sys
for test in json.load(sys.stdin)["tests"]:
    name = test["name"]
    if "_emulated" in name:
        continue
    labels = next((p["value"] for p in test.get("properties", []) if p["name"] == "LABELS"), [])
    if "cuda" in labels or name.startswith("vulkan_") or name in ("dense_model_vulkan", "v4_model_vulkan"):
        print(test["command"][0])
' | sort -u)
if ! printf '%s\n' "${programs[@]}" | grep -q cuda; then
  echo "gpu_bundle: no CUDA tests in $build (configured without nvcc?)" >&2
  exit 1
fi
programs+=("$build/bench/cuda_ops" "$build/bench/vulkan_ops" "$build/bench/backend_bench")
cp "${programs[@]}" "$bundle/bin/"

# Libraries beyond the C and C++ runtimes (which any Linux with a newer glibc and libstdc++ has) and the
# NVIDIA driver's.
ldd "${programs[@]}" | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -Ev '/(libc|libm|libgcc_s|libstdc\+\+|libpthread|libdl|librt|ld-linux[^/]*|libcuda)\.so' |
  while read -r library; do cp -L "$library" "$bundle/lib/"; done

cat > "$bundle/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs every bundled test (0 passed, 77 skipped, else failed), then bench/cuda_ops and bench/vulkan_ops,
# then bench/backend_bench on the tiny DeepSeek-V4 checkpoint (which the model tests wrote) on CUDA and on
# Vulkan against the CPU.
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LECTERN_TEST_DATA=${LECTERN_TEST_DATA:-/tmp/lectern-test-data}
export LECTERN_CACHE=${LECTERN_CACHE:-/tmp/lectern-cache}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
failed=0
for test in "$here"/bin/*; do
  case $(basename "$test") in cuda_ops | vulkan_ops | backend_bench) continue ;; esac
  start=$(date +%s)
  "$test"
  status=$?
  case $status in
    0) verdict=passed ;;
    77) verdict=skipped ;;
    *) verdict="FAILED ($status)"; failed=1 ;;
  esac
  echo "== $(basename "$test"): $verdict in $(($(date +%s) - start)) s"
done
"$here/bin/cuda_ops" || failed=1
"$here/bin/vulkan_ops" --quick || failed=1
for backend in cuda vulkan; do
  "$here/bin/backend_bench" "$LECTERN_TEST_DATA/tiny-v4" "$backend" 64 16 || failed=1
done
exit "$failed"
EOF
chmod +x "$bundle/run.sh"
tar czf "$archive" -C "$staging" gpu-bundle
du -h "$archive"
