"""An independent NumPy reference of the DeepSeek-V4 forward pass, written from
shared/design/v4-architecture.md (not from the C++ engine): it recomputes a whole sequence from
position 0 with the reference's *parallel* prefill (all complete compressor blocks pooled at once,
causal visibility by masks), where the engine updates caches token by token.

Rounding points (bf16 activations, FP8/FP4 QAT) follow the note: FP8/FP4 linears see FP8-quantised
activations (1x128 blocks, power-of-two scales) and give bf16 outputs; compressor and gate GEMMs run in
fp32; the residual streams, norm outputs and cached KV are bf16; attention probabilities are bf16.

Sums and transcendentals are computed in float64 and rounded once to float32 (the engine's kernels do
the same), so both sides agree to the last bit before each bf16/FP8 rounding point; otherwise
summation-order noise flips roundings and top-k choices and the comparison measures noise.
"""

import json
import math
import struct

import numpy as np

F32 = np.float32
F64 = np.float64


def mm(a, b):
    """a @ b.T accumulated in float64, rounded once to float32."""
    return (a.astype(F64) @ b.astype(F64).T).astype(F32)


# ---------------------------------------------------------------- number formats
def bf16(x):
    x = np.ascontiguousarray(x, dtype=F32)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(F32).reshape(x.shape)


def _e4m3_table():
    values = []
    for b in range(256):
        s, e, m = b >> 7, (b >> 3) & 15, b & 7
        if e == 15 and m == 7:
            v = float("nan")
        elif e == 0:
            v = m * 2.0 ** -9
        else:
            v = (1 + m / 8) * 2.0 ** (e - 7)
        values.append(-v if s else v)
    return np.array(values, dtype=F32)


E4M3 = _e4m3_table()
FP4 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=F32)


def _nearest(values, grid):
    """Round |values| to the nearest entry of an ascending non-negative grid; ties to the even index
    (the even mantissa), saturating at the top."""
    mag = np.abs(values)
    hi = np.clip(np.searchsorted(grid, mag), 1, len(grid) - 1)
    lo = hi - 1
    d_lo = mag - grid[lo]
    d_hi = grid[hi] - mag
    pick = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi, np.where(lo % 2 == 0, lo, hi)))
    out = grid[pick]
    out = np.where(mag >= grid[-1], grid[-1], out)
    return np.copysign(out, values).astype(F32)


E4M3_GRID = E4M3[:127].copy()  # 0 .. 448, ascending
FP4_GRID = FP4[:8].copy()


def pow2_scale(amax, fmax):
    return np.exp2(np.ceil(np.log2(np.maximum(amax, F32(1e-4)) / F32(fmax)))).astype(F32)


def qat(x, block, grid, fmax):
    shape = x.shape
    x = x.reshape(-1, block)
    scale = pow2_scale(np.abs(x).max(axis=1, keepdims=True), fmax)
    return (_nearest(x / scale, grid) * scale).reshape(shape).astype(F32)


def fp8_qat(x, block):
    return qat(x, block, E4M3_GRID, 448.0)


def fp4_qat(x, block=32):
    return qat(x, block, FP4_GRID, 6.0)


# ---------------------------------------------------------------- checkpoint
DTYPES = {"F32": (np.float32, 4), "BF16": (np.uint16, 2), "F8_E4M3": (np.uint8, 1), "F8_E8M0": (np.uint8, 1),
          "I8": (np.uint8, 1), "I64": (np.int64, 8)}


def load_checkpoint(folder):
    index = json.load(open(f"{folder}/model.safetensors.index.json"))
    raw = {}
    for shard in sorted(set(index["weight_map"].values())):
        data = open(f"{folder}/{shard}", "rb").read()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            dtype, _ = DTYPES[entry["dtype"]]
            a, b = entry["data_offsets"]
            arr = np.frombuffer(data[8 + n + a: 8 + n + b], dtype=dtype).reshape(entry["shape"])
            raw[name] = (entry["dtype"], arr)
    return raw


