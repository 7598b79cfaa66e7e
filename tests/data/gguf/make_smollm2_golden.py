#!/usr/bin/env python3
"""One-off: writes smollm2_golden.txt, llama.cpp's greedy continuations of fixed prompts on the built-in
default model (SmolLM2-135M-Instruct Q4_1), through the PyPI package llama-cpp-python (which builds
llama.cpp from source). Prompt token ids come from llama.cpp's own tokenizer, so the test needs no
tokenizer of ours. For every generated step it records llama.cpp's top logits.

Run: python3 tests/data/gguf/make_smollm2_golden.py [MODEL.gguf]
(makes /tmp/lectern-llama-venv with llama-cpp-python==0.3.36 when it is not importable; ~10 min build)"""
import os
import subprocess
import sys

VENV = "/tmp/lectern-llama-venv"
try:
    import numpy as np
    from llama_cpp import Llama, __version__ as llama_cpp_version
except ImportError:
    if sys.prefix != VENV:
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([f"{VENV}/bin/pip", "install", "-q", "llama-cpp-python==0.3.36", "numpy"])
        os.execv(f"{VENV}/bin/python", [f"{VENV}/bin/python", *sys.argv])
    raise

MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    os.path.join(os.environ.get("LECTERN_CACHE", "~/.cache/lectern"), "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "The history of the printing press begins",
    "def fibonacci(n):\n",
    "Once upon a time, in a small village by the sea, there lived",
]
STEPS = 24
TOP = 8


def main():
    llm = Llama(model_path=MODEL, n_ctx=512, n_threads=2, n_batch=512, logits_all=True, verbose=False, seed=0)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smollm2_golden.txt")
    with open(out, "w") as f:
        f.write(f"# llama.cpp via llama-cpp-python {llama_cpp_version}, {os.path.basename(MODEL)}, greedy\n")
        for text in PROMPTS:
            ids = llm.tokenize(text.encode(), add_bos=False, special=True)
            llm.reset()
            llm.eval(ids)
            generated, steps = [], []
            for _ in range(STEPS):
                logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
                top = np.argsort(-logits, kind="stable")[:TOP]
                steps.append(" ".join(f"{int(t)}:{logits[t]:.6f}" for t in top))
                token = int(top[0])
                generated.append(token)
                llm.eval([token])
            f.write("prompt " + " ".join(map(str, ids)) + "\n")
            f.write("generated " + " ".join(map(str, generated)) + "\n")
            for step in steps:
                f.write("top " + step + "\n")
            print(repr(text), "->", repr(llm.detokenize(generated).decode(errors="replace")))
    print("wrote", out)


if __name__ == "__main__":
    main()
