#!/usr/bin/env python3
"""Encode throughput: Lectern's tokenizer against Hugging Face `tokenizers` on the same >= 10 MB text.

  tests/bench/tokenizer_bench.py [--build build] [--tokenizer deepseek-v4|smollm2] [--mb 12]

Makes /tmp/tokenizer-venv (tokenizers, gguf) on first use, assembles a deterministic corpus from text
on this machine (Python's standard library sources and docstrings, Debian changelogs and licences, the
committed multilingual test text), runs HF single-threaded on the whole text and batched over lines
(all cores), then build/bench/tokenizer_bench; prints MB/s and the ratios, and whether the ids agree.
"""
import argparse
import gzip
import os
import pathlib
import subprocess
import sys
import sysconfig
import time

VENV = pathlib.Path("/tmp/tokenizer-venv")
ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("LECTERN_CACHE", pathlib.Path.home() / ".cache/lectern"))

if pathlib.Path(sys.prefix) != VENV:
    if not (VENV / "bin/python").exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
        subprocess.check_call([str(VENV / "bin/pip"), "install", "-q", "tokenizers==0.23.3", "gguf==0.19.0", "numpy"])
    os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), __file__, *sys.argv[1:]])

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers  # noqa: E402


def corpus(megabytes):
    path = pathlib.Path(f"/tmp/lectern-tokenizer-corpus-{megabytes}mb.txt")
    if path.exists():
        return path
    target = megabytes * 1_000_000
    parts, size = [], 0

    def add(data):
        nonlocal size
        parts.append(data)
        size += len(data)

    multilingual = (ROOT / "tests/data/tokenizer/multilingual.txt").read_bytes()
    add(multilingual)
    sources = [pathlib.Path("/usr/share/common-licenses")]
    sources += sorted(pathlib.Path("/usr/share/doc").glob("*/changelog*.gz"))
    for source in sources:
        for file in sorted(source.iterdir()) if source.is_dir() else [source]:
            if size > target // 2:
                break
            data = gzip.decompress(file.read_bytes()) if file.suffix == ".gz" else file.read_bytes()
            add(data + b"\n")
    for file in sorted(pathlib.Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        if size >= target:
            break
        add(file.read_bytes() + b"\n")
        if len(parts) % 50 == 0:
            add(multilingual)
    path.write_bytes(b"".join(parts)[:target])
    return path


def hf_tokenizer(which):
    if which == "deepseek-v4":
        return Tokenizer.from_file(str(CACHE / "tokenizers/deepseek-v4/tokenizer.json"))
    import gguf
    reader = gguf.GGUFReader(str(CACHE / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    field = lambda key: reader.fields[key].contents()  # noqa: E731
    tokens, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.token_type")
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                               merges=[tuple(m.split(" ")) for m in field("tokenizer.ggml.merges")]))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens([AddedToken(t, special=(ty == 3), normalized=(ty != 3)) for t, ty in zip(tokens, types) if ty in (3, 4)])
    return tok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--tokenizer", default="deepseek-v4", choices=["deepseek-v4", "smollm2"])
    parser.add_argument("--mb", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    path = corpus(args.mb)
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    mb = len(raw) / 1e6
    print(f"corpus: {path} ({mb:.1f} MB)")

    tok = hf_tokenizer(args.tokenizer)
    # CPU time: this machine is shared, and wall time mostly measures the neighbours.
    best_single, best_single_wall = float("inf"), float("inf")
    for _ in range(args.repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        hf_ids = tok.encode(text, add_special_tokens=False).ids
        best_single = min(best_single, time.process_time() - cpu)
        best_single_wall = min(best_single_wall, time.perf_counter() - wall)
    lines = text.splitlines(keepends=True)
    cpu, wall = time.process_time(), time.perf_counter()
    tok.encode_batch(lines, add_special_tokens=False)
    batch_cpu, batch_wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"HF tokenizers, one call:            {best_single:.3f} s CPU = {mb / best_single:.2f} MB/s "
          f"({best_single_wall:.3f} s wall), {len(hf_ids)} tokens")
    print(f"HF tokenizers, batch over lines:    {batch_cpu:.3f} s CPU over {os.cpu_count()} cores "
          f"({batch_wall:.3f} s wall = {mb / batch_wall:.2f} MB/s)")

    ids_file = pathlib.Path("/tmp/lectern-tokenizer-bench-ids.txt")
    bench = pathlib.Path(args.build) / "bench/tokenizer_bench"
    result = subprocess.run([str(bench), args.tokenizer, str(path), "--repeat", str(args.repeat),
                             "--ids-out", str(ids_file)], check=True, capture_output=True, text=True).stdout
    print(result.strip().splitlines()[0])
    seconds = float(result.split("cpu_seconds=")[1].split()[0])
    wall_seconds = float(result.split("wall_seconds=")[1].split()[0])
    ours = [int(line) for line in ids_file.read_text().split()]
    print(f"Lectern, one call, 1 thread:        {seconds:.3f} s CPU = {mb / seconds:.2f} MB/s ({wall_seconds:.3f} s wall)")
    print(f"ratio, CPU time, Lectern vs HF one call:  {best_single / seconds:.1f}x faster")
    print(f"ratio, CPU time, Lectern vs HF batch:     {batch_cpu / seconds:.1f}x less CPU "
          f"(wall: {batch_wall / wall_seconds:.1f}x, only meaningful on an idle machine)")
    print(f"800K tokens take Lectern {seconds * 800_000 / len(ours):.3f} s CPU")
    same = ours == hf_ids
    print(f"ids identical to HF on the whole corpus: {same}" +
          ("" if same else f" (first difference at {next(i for i, (a, b) in enumerate(zip(ours, hf_ids)) if a != b) if any(a != b for a, b in zip(ours, hf_ids)) else min(len(ours), len(hf_ids))})"))


if __name__ == "__main__":
    main()
