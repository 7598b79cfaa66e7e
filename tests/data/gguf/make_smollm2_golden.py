#!/usr/bin/env python3
"""One-off: writes smollm2_golden.txt, llama.cpp's greedy continuations of fixed prompts on the built-in
default model (SmolLM2-135M-Instruct Q4_1), through the PyPI package llama-cpp-python (which builds
llama.cpp from source for this machine: its AVX2 CPU backend here). Prompt token ids come from llama.cpp's
own tokenizer; each prompt's text is stored too (hex of its UTF-8), so the test also checks our tokenizer.
For every generated step it records llama.cpp's top logits, each as the shortest decimal that reads back
as the same float.

llama.cpp's settings are pinned, since each changes its numerics: CPU only, flash attention off (the
attention of mul_mat + soft_max + mul_mat that Lectern's dense graph follows), an fp16 key/value cache,
2 threads, the whole prompt in one batch (n_batch = n_ubatch = 512), then one token per step.

Run: python3 tests/data/gguf/make_smollm2_golden.py [MODEL.gguf]
(makes /tmp/lectern-llama-venv with llama-cpp-python==0.3.36 when it is not importable; ~10 min build)"""
import os
import subprocess
import sys

VENV = "/tmp/lectern-llama-venv"
try:
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama, __version__ as llama_cpp_version
except ImportError:
    if sys.prefix != VENV:
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([f"{VENV}/bin/pip", "install", "-q", "llama-cpp-python==0.3.36", "numpy"])
        os.execv(f"{VENV}/bin/python", [f"{VENV}/bin/python", *sys.argv])
    raise

MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    os.path.join(os.environ.get("LECTERN_CACHE", "~/.cache/lectern"), "models/SmolLM2-135M-Instruct.Q4_1.gguf"))

LONG_PASSAGE = (
    "The harbour town kept its lighthouse long after ships stopped needing it. Every evening the keeper, "
    "a retired schoolteacher named Ada, climbed the ninety-two steps with a flask of tea and a notebook. "
    "She wrote down the wind, the colour of the water, the boats that came in late, and anything else "
    "that seemed worth remembering. Over thirty years the notebooks filled two shelves in the lamp room. "
    "When the council proposed turning the tower into a cafe, a young historian asked to read them. She "
    "found records of storms that no official log had kept, the names of fishermen lost and found, and "
    "a slow change in the birds that nested on the cliffs. Her report persuaded the council to keep the "
    "light burning and to open the lamp room to visitors once a month. Summarise the story in one "
    "sentence, then say what the notebooks recorded.")
LONG_INSTRUCTIONS = (
    "<|im_start|>system\nYou are a careful assistant who answers in short numbered steps.<|im_end|>\n"
    "<|im_start|>user\nI am moving a small office of eight people to a new building next month. We have "
    "twelve desktop computers, two printers, a network storage box with our shared files, and a phone "
    "system that runs over the internet. The new building already has network cabling, but nobody has "
    "tested it, and the landlord says the internet line will be connected the day before we arrive. Our "
    "files must not be lost, and the office cannot be without phones for more than one afternoon. I have "
    "a budget for one weekend of help from a technician. Please write a plan that lists what to do two "
    "weeks before, the weekend of the move, and the first day in the new office, and say which tasks the "
    "technician should do.<|im_end|>\n<|im_start|>assistant\n")
PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "The history of the printing press begins",
    "def fibonacci(n):\n",
    "Once upon a time, in a small village by the sea, there lived",
    "<|im_start|>user\nList three uses of copper and explain one of them.<|im_end|>\n<|im_start|>assistant\n",
    "Question: A train leaves at 9:40 and the journey takes 2 hours and 35 minutes. When does it arrive?\n"
    "Answer:",
    LONG_PASSAGE,
    LONG_INSTRUCTIONS,
]
STEPS = 24
TOP = 8


def main():
    llm = Llama(model_path=MODEL, n_gpu_layers=0, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=2,
                n_threads_batch=2, flash_attn=False, type_k=llama_cpp.GGML_TYPE_F16,
                type_v=llama_cpp.GGML_TYPE_F16, logits_all=True, verbose=False, seed=0)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smollm2_golden.txt")
    with open(out, "w") as f:
        f.write(f"# llama.cpp via llama-cpp-python {llama_cpp_version}, {os.path.basename(MODEL)}, greedy; "
                "CPU, flash_attn off, f16 KV cache, 2 threads, prompt in one batch\n")
        for text in PROMPTS:
            ids = llm.tokenize(text.encode(), add_bos=False, special=True)
            assert len(ids) + STEPS <= 512, "a prompt must fit one batch"
            llm.reset()
            llm.eval(ids)
            generated, steps = [], []
            for _ in range(STEPS):
                logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
                top = np.argsort(-logits, kind="stable")[:TOP]
                steps.append(" ".join(f"{int(t)}:{np.format_float_positional(logits[t], unique=True)}"
                                      for t in top))
                token = int(top[0])
                generated.append(token)
                llm.eval([token])
            f.write("text " + text.encode().hex() + "\n")
            f.write("prompt " + " ".join(map(str, ids)) + "\n")
            f.write("generated " + " ".join(map(str, generated)) + "\n")
            for step in steps:
                f.write("top " + step + "\n")
            print(len(ids), "tokens:", repr(text[:60]), "->", repr(llm.detokenize(generated).decode(errors="replace")))
    print("wrote", out)


if __name__ == "__main__":
    main()