class Weights:
    def __init__(self, raw):
        self.raw = raw

    def has(self, name):
        return name in self.raw

    def vec(self, name):
        dtype, arr = self.raw[name]
        if dtype == "BF16":
            return (arr.astype(np.uint32) << 16).view(F32)
        return arr.astype(F32)

    def mat(self, prefix):
        """(dequantised fp32 matrix, quantised?) for `<prefix>.weight` (+ `.scale`)."""
        dtype, w = self.raw[prefix + ".weight"]
        if dtype == "BF16":
            return (w.astype(np.uint32) << 16).view(F32), False
        if dtype == "F32":
            return w.astype(F32), False
        _, s = self.raw[prefix + ".scale"]
        scale = np.exp2(s.astype(np.float64) - 127).astype(F32)
        if dtype == "F8_E4M3":
            out, inp = w.shape
            full = np.repeat(np.repeat(scale, 128, axis=0), 128, axis=1)[:out, :inp]
            return E4M3[w] * full, True
        # packed FP4: low nibble = even column
        out = w.shape[0]
        vals = np.empty((out, w.shape[1] * 2), dtype=F32)
        vals[:, 0::2] = FP4[w & 15]
        vals[:, 1::2] = FP4[w >> 4]
        return vals * np.repeat(scale, 32, axis=1), True


def linear(x, wq):
    """An FP8/FP4 (or bf16) linear as the reference runs it: bf16 output."""
    w, quantised = wq
    if quantised:
        x = fp8_qat(x, 128) if x.shape[-1] % 128 == 0 else fp8_qat_rows(x)
    return bf16(mm(x, w))


def fp8_qat_rows(x):
    # rows whose length is not a multiple of 128: the last block is short
    k = x.shape[-1]
    out = np.empty_like(x, dtype=F32)
    for start in range(0, k, 128):
        part = x[..., start:start + 128]
        out[..., start:start + 128] = fp8_qat(np.ascontiguousarray(part), part.shape[-1])
    return out


def rms(x, w, eps):
    x64 = x.astype(np.float64)
    inv = 1.0 / np.sqrt((x64 * x64).sum(axis=-1, keepdims=True) / x.shape[-1] + float(F32(eps)))
    y = (x * inv.astype(F32))
    return (y * w).astype(F32) if w is not None else y.astype(F32)


def rope(x, freqs, positions, inverse=False):
    """Interleaved pairs on the last 2*len(freqs) dims of x [..., n, d] at positions [n]."""
    r = 2 * len(freqs)
    out = x.copy()
    angle = np.outer(positions.astype(np.float64), freqs.astype(np.float64))
    if inverse:
        angle = -angle
    shape = [1] * (x.ndim - 2) + [len(positions), len(freqs)]
    cos = np.cos(angle).astype(F32).reshape(shape)
    sin = np.sin(angle).astype(F32).reshape(shape)
    a = x[..., -r::2]
    b = x[..., -r + 1::2]
    out[..., -r::2] = a * cos - b * sin
    out[..., -r + 1::2] = a * sin + b * cos
    return out


