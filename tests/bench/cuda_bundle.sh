#!/usr/bin/env bash
# Packs what a GPU machine without this project's libraries needs to run the CUDA tests of a full build:
# every test labelled cuda that runs on a device (the model tests included, which a kernels-only build
# lacks), bench/cuda_ops and bench/backend_bench, and the shared libraries they load that a bare machine may not have. The
# bundle's run.sh runs them there. It is written as one gzipped tar (about 24 MB), so that it travels with a
# working tree (carry it to the device machine).
#   here:  tests/bench/cuda_bundle.sh [BUILD_DIR] [ARCHIVE]     (defaults: build, .cuda-bundle.tgz)
#   there: tar xzf ARCHIVE -C /tmp && /tmp/cuda-bundle/run.sh
# dense_model_cuda also wants the default model in $LECTERN_CACHE (too large to carry): without it, it
# reports itself skipped.
# The device's own build of the kernels (tests/bench/cuda_device_check.sh) stays the check for another GPU
# architecture than the build's CMAKE_CUDA_ARCHITECTURES (80, 89, 90 and 120 by default).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
archive=$(realpath -m "${2:-.cuda-bundle.tgz}")
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
bundle=$staging/cuda-bundle
mkdir -p "$bundle/bin" "$bundle/lib"

# The device tests' executables, from CTest's own list (the emulated builds run in CI, not there).
mapfile -t programs < <(ctest --test-dir "$build" -L cuda --show-only=json-v1 | python3 -c '
import json, sys
for test in json.load(sys.stdin)["tests"]:
    if "_emulated" not in test["name"]:
        print(test["command"][0])
' | sort -u)
if [[ ${#programs[@]} -eq 0 ]]; then
  echo "cuda_bundle: no CUDA tests in $build (configured without nvcc?)" >&2
  exit 1
fi
programs+=("$build/bench/cuda_ops" "$build/bench/backend_bench")
cp "${programs[@]}" "$bundle/bin/"

# Libraries beyond the C and C++ runtimes (which any Linux with a newer glibc and libstdc++ has) and the
# NVIDIA driver's.
ldd "${programs[@]}" | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -Ev '/(libc|libm|libgcc_s|libstdc\+\+|libpthread|libdl|librt|ld-linux[^/]*|libcuda)\.so' |
  while read -r library; do cp -L "$library" "$bundle/lib/"; done

cat > "$bundle/run.sh" <<'EOF'
#!/usr/bin/env bash
# Runs every bundled CUDA test (0 passed, 77 skipped, else failed), then bench/cuda_ops, then
# bench/backend_bench on the tiny DeepSeek-V4 checkpoint (which v4_model_cuda wrote) on CUDA against the
# CPU.
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LECTERN_TEST_DATA=${LECTERN_TEST_DATA:-/tmp/lectern-test-data}
export LECTERN_CACHE=${LECTERN_CACHE:-/tmp/lectern-cache}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
failed=0
for test in "$here"/bin/*; do
  [[ $(basename "$test") == cuda_ops || $(basename "$test") == backend_bench ]] && continue
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
"$here/bin/backend_bench" "$LECTERN_TEST_DATA/tiny-v4" cuda 64 16 || failed=1
exit "$failed"
EOF
chmod +x "$bundle/run.sh"
tar czf "$archive" -C "$staging" cuda-bundle
du -h "$archive"
