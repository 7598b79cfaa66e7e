#!/usr/bin/env python3
"""One-off: writes dequant_golden.gguf, random blocks of every GGUF weight type Lectern reads and their
dequantization by the PyPI `gguf` package's reference (gguf.quants.dequantize). tests/gguf/dequantize_test
requires Lectern's decode to equal it bit for bit. Run: python3 tests/data/gguf/make_dequant_golden.py
(it makes /tmp/lectern-gguf-venv with `gguf` and `numpy` from PyPI when they are not importable)."""
import os
import subprocess
import sys

VENV = "/tmp/lectern-gguf-venv"
try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as T
except ImportError:
    if sys.prefix != VENV:
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([f"{VENV}/bin/pip", "install", "-q", "gguf==0.19.0", "numpy"])
        os.execv(f"{VENV}/bin/python", [f"{VENV}/bin/python", *sys.argv])
    raise

rng = np.random.default_rng(20261128)

# (type, byte offsets of its fp16 scale fields inside a block)
TYPES = [
    (T.Q4_0, [0]), (T.Q4_1, [0, 2]), (T.Q5_0, [0]), (T.Q5_1, [0, 2]), (T.Q8_0, [0]),
    (T.Q2_K, [80, 82]), (T.Q3_K, [108]), (T.Q4_K, [0, 2]), (T.Q5_K, [0, 2]), (T.Q6_K, [208]),
    (T.IQ2_XXS, [0]), (T.MXFP4, []),
]
ROWS = 3


def finite_halves(n):
    """Random fp16 scales: ordinary magnitudes, a few subnormals, zero and negative values."""
    values = (rng.standard_normal(n) * 0.02).astype(np.float16)
    values[rng.integers(0, n, max(1, n // 8))] = np.float16(3e-6)  # subnormal
    values[rng.integers(0, n, max(1, n // 16))] = np.float16(0)
    return values.view(np.uint8).reshape(n, 2)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dequant_golden.gguf")
    writer = gguf.GGUFWriter(out, "lectern-dequant-golden")
    for qtype, scale_offsets in TYPES:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        cols = block_size * (8 if block_size == 32 else 2)
        blocks = ROWS * cols // block_size
        raw = rng.integers(0, 256, (blocks, type_size), dtype=np.uint8)
        for offset in scale_offsets:
            raw[:, offset:offset + 2] = finite_halves(blocks)
        raw = raw.reshape(ROWS, cols // block_size * type_size)
        expected = gguf.quants.dequantize(raw, qtype).astype(np.float32)
        assert expected.shape == (ROWS, cols)
        writer.add_tensor(f"{qtype.name}.raw", raw, raw_dtype=qtype)
        writer.add_tensor(f"{qtype.name}.expected", expected)
    # Plain types: every finite bit pattern's neighbourhood is covered by random bits minus NaNs.
    halves = rng.integers(0, 1 << 16, 4096, dtype=np.uint16)
    halves = halves[~np.isnan(halves.view(np.float16))][:2048].reshape(8, 256)
    writer.add_tensor("F16.raw", halves.view(np.float16))
    writer.add_tensor("F16.expected", gguf.quants.dequantize(halves.view(np.uint8), T.F16).astype(np.float32))
    bf16 = rng.integers(0, 1 << 16, 4096, dtype=np.uint16)
    bf16 = bf16[(bf16 & 0x7F80) != 0x7F80][:2048].reshape(8, 256)
    writer.add_tensor("BF16.raw", bf16.view(np.uint8), raw_dtype=T.BF16)
    writer.add_tensor("BF16.expected", gguf.quants.dequantize(bf16.view(np.uint8), T.BF16).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
