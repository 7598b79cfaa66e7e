#!/usr/bin/env python3
"""Writes tests/data/golden/tiny_v4_transformers_golden.json: per-position logits (top-8 values and the
argmax) and greedy continuations of the tiny DeepSeek-V4 checkpoint, computed by the transformers
DeepSeek-V4 implementation itself (transformers/models/deepseek_v4, PyTorch on the CPU), on the token ids of
tests/data/golden/tiny_v4_golden.json. One-off: CI only reads the committed file.

usage: make_transformers_golden.py BUILD_DIR      (BUILD_DIR/bin/lectern-make-tiny-v4 must exist)

It makes its own venv (LECTERN_TRANSFORMERS_VENV, default /tmp/lectern-transformers-venv) with pinned
torch, transformers, safetensors, numpy and xxhash from PyPI.

transformers runs the official checkpoint only through its CUDA FP8/FP4 kernels, and it leaves out the
reference's quantisation-aware simulation and bf16 rounding points. This script loads the exactly
dequantised weights into transformers' own modules, runs them in float64, and puts the official semantics
back with small patches (install_official_semantics below; each one is listed in README.md). It also
measures how far transformers' logits are without those patches.
"""

import os
import subprocess
import sys

VENV = os.environ.get("LECTERN_TRANSFORMERS_VENV", "/tmp/lectern-transformers-venv")
PINNED = ["torch==2.15.0", "transformers==5.24.0", "safetensors", "numpy", "xxhash"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))

if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
    if not os.path.exists(f"{VENV}/bin/python"):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([f"{VENV}/bin/pip", "install", "-q", *PINNED])
    os.execv(f"{VENV}/bin/python", [f"{VENV}/bin/python", *sys.argv])

import json  # noqa: E402
import math  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
import xxhash  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers.models.deepseek_v4 import modeling_deepseek_v4 as hf  # noqa: E402

F64 = torch.float64
F32 = torch.float32
GREEDY_TOKENS = 8
TOP = 8


# ---------------------------------------------------------------- number formats (official QAT)
def bf16(x):
    """Round to bf16 the way the engine does: to float32 first, then to bf16 (nearest, ties to even)."""
    return x.to(torch.float32).to(torch.bfloat16).to(x.dtype)


def pow2_scale(amax, fmax):
    return torch.exp2(torch.ceil(torch.log2(torch.clamp(amax.to(torch.float32), min=1e-4) / fmax)))


def fp8_qat(x, block):
    """e4m3 quantise-dequantise in blocks of `block` along the last dim (a shorter last block when the dim is not a
    multiple), power-of-two (ue8m0) scales."""
    parts = []
    for part in torch.split(x, block, dim=-1):
        scale = pow2_scale(part.abs().amax(dim=-1, keepdim=True), 448.0).to(x.dtype)
        parts.append((part / scale).to(torch.float32).to(torch.float8_e4m3fn).to(x.dtype) * scale)
    return torch.cat(parts, dim=-1)


FP4_GRID = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6], dtype=F64)


