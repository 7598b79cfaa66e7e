#!/usr/bin/env bash
# Builds the header fuzzer with clang's libFuzzer + AddressSanitizer and runs it for a bounded time.
# Usage: run_fuzz.sh SOURCE_DIR WORK_DIR [SECONDS]. Exit 77 (skipped) without clang or libFuzzer.
set -euo pipefail
src=$1 work=$2 seconds=${3:-20}
clang=$(command -v clang++ || true)
if [[ -z $clang ]]; then
  echo "skipped: clang++ is not installed (the fuzzer needs clang's libFuzzer)"
  exit 77
fi
mkdir -p "$work/corpus"
fuzzer=$work/headers_fuzz
sources=("$src/tests/gguf/fuzz/headers_fuzz.cpp" "$src/inference/formats/gguf.cpp"
  "$src/inference/formats/safetensors.cpp" "$src/inference/formats/mapped_file.cpp" "$src/kernels/dtype.cpp")
stale=0
for f in "${sources[@]}" "$src/inference/formats/gguf.h" "$src/inference/formats/safetensors.h"; do
  [[ -f $fuzzer && $fuzzer -nt $f ]] || stale=1
done
if ((stale)); then
  if ! "$clang" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src" "${sources[@]}" -o "$fuzzer.part" 2>"$work/build.log"; then
    if grep -q "libclang_rt.fuzzer\|cannot find -l\|unsupported option" "$work/build.log"; then
      echo "skipped: this clang has no libFuzzer runtime"
      cat "$work/build.log"
      exit 77
    fi
    cat "$work/build.log"
    exit 1
  fi
  mv "$fuzzer.part" "$fuzzer"
fi
# Seeds: a real GGUF header (the golden file's first 4 KiB) and a minimal safetensors file.
head -c 4096 "$src/tests/data/gguf/dequant_golden.gguf" >"$work/corpus/seed.gguf"
printf '\x3c\x00\x00\x00\x00\x00\x00\x00{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}    ' >"$work/corpus/seed.safetensors"
head -c 16 /dev/zero >>"$work/corpus/seed.safetensors"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
  "$work/corpus" 2>&1 | tail -n 25
