#!/usr/bin/env python3
"""Default-model speed against llama.cpp, in one run: the same prompt token ids, the same thread count,
greedy decode, best of 3 for each side; prints tokens/s and Lectern / llama.cpp ratios (goal >= 1.0).

Usage: python3 tests/bench/gguf_bench.py BUILD_DIR [--threads N] [--model PATH] [--decode N]
llama.cpp comes from PyPI's llama-cpp-python (built from source; /tmp/lectern-llama-venv is made when the
package is not importable, ~10 min). Needs the benchmark built: cmake --build BUILD_DIR --target gguf_bench."""
import argparse
import os
import subprocess
import sys
import time

VENV = "/tmp/lectern-llama-venv"
try:
    from llama_cpp import Llama
except ImportError:
    if sys.prefix != VENV:
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([f"{VENV}/bin/pip", "install", "-q", "llama-cpp-python==0.3.36"])
        os.execv(f"{VENV}/bin/python", [f"{VENV}/bin/python", *sys.argv])
    raise

PROMPT = ("Summarise the following passage in two sentences. The printing press, developed by Johannes "
          "Gutenberg around 1440, combined movable metal type, oil-based inks and a wooden press adapted "
          "from wine making. Within decades, printing shops spread across Europe, books became cheaper, "
          "literacy rose, and ideas travelled faster than ever before, shaping the Renaissance, the "
          "Reformation and the Scientific Revolution. Historians still debate how much of this change the "
          "press caused and how much it merely accelerated trends already under way in European society.")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--decode", type=int, default=64)
    cache = os.environ.get("LECTERN_CACHE", os.path.expanduser("~/.cache/lectern"))
    parser.add_argument("--model", default=os.path.join(cache, "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = parser.parse_args()

    llm = Llama(model_path=args.model, n_ctx=1024, n_batch=512, n_threads=args.threads,
                n_threads_batch=args.threads, verbose=False)
    ids = llm.tokenize(PROMPT.encode(), add_bos=False)
    best_prefill = best_decode = 0.0
    for _ in range(3):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids)
        t1 = time.perf_counter()
        for _ in range(args.decode):
            token = int(llm.scores[llm.n_tokens - 1].argmax())
            llm.eval([token])
        t2 = time.perf_counter()
        best_prefill = max(best_prefill, len(ids) / (t1 - t0))
        best_decode = max(best_decode, args.decode / (t2 - t1))

    bench = os.path.join(args.build_dir, "bench", "gguf_bench")
    out = subprocess.run([bench, args.model, str(args.threads), str(args.decode), *map(str, ids)],
                         check=True, capture_output=True, text=True).stdout
    ours = {k: float(v) for k, v in (line.split() for line in out.strip().splitlines())}
    print(f"model {os.path.basename(args.model)}, prompt {len(ids)} tokens, decode {args.decode} tokens, "
          f"{args.threads} threads, best of 3")
    print(f"prefill tokens/s: Lectern {ours['prefill_tokens_per_s']:.1f}, llama.cpp {best_prefill:.1f}, "
          f"ratio {ours['prefill_tokens_per_s'] / best_prefill:.2f}")
    print(f"decode  tokens/s: Lectern {ours['decode_tokens_per_s']:.1f}, llama.cpp {best_decode:.1f}, "
          f"ratio {ours['decode_tokens_per_s'] / best_decode:.2f}")


if __name__ == "__main__":
    main()
