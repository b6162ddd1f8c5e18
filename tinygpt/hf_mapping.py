"""The one-to-one map between TinyGPT's parameters and Hugging Face GPT2LMHeadModel's.

TinyGPT's `Linear` stores weights as (out, in) like PyTorch; GPT-2's `Conv1D` stores (in, out), so the four
projections per block are transposed on the way across. Everything else is renamed only. No torch needed.
"""

from __future__ import annotations

import numpy as np

from .model import GPTConfig

CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def to_hf_state_dict(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TinyGPT weights (without the tied lm_head) -> GPT-2 names and layouts (without the tied lm_head)."""
    hf = {}
    for name, array in weights.items():
        if name == "lm_head.weight":
            continue
        if name.endswith(CONV1D_SUFFIXES):
            array = array.T
        hf[f"transformer.{name}"] = np.ascontiguousarray(array)
    return hf


def from_hf_state_dict(hf: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GPT-2 names and layouts -> TinyGPT weights. Buffers (attn.bias, attn.masked_bias) and lm_head are dropped."""
    weights = {}
    for name, array in hf.items():
        if name == "lm_head.weight" or name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        key = name[len("transformer."):] if name.startswith("transformer.") else name
        if key.endswith(CONV1D_SUFFIXES):
            array = array.T
        weights[key] = np.ascontiguousarray(array, dtype=np.float32)
    return weights


def to_hf_config(config: GPTConfig, eos_token_id: int | None = None) -> dict:
    """A GPT2Config dict describing exactly this TinyGPT (dropout off at inference, GELU-tanh, eps 1e-5)."""
    if config.pos_encoding != "learned" or not config.causal or not config.bias:
        raise ValueError("only the GPT-2 layout (learned positions, causal attention, biases) exports to GPT-2")
    eos = config.vocab_size - 1 if eos_token_id is None else eos_token_id
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_ctx": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "bos_token_id": eos,
        "eos_token_id": eos,
    }


def from_hf_config(hf_config: dict) -> GPTConfig:
    """GPTConfig from a GPT-2 config.json dict; raises ValueError naming what is not GPT-2-compatible."""
    if hf_config.get("model_type") != "gpt2":
        raise ValueError(f"model_type is {hf_config.get('model_type')!r}, only 'gpt2' can be imported")
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"activation_function {activation!r} is not GELU-tanh")
    if hf_config.get("n_inner") not in (None, 4 * hf_config["n_embd"]):
        raise ValueError(f"n_inner={hf_config['n_inner']} differs from 4 * n_embd")
    if abs(hf_config.get("layer_norm_epsilon", 1e-5) - 1e-5) > 1e-12:
        raise ValueError(f"layer_norm_epsilon {hf_config['layer_norm_epsilon']} differs from 1e-5")
    unsupported = [k for k in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn") if hf_config.get(k)]
    if unsupported or hf_config.get("scale_attn_weights", True) is False:
        raise ValueError(f"unsupported GPT-2 options: {unsupported or ['scale_attn_weights=False']}")
    return GPTConfig(vocab_size=hf_config["vocab_size"], block_size=hf_config["n_positions"],
                     n_layer=hf_config["n_layer"], n_head=hf_config["n_head"], n_embd=hf_config["n_embd"])