def hadamard(x):
    """Fast Walsh-Hadamard butterflies in float32, then the 1/sqrt(n) scale."""
    n = x.shape[-1]
    x = x.astype(F32).copy()
    half = 1
    while half < n:
        y = x.reshape(*x.shape[:-1], n // (2 * half), 2, half)
        a, b = y[..., 0, :].copy(), y[..., 1, :].copy()
        y[..., 0, :] = a + b
        y[..., 1, :] = a - b
        x = y.reshape(*x.shape)
        half *= 2
    return x * (F32(1) / np.sqrt(F32(n)))


def sigmoid(x):
    return (1.0 / (1.0 + np.exp(-x.astype(F64)))).astype(F32)


def sinkhorn(c, iters, eps):
    eps = float(F32(eps))
    c = c.astype(F64)
    c = np.exp(c - c.max(axis=-1, keepdims=True))
    c = c / c.sum(axis=-1, keepdims=True) + eps
    c = c / (c.sum(axis=-2, keepdims=True) + eps)
    for _ in range(iters - 1):
        c = c / (c.sum(axis=-1, keepdims=True) + eps)
        c = c / (c.sum(axis=-2, keepdims=True) + eps)
    return c.astype(F32)


# ---------------------------------------------------------------- model
class Config:
    def __init__(self, path):
        c = json.load(open(path))
        self.__dict__.update(c)
        self.ratios = c["compress_ratios"]
        self.nope = c["head_dim"] - c["qk_rope_head_dim"]
        y = c["rope_scaling"]
        self.factor, self.orig = y["factor"], y["original_max_position_embeddings"]
        self.beta_fast, self.beta_slow = y["beta_fast"], y["beta_slow"]

    def freqs(self, ratio):
        r = self.qk_rope_head_dim
        theta = self.compress_rope_theta if ratio else self.rope_theta
        f = theta ** (-np.arange(0, r, 2, dtype=np.float64) / r)
        if ratio:
            low = max(0.0, math.floor(r * math.log(self.orig / (self.beta_fast * 2 * math.pi)) / (2 * math.log(theta))))
            high = min(r - 1.0, math.ceil(r * math.log(self.orig / (self.beta_slow * 2 * math.pi)) / (2 * math.log(theta))))
            ramp = np.clip((np.arange(r // 2) - low) / max(high - low, 1e-3), 0, 1)
            f = f * (1 - ramp) + f / self.factor * ramp
        return f.astype(F32)


class Model:
    def __init__(self, folder):
        self.c = Config(f"{folder}/config.json")
        self.w = Weights(load_checkpoint(folder))

    def hc_pre(self, X, p):
        c, w = self.c, self.w
        S, H, D = X.shape
        v = X.reshape(S, H * D)
        m = mm(v, w.vec(p + "_fn").reshape(-1, H * D)) * self.inverse_rms(v)
        s, b = w.vec(p + "_scale"), w.vec(p + "_base")
        pre = sigmoid(s[0] * m[:, :H] + b[:H]) + F32(c.hc_eps)
        post = 2 * sigmoid(s[1] * m[:, H:2 * H] + b[H:2 * H])
        comb = sinkhorn((s[2] * m[:, 2 * H:] + b[2 * H:]).reshape(S, H, H), c.hc_sinkhorn_iters, F32(c.hc_eps))
        u = bf16(np.einsum("sj,sjd->sd", pre.astype(F64), X.astype(F64)).astype(F32))
        return u, post, comb

    def inverse_rms(self, v):
        # float32 arithmetic on the float64-accumulated sum of squares, as the engine does
        ss = (v.astype(F64) ** 2).sum(axis=1, keepdims=True).astype(F32)
        return F32(1) / np.sqrt(ss / F32(v.shape[1]) + F32(self.c.rms_norm_eps))

    @staticmethod
    def hc_post(X, y, post, comb):
        total = post[:, :, None].astype(F64) * y[:, None, :] + np.einsum("sjk,sjd->skd", comb.astype(F64), X.astype(F64))
        return bf16(total.astype(F32))

    def compress(self, x, p, ratio, width, freqs, indexer):
        """All complete blocks of the sequence, pooled in parallel."""
        c, w = self.c, self.w
        S = x.shape[0]
        a = mm(x, w.mat(p + ".wkv")[0])
        z = mm(x, w.mat(p + ".wgate")[0]) + w.vec(p + ".ape")[np.arange(S) % ratio]
        nb = S // ratio
        entries = np.zeros((nb, width), dtype=F32)
        for j in range(nb):
            blk = slice(j * ratio, (j + 1) * ratio)
            if ratio == 4:
                kv_b, sc_b = a[blk, width:], z[blk, width:]
                if j > 0:
                    prev = slice((j - 1) * ratio, j * ratio)
                    kv_b = np.concatenate([a[prev, :width], kv_b])
                    sc_b = np.concatenate([z[prev, :width], sc_b])
            else:
                kv_b, sc_b = a[blk], z[blk]
            e = np.exp(sc_b.astype(F64) - sc_b.max(axis=0))
            entries[j] = ((e * kv_b).sum(axis=0) / e.sum(axis=0)).astype(F32)
        entries = rms(entries, w.vec(p + ".norm.weight"), c.rms_norm_eps)
        entries = rope(entries, freqs, np.arange(nb) * ratio)
        if indexer:
            entries = fp4_qat(hadamard(entries))
        else:
            entries[:, :c.nope] = fp8_qat(np.ascontiguousarray(entries[:, :c.nope]), 64)
        return bf16(entries)

    def attention(self, x, p, ratio):
        c, w = self.c, self.w
        S = x.shape[0]
        H, d, nope = c.num_attention_heads, c.head_dim, c.nope
        pos = np.arange(S)
        freqs = c.freqs(ratio)
        cq = bf16(rms(linear(x, w.mat(p + "wq_a")), w.vec(p + "q_norm.weight"), c.rms_norm_eps))
        q = linear(cq, w.mat(p + "wq_b")).reshape(S, H, d)
        q = rms(q, None, c.rms_norm_eps)
        q = bf16(rope(q.transpose(1, 0, 2), freqs, pos).transpose(1, 0, 2))
        kv = bf16(rms(linear(x, w.mat(p + "wkv")), w.vec(p + "kv_norm.weight"), c.rms_norm_eps))
        kv = rope(kv, freqs, pos)
        kv[:, :nope] = fp8_qat(np.ascontiguousarray(kv[:, :nope]), 64)
        kv = bf16(kv)

        entries = self.compress(x, p + "compressor", ratio, d, freqs, False) if ratio else None
        if ratio == 4:
            nI, dI = c.index_n_heads, c.index_head_dim
            keys = self.compress(x, p + "indexer.compressor", 4, dI, freqs, True)
            iq = linear(cq, w.mat(p + "indexer.wq_b")).reshape(S, nI, dI)
            iq = rope(iq.transpose(1, 0, 2), freqs, pos).transpose(1, 0, 2)
            iq = fp4_qat(hadamard(iq))
            iw = linear(x, w.mat(p + "indexer.weights_proj")) * F32(1.0 / (math.sqrt(dI) * math.sqrt(nI)))

        sink = w.vec(p + "attn_sink")
        out = np.zeros((S, H, d), dtype=F32)
        for t in range(S):
            cand = [kv[max(0, t - c.sliding_window + 1): t + 1]]
            if ratio:
                vis = (t + 1) // ratio
                if ratio == 128:
                    cand.append(entries[:vis])
                elif vis > 0:
                    score = (iw[t][:, None] * np.maximum(mm(iq[t], keys[:vis]), 0)).sum(axis=0)
                    k = min(c.index_topk, vis)
                    chosen = sorted(np.lexsort((np.arange(vis), -score))[:k])
                    cand.append(entries[chosen])
            e = np.concatenate(cand)
            logits = mm(q[t], e) * F32(1.0 / math.sqrt(d))
            top = np.maximum(logits.max(axis=1), sink).astype(F64)
            ex = np.exp(logits.astype(F64) - top[:, None]).astype(F32).astype(F64)
            den = ex.sum(axis=1) + np.exp(sink.astype(F64) - top)
            prob = bf16((ex / den[:, None]).astype(F32))
            out[t] = (prob.astype(F64) @ e.astype(F64)).astype(F32)
        out = bf16(rope(out.transpose(1, 0, 2), freqs, pos, inverse=True).transpose(1, 0, 2))
        G, R = c.o_groups, c.o_lora_rank
        wo_a, quantised = w.mat(p + "wo_a")
        groups = out.reshape(S, G, -1)
        z = np.concatenate([linear(groups[:, g], (wo_a[g * R:(g + 1) * R], quantised)) for g in range(G)], axis=1)
        return linear(z, w.mat(p + "wo_b"))

    def moe(self, x, p, tokens, hash_layer):
        c, w = self.c, self.w
        S = x.shape[0]
        logits = mm(x, w.mat(p + "gate")[0]).astype(F64)
        s = np.sqrt(np.where(logits > 20, logits, np.log1p(np.exp(np.minimum(logits, 20))))).astype(F32)
        if hash_layer:
            idx = w.raw[p + "gate.tid2eid"][1][tokens]
        else:
            biased = s + w.vec(p + "gate.bias")
            idx = np.stack([np.lexsort((np.arange(len(r)), -r))[:c.num_experts_per_tok] for r in biased])
        gates = np.take_along_axis(s, idx, axis=1)
        gates = gates / gates.sum(axis=1, keepdims=True) * F32(c.routed_scaling_factor)
        lim = F32(c.swiglu_limit)

        def expert(prefix, xs, g):
            h1 = linear(xs, w.mat(prefix + ".w1"))
            h3 = linear(xs, w.mat(prefix + ".w3"))
            g1 = np.minimum(h1, lim)
            silu = (g1.astype(F64) / (1 + np.exp(-g1.astype(F64)))).astype(F32)
            h = bf16(silu * np.clip(h3, -lim, lim) * g[:, None])
            return linear(h, w.mat(prefix + ".w2"))

        routed = np.zeros_like(x)
        for e in range(c.n_routed_experts):
            rows, slot = np.nonzero(idx == e)
            if len(rows):
                routed[rows] += expert(f"{p}experts.{e}", x[rows], gates[rows, slot])
        shared = expert(p + "shared_experts", x, np.ones(S, dtype=F32))
        return bf16(routed + shared)

    def block(self, X, p, ratio, tokens, hash_layer):
        c, w = self.c, self.w
        u, post, comb = self.hc_pre(X, p + "hc_attn")
        x = bf16(rms(u, w.vec(p + "attn_norm.weight"), c.rms_norm_eps))
        X = self.hc_post(X, self.attention(x, p + "attn.", ratio), post, comb)
        u, post, comb = self.hc_pre(X, p + "hc_ffn")
        x = bf16(rms(u, w.vec(p + "ffn_norm.weight"), c.rms_norm_eps))
        return self.hc_post(X, self.moe(x, p + "ffn.", tokens, hash_layer), post, comb)

    def residual(self, tokens):
        c, w = self.c, self.w
        tokens = np.asarray(tokens)
        X = np.repeat(w.vec("embed.weight").reshape(c.vocab_size, -1)[tokens][:, None, :], c.hc_mult, axis=1)
        for i in range(c.num_hidden_layers):
            X = self.block(X, f"layers.{i}.", c.ratios[i], tokens, i < c.num_hash_layers)
        return X

    def head(self, X, prefix, norm):
        c, w = self.c, self.w
        S, H, D = X.shape
        v = X.reshape(S, H * D)
        m = mm(v, w.vec(prefix + "hc_head_fn").reshape(H, H * D)) * self.inverse_rms(v)
        pre = sigmoid(m * w.vec(prefix + "hc_head_scale")[0] + w.vec(prefix + "hc_head_base")) + F32(c.hc_eps)
        u = bf16(np.einsum("sj,sjd->sd", pre.astype(F64), X.astype(F64)).astype(F32))
        n = bf16(rms(u, w.vec(norm), c.rms_norm_eps))
        return mm(n, w.mat("head")[0])

    def logits(self, X):
        return self.head(X, "", "norm.weight")

    def mtp(self, X, tokens):
        """The MTP block (note §5) at positions 0..S-2: main residual at t and token t+1."""
        c, w = self.c, self.w
        p = "mtp.0."
        nxt = np.asarray(tokens[1:])
        S1, D = len(nxt), c.hidden_size
        e = bf16(rms(w.vec("embed.weight").reshape(c.vocab_size, -1)[nxt], w.vec(p + "enorm.weight"), c.rms_norm_eps))
        from_token = linear(e, w.mat(p + "e_proj"))
        h = bf16(rms(X[:S1], w.vec(p + "hnorm.weight"), c.rms_norm_eps))
        hp = linear(h.reshape(S1 * c.hc_mult, D), w.mat(p + "h_proj")).reshape(S1, c.hc_mult, D)
        Y = bf16(hp + from_token[:, None, :])
        Y = self.block(Y, p, c.ratios[c.num_hidden_layers], nxt, False)
        return self.head(Y, p, p + "norm.weight")
