"""Attention and the transformer block: MultiHeadAttention, MLP, pre-LN TransformerBlock, positional encodings,
and the preallocated key/value cache used for fast generation.

Names follow GPT-2 (`c_attn` is the fused q/k/v projection, `c_proj` the output projection), so weights map
one to one onto Hugging Face's GPT2 modules.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import fused
from ..autograd import is_grad_enabled
from ..tensor import Tensor
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import Module


class KVCache:
    """Keys and values of one attention layer, preallocated for `max_len` positions: (B, nh, max_len, hs).

    `append` writes the new positions in place and returns views of everything cached so far, so each
    generated token costs one position of attention instead of a re-run over the whole prefix.
    """

    def __init__(self, batch_size: int, n_head: int, max_len: int, head_size: int, dtype=np.float32):
        self.keys = np.zeros((batch_size, n_head, max_len, head_size), dtype=dtype)
        self.values = np.zeros_like(self.keys)
        self.length = 0

    @property
    def max_len(self) -> int:
        return self.keys.shape[2]

    def append(self, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        new_length = self.length + keys.shape[2]
        if new_length > self.max_len:
            raise ValueError(f"KVCache: {new_length} positions exceed the preallocated {self.max_len}")
        self.keys[:, :, self.length:new_length] = keys
        self.values[:, :, self.length:new_length] = values
        self.length = new_length
        return self.keys[:, :, :new_length], self.values[:, :, :new_length]

    def reorder(self, batch_indices: np.ndarray) -> None:
        """Keep rows `batch_indices` (beam search reorders beams after each step)."""
        self.keys[:, :, : self.length] = self.keys[batch_indices, :, : self.length]
        self.values[:, :, : self.length] = self.values[batch_indices, :, : self.length]

    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes


class MultiHeadAttention(Module):
    """Multi-head self-attention with one fused q/k/v projection; causal (GPT) or bidirectional."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True, causal: bool = True):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"MultiHeadAttention: n_embd={n_embd} is not divisible by n_head={n_head}")
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = Linear(n_embd, n_embd, bias=bias)
        self.attn_dropout_p = dropout
        self.resid_dropout = Dropout(dropout)

    def forward(self, x: Tensor, attn_mask=None) -> Tensor:
        """x (B, T, C) -> (B, T, C), the graph recorded; decoding through a KV cache is `infer`."""
        qkv = self.c_attn(x)  # (B, T, 3C)
        if self.attn_dropout_p and self.training:
            y = self._attend_with_dropout(qkv, attn_mask)
        else:
            y = F.self_attention(qkv, self.n_head, attn_mask, is_causal=self.causal)
        return self.resid_dropout(self.c_proj(y))

    def infer(self, x: np.ndarray, kv_cache: KVCache, attentions: list | None = None) -> np.ndarray:
        """forward for decoding, on raw arrays: the new positions x (B, T, C) attend to every position cached before
        them and to each other (causally), their keys and values appended to `kv_cache` first. With an `attentions`
        list, the attention probabilities (B, nh, T, L) are computed explicitly and appended to it (for inspection, as
        transformers' `output_attentions`); the result is the same."""
        if is_grad_enabled():
            raise RuntimeError("MultiHeadAttention: the KV cache is for inference; run it under tinytorch.no_grad()")
        batch, time, _ = x.shape
        qkv = self.c_attn.infer(x)  # (B, T, 3C)
        heads = qkv.reshape(batch, time, 3, self.n_head, self.n_embd // self.n_head).transpose(2, 0, 3, 1, 4)
        keys, values = kv_cache.append(heads[1], heads[2])  # (B, nh, L, hs)
        if attentions is None:
            out = fused.attention_inference(heads[0], keys, values, self.causal)
        else:
            probs = fused.attention_probabilities(heads[0], keys, self.causal)  # (B, nh, T, L)
            attentions.append(probs)
            out = probs @ values
        return self.c_proj.infer(out.transpose(0, 2, 1, 3).reshape(batch, time, self.n_embd))

    def _split_heads(self, t: Tensor) -> Tensor:
        batch, time, _ = t.shape
        return t.reshape(batch, time, self.n_head, self.n_embd // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

    def _attend_with_dropout(self, qkv: Tensor, attn_mask) -> Tensor:
        """Unfused path, used only for attention dropout in training: softmax, dropout, then weight the values."""
        batch, time, _ = qkv.shape
        q, k, v = (self._split_heads(t) for t in qkv.split(self.n_embd, dim=2))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.n_embd // self.n_head))
        if self.causal:
            scores = scores.masked_fill(~F.causal_mask(time, time), -np.inf)
        if attn_mask is not None:
            allowed = np.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
            scores = scores.masked_fill(~allowed, -np.inf)
        weights = F.dropout(F.softmax(scores, -1), self.attn_dropout_p, True)
        return (weights @ v).transpose(1, 2).reshape(batch, time, self.n_embd)


class MLP(Module):
    """Position-wise feed-forward: Linear(C, 4C) -> GELU -> Linear(4C, C)."""

    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True, approximate: str = "tanh"):
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.approximate = approximate
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), self.approximate)))

    def infer(self, x: np.ndarray) -> np.ndarray:
        """forward on raw arrays, for decoding (no dropout: inference)."""
        h = self.c_fc.infer(x)
        if self.approximate == "tanh":
            return self.c_proj.infer(fused.gelu_tanh_inference(h))
        return self.c_proj.infer(F.gelu(Tensor._wrap(h), self.approximate).data)


