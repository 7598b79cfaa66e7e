#!/usr/bin/env python3
"""Writes tests/data/golden/tiny_v4_golden.json: per-position logits (top-8 values and the argmax) of the
main model and of the MTP block (token after next), and greedy continuations of the tiny DeepSeek-V4 checkpoint, from the independent NumPy reference in
reference_v4.py. One-off: CI only reads the committed file.

usage: make_golden.py BUILD_DIR      (BUILD_DIR/bin/lectern-make-tiny-v4 must exist)

It makes its own venv (/tmp/lectern-golden-venv) with numpy, tokenizers and xxhash from PyPI.
make_transformers_golden.py runs transformers' DeepSeek-V4 on the same token ids; see README.md."""

import os
import subprocess
import sys

VENV = "/tmp/lectern-golden-venv"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))

if sys.prefix != VENV:
    if not os.path.exists(f"{VENV}/bin/python"):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([f"{VENV}/bin/pip", "install", "-q", "numpy", "tokenizers", "xxhash"])
    os.execv(f"{VENV}/bin/python", [f"{VENV}/bin/python", *sys.argv])

import json  # noqa: E402

import numpy as np  # noqa: E402
import xxhash  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

sys.path.insert(0, HERE)
import reference_v4  # noqa: E402

PROMPTS = [
    "The quick brown fox jumps over the lazy dog.",
    # Long enough for several CSA blocks (top-k selection active), two HCA blocks and a wrapped window.
    " ".join(["In the beginning the archive held letters, ledgers and maps; each page was numbered, "
              "dated and signed by the clerk who copied it, and every copy was compared twice."] * 9),
]
GREEDY_TOKENS = 8
TOP = 8


def top_entries(row):
    order = np.argsort(-row, kind="stable")[:TOP]
    return {"argmax": int(order[0]), "top_ids": [int(i) for i in order],
            "top_values": [round(float(row[i]), 5) for i in order]}


def main():
    build = sys.argv[1]
    folder = "/tmp/lectern-golden-tiny-v4"
    cache = os.environ.get("LECTERN_CACHE", os.path.expanduser("~/.cache/lectern"))
    tokenizer_path = f"{cache}/tokenizers/deepseek-v4/tokenizer.json"
    subprocess.check_call([f"{build}/bin/lectern-make-tiny-v4", folder, "--tokenizer", tokenizer_path])
    tokenizer = Tokenizer.from_file(tokenizer_path)
    model = reference_v4.Model(folder)
    hashes = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            hashes[name] = xxhash.xxh64(open(f"{folder}/{name}", "rb").read()).hexdigest()

    out = {"checkpoint_xxh64": hashes, "top": TOP, "prompts": []}
    for text in PROMPTS:
        tokens = [0] + tokenizer.encode(text, add_special_tokens=False).ids
        residual = model.residual(tokens)
        logits = model.logits(residual)
        positions = [top_entries(row) for row in logits]
        mtp = [top_entries(row) for row in model.mtp(residual, tokens)]
        greedy = []
        sequence = list(tokens)
        for _ in range(GREEDY_TOKENS):
            nxt = int(np.argmax(model.logits(model.residual(sequence))[-1]))
            greedy.append(nxt)
            sequence.append(nxt)
        margins = [float(np.diff(np.sort(r)[-2:])[0]) for r in logits]
        out["prompts"].append({"text": text, "tokens": tokens, "positions": positions, "mtp": mtp, "greedy": greedy,
                               "min_top1_margin": round(min(margins), 5)})
        print(f"prompt of {len(tokens)} tokens: greedy {greedy}, smallest top-1 margin {min(margins):.4f}")
    target = f"{ROOT}/tests/data/golden/tiny_v4_golden.json"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", target)


main()
