"""The functional API (`tinytorch.functional`, imported as F): every op as a function of tensors.

Thin wrappers: primitives come from `ops`, the fused transformer kernels from `fused`; `cat`, `stack`, `split`,
`where` and `maximum` are also exported as `tinytorch.cat` and so on.
"""

from __future__ import annotations

import numpy as np

from . import fused, ops
from .creation import default_rng
from .fused import causal_mask  # noqa: F401  (part of the F API)
from .tensor import Tensor


def cat(tensors, dim: int = 0) -> Tensor:
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    return ops.Stack.apply(*tensors, dim=dim)


def split(t: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    return t.split(split_size_or_sections, dim)


def where(condition, a, b) -> Tensor:
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    like = a if isinstance(a, Tensor) else b
    return ops.Where.apply(condition, like._operand(a), like._operand(b))


def maximum(a: Tensor, b) -> Tensor:
    return ops.Maximum.apply(a, a._operand(b))


# ---- the functional API ----------------------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return fused.Linear.apply(x, weight, bias)


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    size = normalized_shape if isinstance(normalized_shape, int) else normalized_shape[-1]
    if x.shape[-1] != size:
        raise ValueError(f"layer_norm: last dim of input {x.shape} is not normalized_shape {size}")
    if weight is None:
        weight = Tensor._wrap(np.ones(size, dtype=x.dtype))
    return fused.LayerNorm.apply(x, weight, bias, eps=eps)


def cross_entropy(logits: Tensor, targets, ignore_index: int = -100) -> Tensor:
    targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    return fused.CrossEntropy.apply(logits, targets, ignore_index=ignore_index)


def linear_cross_entropy(x: Tensor, weight: Tensor, targets, ignore_index: int = -100) -> Tensor:
    """cross_entropy(linear(x, weight), targets) without ever holding all the logits: the output head and the loss
    run fused over blocks of rows (what a language model's training step wants)."""
    targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    return fused.LinearCrossEntropy.apply(x, weight, targets, ignore_index=ignore_index)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    """attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to (B, nh, Tq, Tk)."""
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
    return fused.Attention.apply(q, k, v, mask, is_causal=is_causal, scale=scale)


def self_attention(qkv: Tensor, n_head: int, attn_mask=None, is_causal: bool = True) -> Tensor:
    """Fused multi-head self-attention on the output of one q/k/v projection: (B, T, 3C) -> (B, T, C)."""
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
    return fused.SelfAttention.apply(qkv, n_head, mask, is_causal=is_causal)


def relu(x: Tensor) -> Tensor:
    return ops.Relu.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    return x.gelu(approximate)


def tanh(x: Tensor) -> Tensor:
    return ops.Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.Sigmoid.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return x.log_softmax(dim)


def embedding(indices, weight: Tensor) -> Tensor:
    indices = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    return ops.Embedding.apply(weight, indices)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    return ops.Dropout.apply(x, p, rng if rng is not None else default_rng())


def mse_loss(input: Tensor, target) -> Tensor:
    diff = input - target
    return (diff * diff).mean()


def binary_cross_entropy(input: Tensor, target, eps: float = 1e-12) -> Tensor:
    """Mean BCE on probabilities in (0, 1); log is clamped at log(eps) like PyTorch clamps at -100."""
    target = target if isinstance(target, Tensor) else Tensor(target, dtype=input.dtype)
    log_p = input.clamp(min=eps).log()
    log_1mp = (1 - input).clamp(min=eps).log()
    return -(target * log_p + (1 - target) * log_1mp).mean()