class TransformerBlock(Module):
    """Pre-LN block: x + attn(ln_1(x)), then x + mlp(ln_2(x)), one function for training and for decoding.

    Without a cache, x is a Tensor of whole sequences and the graph is recorded (training, and a window read whole).
    With `kv_cache`, x is a raw (B, T, C) array of the new positions only, which attend to the cached ones: the same
    two lines through each layer's `infer`, its forward on raw arrays without a graph, so that a generated token costs
    a few dozen small NumPy calls per block. `attentions` (with a cache): see MultiHeadAttention.infer.
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True, causal: bool = True,
                 eps: float = 1e-5):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, eps=eps, bias=bias)
        self.attn = MultiHeadAttention(n_embd, n_head, dropout, bias, causal)
        self.ln_2 = LayerNorm(n_embd, eps=eps, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: Tensor | np.ndarray, attn_mask=None, kv_cache: KVCache | None = None,
                attentions: list | None = None) -> Tensor | np.ndarray:
        if kv_cache is None:
            x = x + self.attn(self.ln_1(x), attn_mask)
            return x + self.mlp(self.ln_2(x))
        if isinstance(x, Tensor) or attn_mask is not None:
            raise TypeError("TransformerBlock: with a kv_cache, x is a raw array of the new positions (a Tensor's "
                            ".data), without attn_mask (decoding records no graph and masks causally)")
        x = x + self.attn.infer(self.ln_1.infer(x), kv_cache, attentions)
        return x + self.mlp.infer(self.ln_2.infer(x))


class LearnedPositionalEmbedding(Embedding):
    """One learned vector per position (GPT-2's wpe)."""

    def forward(self, positions) -> Tensor:
        return super().forward(positions)


class SinusoidalPositionalEncoding(Module):
    """Fixed sin/cos encodings of "Attention Is All You Need"; no parameters."""

    def __init__(self, max_len: int, n_embd: int):
        super().__init__()
        position = np.arange(max_len, dtype=np.float64)[:, None]
        frequency = np.exp(np.arange(0, n_embd, 2, dtype=np.float64) * (-math.log(10000.0) / n_embd))
        table = np.zeros((max_len, n_embd), dtype=np.float64)
        table[:, 0::2] = np.sin(position * frequency)
        table[:, 1::2] = np.cos(position * frequency)[:, : n_embd // 2]
        self.table = table.astype(np.float32)

    def forward(self, positions) -> Tensor:
        return Tensor._wrap(self.infer(positions.data if isinstance(positions, Tensor) else np.asarray(positions)))

    def infer(self, positions: np.ndarray) -> np.ndarray:
        return self.table[positions]