def fp4_qat(x, block=32):
    """e2m1 quantise-dequantise (nearest, ties to the even mantissa), blocks of 32, power-of-two scales."""
    shape = x.shape
    blocks = x.reshape(*shape[:-1], shape[-1] // block, block)
    scale = pow2_scale(blocks.abs().amax(dim=-1, keepdim=True), 6.0).to(x.dtype)
    mag = (blocks / scale).abs().to(F64)
    hi = torch.clamp(torch.bucketize(mag, FP4_GRID), 1, 7)
    lo = hi - 1
    d_lo, d_hi = mag - FP4_GRID[lo], FP4_GRID[hi] - mag
    pick = torch.where(d_lo < d_hi, lo, torch.where(d_hi < d_lo, hi, torch.where(lo % 2 == 0, lo, hi)))
    q = torch.where(mag >= 6.0, FP4_GRID[7], FP4_GRID[pick]).to(x.dtype)
    return (torch.copysign(q, blocks) * scale).reshape(shape)


def hadamard(x):
    """The normalised 2^k-point Walsh-Hadamard rotation along the last dim."""
    n = x.shape[-1]
    h = torch.ones(1, 1, dtype=F64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return (x.to(F64) @ h.T / math.sqrt(n)).to(x.dtype)


# ---------------------------------------------------------------- checkpoint -> transformers parameters
def dequantised_tensors(folder):
    """Every tensor of the official-name checkpoint as float64 (FP8 e4m3 x E8M0 128x128 and packed FP4 e2m1 x
    E8M0 1x32 dequantised exactly), plus the I64 tid2eid tables as they are."""
    index = json.load(open(f"{folder}/model.safetensors.index.json"))
    raw = {}
    for shard in sorted(set(index["weight_map"].values())):
        with safe_open(f"{folder}/{shard}", "pt") as f:
            for name in f.keys():
                raw[name] = f.get_tensor(name)
    fp4_values = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=F64)
    out = {}
    for name, t in raw.items():
        if name.endswith(".scale") and name[:-6] + ".weight" in raw:
            continue
        if t.dtype == torch.float8_e4m3fn:
            scale = raw[name[:-7] + ".scale"].to(F64)
            rows, cols = t.shape
            full = scale.repeat_interleave(128, 0).repeat_interleave(128, 1)[:rows, :cols]
            out[name] = t.to(F64) * full
        elif t.dtype == torch.int8:  # packed FP4, low nibble = even column
            scale = raw[name[:-7] + ".scale"].to(F64)
            b = t.view(torch.uint8).to(torch.int64)
            values = torch.stack([fp4_values[b & 15], fp4_values[b >> 4]], dim=-1).reshape(t.shape[0], -1)
            out[name] = values * scale.repeat_interleave(32, 1)
        elif t.dtype == torch.int64:
            out[name] = t
        else:
            out[name] = t.to(F64)
    return out


# Official module name -> transformers parameter name (the facts of transformers' conversion_mapping.py).
# The first matching prefix is replaced, then every matching leaf.
PREFIXES = [
    ("attn.indexer.compressor.", "self_attn.compressor.indexer."),
    ("attn.indexer.weights_proj.", "self_attn.compressor.indexer.scorer.weights_proj."),
    ("attn.indexer.wq_b.", "self_attn.compressor.indexer.q_b_proj."),
    ("attn.", "self_attn."),
    ("ffn.gate.bias", "mlp.gate.e_score_correction_bias"),
    ("ffn.shared_experts.w1.", "mlp.shared_experts.gate_proj."),
    ("ffn.shared_experts.w2.", "mlp.shared_experts.down_proj."),
    ("ffn.shared_experts.w3.", "mlp.shared_experts.up_proj."),
    ("ffn.", "mlp."),
]
LEAVES = [
    ("attn_norm.", "input_layernorm."),
    ("ffn_norm.", "post_attention_layernorm."),
    ("hc_attn_", "attn_hc."),
    ("hc_ffn_", "ffn_hc."),
    ("attn_sink", "sinks"),
    ("compressor.norm.", "compressor.kv_norm."),
    ("indexer.norm.", "indexer.kv_norm."),
    ("compressor.ape", "compressor.position_bias"),
    ("indexer.ape", "indexer.position_bias"),
    ("wq_a.", "q_a_proj."),
    ("wq_b.", "q_b_proj."),
    ("wkv.", "kv_proj."),
    ("wgate.", "gate_proj."),
    ("wo_a.", "o_a_proj."),
    ("wo_b.", "o_b_proj."),
    ("q_norm.", "q_a_norm."),
]


def transformers_state_dict(tensors, config):
    state = {"model.embed_tokens.weight": tensors["embed.weight"], "lm_head.weight": tensors["head.weight"],
             "model.norm.weight": tensors["norm.weight"], "model.hc_head.hc_fn": tensors["hc_head_fn"],
             "model.hc_head.hc_base": tensors["hc_head_base"], "model.hc_head.hc_scale": tensors["hc_head_scale"]}
    for i in range(config.num_hidden_layers):
        prefix = f"layers.{i}."
        experts = {}
        for name, t in tensors.items():
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if rest.startswith("ffn.experts."):
                _, _, e, w, _ = rest.split(".")
                experts[(int(e), w)] = t
                continue
            old, new = next(((o, n) for o, n in PREFIXES if rest.startswith(o)), ("", ""))
            rest = new + rest[len(old):]
            for old, new in LEAVES:
                rest = rest.replace(old, new)
            state[f"model.layers.{i}.{rest}"] = t
        n = config.n_routed_experts
        state[f"model.layers.{i}.mlp.experts.gate_up_proj"] = torch.stack(
            [torch.cat([experts[(e, "w1")], experts[(e, "w3")]], 0) for e in range(n)])
        state[f"model.layers.{i}.mlp.experts.down_proj"] = torch.stack([experts[(e, "w2")] for e in range(n)])
    return state


def load_model(folder, dtype=F64):
    """transformers' model with the checkpoint's weights. For float32/bfloat16 the modules transformers keeps in
    float32 (_keep_in_fp32_modules_strict) and the RoPE frequency tables stay float32, as from_pretrained does."""
    settings = json.load(open(f"{folder}/config.json"))
    settings.pop("quantization_config")  # the weights are handed over dequantised
    config = hf.DeepseekV4Config(**settings)
    config._attn_implementation = "eager"
    config._experts_implementation = "eager"  # the class's own loop (grouped_mm has no float64)
    model = hf.DeepseekV4ForCausalLM(config).to(F64).eval()
    state = transformers_state_dict(dequantised_tensors(folder), config)
    model.load_state_dict(state, strict=True)
    if dtype != F64:
        keep = model._keep_in_fp32_modules_strict
        tables = {name: buffer.clone() for name, buffer in model.named_buffers() if name.endswith("inv_freq")}
        model.to(dtype)
        for name, module in model.named_modules():
            if name.split(".")[-1] in keep:
                module.to(torch.float32)
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            if name.split(".")[-1] in keep or name in tables:
                tensor.data = (tables[name] if name in tables else tensor.data).float()
    return model


# ---------------------------------------------------------------- the official semantics, as patches
QUANTISED_LINEARS = ("self_attn.q_a_proj", "self_attn.q_b_proj", "self_attn.kv_proj", "self_attn.o_a_proj",
                     "self_attn.o_b_proj", "compressor.indexer.q_b_proj", "shared_experts.gate_proj",
                     "shared_experts.up_proj", "shared_experts.down_proj")
BF16_OUTPUTS = ("input_layernorm", "post_attention_layernorm", "self_attn.q_a_norm", "self_attn.kv_norm",
                "scorer.weights_proj", "model.norm", "model.hc_head", "mlp")


def quantised_input(_module, args):
    """FP8 activation QAT in front of an FP8/FP4 linear: bf16 activations, 1x128 blocks."""
    return (fp8_qat(bf16(args[0]), 128),) + args[1:]


def bf16_output(_module, _args, output):
    return bf16(output)


def hc_bf16_collapsed(_module, _args, output):
    post, comb, collapsed = output
    return post, comb, bf16(collapsed)


def compressor_qat(module, _args, output):
    """FP8 QAT on the nope dims of the attention compressor's entries (blocks of 64), then bf16."""
    entries, bias = output
    nope = module.head_dim - module.rotary_emb.config.qk_rope_head_dim
    entries = torch.cat([fp8_qat(entries[..., :nope], 64), entries[..., nope:]], dim=-1)
    return bf16(entries), bias


def indexer_hadamard_fp4(_module, args):
    """The lightning indexer's queries and keys: Hadamard rotation, then FP4 QAT."""
    q, keys, hidden = args
    return fp4_qat(hadamard(q)), fp4_qat(hadamard(keys)), hidden


def attention_forward(self, hidden_states, position_embeddings, position_ids, attention_mask, cache=None,
                      **kwargs):
    """transformers' DeepseekV4Attention.forward with the official rounding: q bf16 after RoPE; kv FP8 QAT on
    the nope dims after RoPE, then bf16. (The output's bf16 rounding happens in o_a_proj's input hook.)"""
    input_shape = hidden_states.shape[:-1]
    hidden_shape = (*input_shape, -1, self.head_dim)
    cos, sin = position_embeddings[self.rope_layer_type]
    nope = self.head_dim - cos.shape[-1] * 2
    q_residual = self.q_a_norm(self.q_a_proj(hidden_states))
    q = self.q_b_proj(q_residual).view(*hidden_shape).transpose(1, 2)
    q = bf16(hf.apply_rotary_pos_emb(self.q_b_norm(q), cos, sin))  # patched: bf16
    kv = self.kv_norm(self.kv_proj(hidden_states)).view(*hidden_shape).transpose(1, 2)
    kv = hf.apply_rotary_pos_emb(kv, cos, sin)
    kv = bf16(torch.cat([fp8_qat(kv[..., :nope], 64), kv[..., nope:]], dim=-1))  # patched: QAT, bf16
    block_bias = None
    if self.compressor is not None:
        compressed_kv, block_bias = self.compressor(hidden_states, q_residual, position_ids, cache, self.layer_idx)
        kv = torch.cat([kv, compressed_kv], dim=2)
    if isinstance(attention_mask, torch.Tensor) and kv.shape[2] > attention_mask.shape[-1]:
        if block_bias is not None:
            attention_mask = torch.cat([attention_mask, block_bias.to(attention_mask.dtype)], dim=-1)
        else:
            attention_mask = F.pad(attention_mask, (0, kv.shape[2] - attention_mask.shape[-1]), value=0.0)
    attn_output, attn_weights = hf.eager_attention_forward(self, q, kv, kv, attention_mask, scaling=self.scaling)
    attn_output = hf.apply_rotary_pos_emb(attn_output.transpose(1, 2), cos, -sin).transpose(1, 2)
    grouped = attn_output.reshape(*input_shape, self.config.o_groups, -1)
    return self.o_b_proj(self.o_a_proj(grouped).flatten(2)), attn_weights


def eager_attention_forward(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """transformers' eager attention with the sink (one softmax over the entries and the sink logit), with the
    official kernel's bf16 probabilities; logits and exponentials rounded to float32 as the engine does."""
    logits = f32(torch.matmul(query, key.transpose(2, 3))) * f32(torch.tensor(scaling))
    if attention_mask is not None:
        logits = torch.where(attention_mask < -1e30, float("-inf"), logits.to(F64))
    sinks = module.sinks.to(F64).reshape(1, -1, 1, 1)
    top = torch.maximum(logits.amax(dim=-1, keepdim=True).to(F64), sinks)
    ex = f32(torch.exp(logits.to(F64) - top)).to(F64)
    den = ex.sum(dim=-1, keepdim=True) + torch.exp(sinks - top)
    probs = bf16(f32(ex / den).to(F64))  # patched: bf16
    return f32(torch.matmul(probs, value.to(F64))).to(query.dtype).transpose(1, 2).contiguous(), probs


def experts_forward(self, hidden_states, top_k_index, top_k_weights):
    """transformers' routed experts with the official order and rounding: FP8 activation QAT in front of both
    FP4 GEMMs, bf16 GEMM outputs, and the routing weight applied to h *before* w2 (transformers applies it
    after w2)."""
    final = torch.zeros_like(hidden_states)
    for expert in range(self.num_experts):
        token_idx, top_k_pos = torch.where(top_k_index == expert)
        if len(token_idx) == 0:
            continue
        x = fp8_qat(bf16(hidden_states[token_idx]), 128)
        gate, up = bf16(F.linear(x, self.gate_up_proj[expert])).chunk(2, dim=-1)
        h = fp8_qat(bf16(swiglu(gate, up, self.limit, top_k_weights[token_idx, top_k_pos, None])), 128)
        final.index_add_(0, token_idx, bf16(F.linear(h, self.down_proj[expert])))
    return final


def decoder_layer_forward(self, hidden_states, input_ids=None, **kwargs):
    """transformers' DeepseekV4DecoderLayer.forward with the official bf16 residual streams after each mHC."""
    post, comb, collapsed = self.attn_hc(hidden_states)
    attn_output, _ = self.self_attn(self.input_layernorm(collapsed), **kwargs)
    hidden_states = bf16(post.unsqueeze(-1) * attn_output.unsqueeze(-2)
                         + torch.matmul(comb.transpose(-1, -2).to(hidden_states.dtype), hidden_states))
    post, comb, collapsed = self.ffn_hc(hidden_states)
    mlp_output = self.mlp(self.post_attention_layernorm(collapsed), input_ids=input_ids)
    return bf16(post.unsqueeze(-1) * mlp_output.unsqueeze(-2)
                + torch.matmul(comb.transpose(-1, -2).to(hidden_states.dtype), hidden_states))


# ---------------------------------------------------------------- numerical alignment (not semantics)
# The tiny model amplifies one flipped bf16/FP8 rounding into visible logit changes a few layers later, so
# these patches make transformers' arithmetic round where the engine rounds: every sum is taken in float64 and
# rounded once to float32, elementwise work is float32 (transformers computes these steps in float32 with
# float32 sums, or in float64 here). The formulas stay transformers' own.
def f32(x):
    return x.to(F32)


def inverse_rms(x, eps):
    """float32(1 / sqrt(mean(x^2) + eps)), the mean summed in float64."""
    ss = (x.to(F64) ** 2).sum(-1, keepdim=True)
    return f32(1.0 / torch.sqrt(ss / x.shape[-1] + float(torch.tensor(eps, dtype=F32))))


def rms_norm_forward(self, x):
    return (f32(x) * inverse_rms(x, self.variance_epsilon) * f32(self.weight)).to(x.dtype)


def unweighted_rms_norm_forward(self, x):
    return (f32(x) * inverse_rms(x, self.eps)).to(x.dtype)


def sigmoid(x):
    return f32(1.0 / (1.0 + torch.exp(-x.to(F64))))


def mixes(flat, fn, eps):
    """The mHC mixes (W v) * rms(v)^-1: the product summed in float64, the rms in float32 arithmetic (each float32
    step done in float64 and rounded: torch's float32 reciprocal is not always correctly rounded)."""
    ss = f32((flat.to(F64) ** 2).sum(-1, keepdim=True)).to(F64)
    mean = f32(ss / flat.shape[-1]).to(F64)
    root = f32(torch.sqrt(f32(mean + f32(torch.tensor(eps)).item()).to(F64))).to(F64)
    return f32(flat.to(F64) @ fn.to(F64).T) * f32(1.0 / root)


def hyper_connection_forward(self, hidden_streams):
    """transformers' DeepseekV4HyperConnection.forward (same formulas and Sinkhorn order) at engine precision."""
    b, s = hidden_streams.shape[:2]
    hc = self.hc_mult
    m = mixes(hidden_streams.reshape(b, s, -1), self.fn, self.input_norm.eps)
    pre_w, post_w, comb_w = m.split([hc, hc, hc * hc], dim=-1)
    pre_b, post_b, comb_b = f32(self.base).split([hc, hc, hc * hc])
    pre_scale, post_scale, comb_scale = f32(self.scale).unbind(0)
    eps = float(torch.tensor(self.hc_eps, dtype=F32))
    pre = sigmoid(pre_w * pre_scale + pre_b) + f32(torch.tensor(eps))
    post = 2 * sigmoid(post_w * post_scale + post_b)
    comb = (comb_w * comb_scale + comb_b).view(b, s, hc, hc).to(F64)
    comb = torch.softmax(comb, dim=-1) + eps
    comb = comb / (comb.sum(dim=-2, keepdim=True) + eps)
    for _ in range(self.hc_sinkhorn_iters - 1):
        comb = comb / (comb.sum(dim=-1, keepdim=True) + eps)
        comb = comb / (comb.sum(dim=-2, keepdim=True) + eps)
    collapsed = f32((pre.to(F64).unsqueeze(-1) * hidden_streams.to(F64)).sum(dim=2)).to(hidden_streams.dtype)
    return post, f32(comb), collapsed


def hyper_head_forward(self, x):
    m = mixes(x.flatten(2), self.hc_fn, self.input_norm.eps)
    pre = sigmoid(m * f32(self.hc_scale) + f32(self.hc_base)) + f32(torch.tensor(self.eps))
    return f32((pre.to(F64).unsqueeze(-1) * x.to(F64)).sum(dim=2)).to(x.dtype)


def lowest_index_first(_module, _args, scores):
    """Exactly equal indexer scores (common in the tiny model: with 4 heads every ReLU is often 0) are ordered by
    entry index, as the engine does; torch.topk leaves their order unspecified. The scores become ranks, which
    only torch.topk reads."""
    order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
    ranks = torch.empty_like(order).scatter_(-1, order, torch.arange(scores.shape[-1]).expand_as(order))
    return -ranks.to(scores.dtype)


def f32_output(_module, _args, output):
    """Compressor GEMMs run in float32 in the reference: their float64 sums are rounded to float32."""
    return f32(output).to(output.dtype)


def router_weights(module, args, output):
    """The routing weights s_e / sum(s) * route_scale from float32 scores, in float32 arithmetic."""
    logits, _, indices = output
    scores = f32(torch.sqrt(F.softplus(f32(logits).to(F64))))
    gathered = scores.gather(1, indices)
    total = gathered[:, :1]
    for k in range(1, gathered.shape[1]):  # float32 sum, left to right
        total = f32(total.to(F64) + gathered[:, k:k + 1])
    scale = f32(torch.tensor(module.routed_scaling_factor)).item()
    weights = f32(f32(gathered.to(F64) / total.to(F64)).to(F64) * scale)
    return logits, weights.to(logits.dtype), indices


def swiglu(gate, up, limit, weight=None):
    """silu(min(gate, limit)) * clamp(up, -limit, limit) (* the routing weight), as the reference rounds it."""
    g = f32(gate.clamp(max=limit))
    silu = f32(g.to(F64) / (1.0 + torch.exp(-g.to(F64))))
    h = silu * f32(up.clamp(min=-limit, max=limit))
    return (h if weight is None else h * f32(weight)).to(gate.dtype)


def shared_expert_forward(self, x):
    return self.down_proj(swiglu(self.gate_proj(x), self.up_proj(x), self.limit))


def float64_frequencies(config, layer_type):
    """The RoPE inverse frequencies (the note's formula, YaRN on the compressed layers) in float64, rounded
    once to float32."""
    params = config.rope_parameters[layer_type]
    dim, theta = config.qk_rope_head_dim, params["rope_theta"]
    freqs = theta ** (-torch.arange(0, dim, 2, dtype=F64) / dim)
    if params["rope_type"] == "yarn":
        orig, factor = params["original_max_position_embeddings"], params["factor"]

        def bound(beta, rounding):
            return rounding(dim * math.log(orig / (beta * 2 * math.pi)) / (2 * math.log(theta)))

        low, high = max(bound(params["beta_fast"], math.floor), 0), min(bound(params["beta_slow"], math.ceil), dim - 1)
        ramp = torch.clamp((torch.arange(dim // 2, dtype=F64) - low) / max(high - low, 1e-3), 0, 1)
        freqs = freqs * (1 - ramp) + freqs / factor * ramp
    return f32(freqs)


def install_float64_frequencies(model):
    """Checks that transformers' float32 RoPE tables are the note's (within 4 float32 ulps: float32 arithmetic
    noise), then replaces them with the correctly rounded ones the engine uses."""
    for module in model.modules():
        if isinstance(module, hf.DeepseekV4RotaryEmbedding):
            for layer_type in module.layer_types:
                theirs = getattr(module, f"{layer_type}_inv_freq").to(F32)
                ours = float64_frequencies(module.config, layer_type)
                ulps = (theirs.view(torch.int32) - ours.view(torch.int32)).abs().max()
                assert ulps <= 4, f"transformers' {layer_type} RoPE frequencies differ from the note's by {ulps} ulps"
                setattr(module, f"{layer_type}_inv_freq", ours.to(F64))


def rotary_forward(self, x, position_ids, layer_type=None):
    """Angles and cos/sin in float64, rounded once to float32, as the engine computes them (transformers: float32
    throughout). They stay float32, so that apply_rotary_pos_emb rotates in float32 arithmetic, as the engine
    does, rather than in the model's float64."""
    inv_freq = getattr(self, f"{layer_type}_inv_freq").to(F64)
    freqs = position_ids[..., None].to(F64) * inv_freq
    return f32(freqs.cos()), f32(freqs.sin())


def install_official_semantics(model):
    hf.DeepseekV4Attention.forward = attention_forward
    hf.eager_attention_forward = eager_attention_forward
    hf.DeepseekV4Experts.forward = experts_forward
    hf.DeepseekV4DecoderLayer.forward = decoder_layer_forward
    for name, module in model.named_modules():
        if name.endswith(QUANTISED_LINEARS):
            module.register_forward_pre_hook(quantised_input)
            module.register_forward_hook(bf16_output)
        if name.endswith(BF16_OUTPUTS):
            module.register_forward_hook(bf16_output)
        if name.endswith(("attn_hc", "ffn_hc")):
            module.register_forward_hook(hc_bf16_collapsed)
        if isinstance(module, (hf.DeepseekV4HCACompressor, hf.DeepseekV4CSACompressor)):
            module.register_forward_hook(compressor_qat)
        if name.endswith("indexer.scorer"):
            module.register_forward_pre_hook(indexer_hadamard_fp4)


def install_engine_numerics(model):
    install_float64_frequencies(model)
    hf.DeepseekV4RotaryEmbedding.forward = rotary_forward
    hf.DeepseekV4RMSNorm.forward = rms_norm_forward
    hf.DeepseekV4UnweightedRMSNorm.forward = unweighted_rms_norm_forward
    hf.DeepseekV4HyperConnection.forward = hyper_connection_forward
    hf.DeepseekV4HyperHead.forward = hyper_head_forward
    hf.DeepseekV4MLP.forward = shared_expert_forward
    for name, module in model.named_modules():
        if name.endswith(("compressor.kv_proj", "compressor.gate_proj", "indexer.kv_proj", "indexer.gate_proj")):
            module.register_forward_hook(f32_output)
        if isinstance(module, (hf.DeepseekV4TopKRouter, hf.DeepseekV4HashRouter)):
            module.register_forward_hook(router_weights)
        if name.endswith("indexer.scorer"):
            module.register_forward_hook(lowest_index_first)


# ---------------------------------------------------------------- runs
def logits_of(model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens]), use_cache=False).logits[0].to(F64)


def top_entries(row):
    values, ids = torch.sort(row, descending=True, stable=True)
    return {"argmax": int(ids[0]), "top_ids": [int(i) for i in ids[:TOP]],
            "top_values": [round(float(v), 5) for v in values[:TOP]]}


def main():
    build = sys.argv[1]
    folder = "/tmp/lectern-transformers-golden-tiny-v4"
    subprocess.check_call([f"{build}/bin/lectern-make-tiny-v4", folder])
    numpy_golden = json.load(open(f"{ROOT}/tests/data/golden/tiny_v4_golden.json"))
    prompts = [p["tokens"] for p in numpy_golden["prompts"]]
    torch.set_num_threads(2)

    # transformers as it is (float32; bfloat16 as from_pretrained loads the checkpoint), then float64 with the
    # engine's numerics but without the official-semantics patches, then the golden run with both.
    plain = {str(dtype).replace("torch.", ""): [logits_of(load_model(folder, dtype), t) for t in prompts]
             for dtype in (torch.float32, torch.bfloat16)}
    numerics_only = load_model(folder)
    install_engine_numerics(numerics_only)
    plain["float64, engine numerics, no semantic patches"] = [logits_of(numerics_only, t) for t in prompts]
    model = load_model(folder)
    install_engine_numerics(model)
    install_official_semantics(model)

    hashes = {name: xxhash.xxh64(open(f"{folder}/{name}", "rb").read()).hexdigest()
              for name in sorted(os.listdir(folder)) if name.endswith(".safetensors")}
    out = {"source": f"transformers {transformers.__version__} (torch {torch.__version__}) DeepseekV4ForCausalLM, "
                     "float64, official-semantics patches of make_transformers_golden.py",
           "checkpoint_xxh64": hashes, "top": TOP, "prompts": []}
    for tokens, numpy_prompt in zip(prompts, numpy_golden["prompts"]):
        logits = logits_of(model, tokens)
        positions = [top_entries(row) for row in logits]
        greedy, sequence = [], list(tokens)
        for _ in range(GREEDY_TOKENS):
            nxt = int(torch.argmax(logits_of(model, sequence)[-1]))
            greedy.append(nxt)
            sequence.append(nxt)
        top2 = torch.topk(logits, 2, dim=-1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        vs_numpy = max(abs(float(logits[t, i]) - v) for t, p in enumerate(numpy_prompt["positions"])
                       for i, v in zip(p["top_ids"], p["top_values"]))
        same_top1 = sum(int(torch.argmax(logits[t])) == p["argmax"] for t, p in enumerate(numpy_prompt["positions"]))
        unpatched = {dtype: float((rows[len(out["prompts"])] - logits).abs().max()) for dtype, rows in plain.items()}
        unpatched_top1 = {dtype: int((torch.argmax(rows[len(out["prompts"])], -1) == torch.argmax(logits, -1)).sum())
                          for dtype, rows in plain.items()}
        out["prompts"].append({"tokens": tokens, "positions": positions, "greedy": greedy,
                               "min_top1_margin": round(margin, 5)})
        print(f"prompt of {len(tokens)} tokens: greedy {greedy} (NumPy reference {numpy_prompt['greedy']}); "
              f"smallest top-1 margin {margin:.4f}; vs the NumPy golden: max |diff| {vs_numpy:.6f} on its top-8, "
              f"same top-1 at {same_top1}/{len(tokens)}; unpatched transformers: max |diff| {unpatched}, "
              f"same top-1 at {unpatched_top1}")
    target = f"{ROOT}/tests/data/golden/tiny_v4_transformers_golden.json"
    with open(target, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", target)


if __name__ == "__main__":
    main()
