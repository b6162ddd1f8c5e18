"""Functional API (`tinytorch.functional`, imported as F), including fused ops with hand-written backward.

Fused ops exist where composing primitives would create many NumPy temporaries on the hot path of a
transformer: `linear`, `layer_norm`, `cross_entropy`, `scaled_dot_product_attention`. Each is one
`Function`, and each is checked against PyTorch and against its own unfused composition in the tests.
"""

from __future__ import annotations

import math

import numpy as np

from . import ops
from ._parallel import for_row_blocks
from .autograd import Function
from .tensor import Tensor, default_rng


# ---- fused Functions -------------------------------------------------------------------------------------------
class Linear(Function):
    """y = x @ W.T + b with W of shape (out, in), as in PyTorch."""

    def forward(self, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(
                f"linear: input has {x.shape[-1]} features, weight {weight.shape} expects {weight.shape[1]}"
            )
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        out = x.reshape(-1, x.shape[-1]) @ weight.T  # one 2-D GEMM over all leading dims: faster than batched
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ self.weight).reshape(self.x.shape) if self.needs_grad[0] else None
        gw = (g2.T @ self.x.reshape(-1, self.x.shape[-1])) if self.needs_grad[1] else None
        gb = g2.sum(axis=0) if self.has_bias and self.needs_grad[2] else None
        return gx, gw, gb


class LayerNorm(Function):
    """Normalise over the last dim, then scale and shift (row blocks on all cores)."""

    def forward(self, x, weight, bias, eps=1e-5):
        rows = x.reshape(-1, x.shape[-1])
        n = rows.shape[1]
        self.xhat, self.rstd, self.weight = np.empty_like(rows), np.empty((rows.shape[0], 1), x.dtype), weight
        out = np.empty_like(rows)

        def kernel(r):
            xhat, o = self.xhat[r], out[r]
            np.subtract(rows[r], rows[r].mean(axis=1, keepdims=True), out=xhat)
            var = np.einsum("ij,ij->i", xhat, xhat)[:, None] / n
            self.rstd[r] = 1.0 / np.sqrt(var + eps)
            xhat *= self.rstd[r]
            np.multiply(xhat, weight, out=o)
            if bias is not None:
                o += bias

        for_row_blocks(kernel, rows.shape[0], rows.size)
        return out.reshape(x.shape)

    def backward(self, g):
        grads, xhat, n = g.reshape(-1, g.shape[-1]), self.xhat, self.xhat.shape[1]
        gx = np.empty_like(xhat)

        def kernel(r):
            gxhat = gx[r]
            np.multiply(grads[r], self.weight, out=gxhat)
            mean_g = gxhat.mean(axis=1, keepdims=True)
            mean_gx = np.einsum("ij,ij->i", gxhat, xhat[r])[:, None] / n
            gxhat -= mean_g
            gxhat -= xhat[r] * mean_gx
            gxhat *= self.rstd[r]

        for_row_blocks(kernel, xhat.shape[0], xhat.size)
        gw = np.einsum("ni,ni->i", grads, xhat) if self.needs_grad[1] else None
        gb = grads.sum(axis=0) if len(self.needs_grad) > 2 and self.needs_grad[2] else None
        return gx.reshape(g.shape), gw, gb


class CrossEntropy(Function):
    """Mean cross-entropy over all positions whose target is not `ignore_index`; logits (..., C), targets (...)."""

    def forward(self, logits, targets, ignore_index=-100):
        classes = logits.shape[-1]
        flat = logits.reshape(-1, classes)
        targets = np.asarray(targets).reshape(-1)
        if targets.shape[0] != flat.shape[0]:
            raise ValueError(f"cross_entropy: logits {logits.shape} and targets of {targets.shape[0]} positions differ")
        keep = targets != ignore_index
        safe_targets = np.where(keep, targets, 0)
        if keep.any() and (safe_targets.min() < 0 or safe_targets.max() >= classes):
            raise IndexError(f"cross_entropy: target out of range [0, {classes})")
        self.logits_shape, self.targets, self.keep = logits.shape, safe_targets, keep
        self.count = max(int(keep.sum()), 1)
        probs = np.empty_like(flat)
        log_normalizer = np.empty((flat.shape[0], 1), dtype=flat.dtype)  # logsumexp of each row

        def kernel(r):
            p, row_max = probs[r], flat[r].max(axis=1, keepdims=True)
            np.subtract(flat[r], row_max, out=p)
            np.exp(p, out=p)
            sums = p.sum(axis=1, keepdims=True)
            p /= sums
            log_normalizer[r] = row_max + np.log(sums)

        for_row_blocks(kernel, flat.shape[0], flat.size)
        self.probs = probs
        # log-softmax at the target from the logits, exact even where the probability underflows to 0
        log_probs_target = flat[np.arange(flat.shape[0]), safe_targets] - log_normalizer[:, 0]
        return np.asarray(-(log_probs_target * keep).sum() / self.count, dtype=logits.dtype)

    def backward(self, g):
        grad, self.probs = self.probs, None  # reuse the saved softmax buffer in place
        if grad is None:
            raise RuntimeError("cross_entropy: backward called twice on the same graph")
        grad[np.arange(grad.shape[0]), self.targets] -= 1
        row_scale = (self.keep * (g / self.count)).astype(grad.dtype)[:, None]

        def kernel(r):
            grad[r] *= row_scale[r]

        for_row_blocks(kernel, grad.shape[0], grad.size)
        return grad.reshape(self.logits_shape), None


_mask_cache: dict[tuple[int, int], np.ndarray] = {}


def causal_mask(query_len: int, key_len: int) -> np.ndarray:
    """Boolean (query_len, key_len) mask, True where attention is allowed; the queries are the last positions."""
    key = (query_len, key_len)
    if key not in _mask_cache:
        _mask_cache[key] = np.tril(np.ones(key, dtype=bool), k=key_len - query_len)
    return _mask_cache[key]


def _heads(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1, a.shape[-2], a.shape[-1])


class Attention(Function):
    """softmax(q k^T * scale + mask) v for q, k, v of shape (B, nh, T, hs): the (B * nh) heads are split into
    contiguous blocks, one per core, and each block is batched matrix products plus an in-place softmax."""

    def forward(self, q, k, v, mask=None, is_causal=False, scale=None):
        self.scale = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
        self.out_shape = q.shape[:-1] + (v.shape[-1],)
        self.q, self.k, self.v = _heads(q), _heads(k), _heads(v)  # (B*nh, T, hs)
        heads, q_len, k_len = self.q.shape[0], q.shape[-2], k.shape[-2]
        blocked = None if not is_causal else ~causal_mask(q_len, k_len)
        additive = None
        if mask is not None:
            full = np.broadcast_to(mask, q.shape[:-2] + (q_len, k_len)).reshape(heads, q_len, k_len)
            if mask.dtype == np.bool_:
                blocked = ~full if blocked is None else blocked | ~full
            else:
                additive = full
        self.probs = np.empty((heads, q_len, k_len), dtype=q.dtype)
        out = np.empty((heads, q_len, self.v.shape[-1]), dtype=q.dtype)

        def kernel(r):
            scores = self.probs[r]
            np.matmul(self.q[r], np.swapaxes(self.k[r], -1, -2), out=scores)
            scores *= self.scale
            if additive is not None:
                scores += additive[r]
            if blocked is not None:
                np.copyto(scores, -np.inf, where=blocked if blocked.ndim == 2 else blocked[r])
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            np.matmul(scores, self.v[r], out=out[r])

        for_row_blocks(kernel, heads, self.probs.size)
        return out.reshape(self.out_shape)

    def backward(self, g):
        g = _heads(g)
        gq, gk, gv = np.empty_like(self.q), np.empty_like(self.k), np.empty_like(self.v)

        def kernel(r):
            probs = self.probs[r]
            np.matmul(np.swapaxes(probs, -1, -2), g[r], out=gv[r])
            gscores = g[r] @ np.swapaxes(self.v[r], -1, -2)
            gscores -= np.einsum("hij,hij->hi", gscores, probs)[..., None]
            gscores *= probs
            gscores *= self.scale
            np.matmul(gscores, self.k[r], out=gq[r])
            np.matmul(np.swapaxes(gscores, -1, -2), self.q[r], out=gk[r])

        for_row_blocks(kernel, self.probs.shape[0], self.probs.size)
        shape = self.out_shape[:-2]
        return (gq.reshape(shape + self.q.shape[1:]), gk.reshape(shape + self.k.shape[1:]),
                gv.reshape(shape + self.v.shape[1:]), None)


class SelfAttention(Attention):
    """Multi-head attention straight from a fused projection qkv (B, T, 3C): split heads, attend, merge heads."""

    def forward(self, qkv, n_head, mask=None, is_causal=True):
        batch, time, three_c = qkv.shape
        heads = qkv.reshape(batch, time, 3, n_head, three_c // 3 // n_head).transpose(2, 0, 3, 1, 4)  # (3,B,nh,T,hs)
        out = super().forward(heads[0], heads[1], heads[2], mask, is_causal)  # (B, nh, T, hs)
        return out.transpose(0, 2, 1, 3).reshape(batch, time, three_c // 3)

    def backward(self, g):
        batch, n_head, time, head_size = self.out_shape
        gq, gk, gv, _ = super().backward(g.reshape(batch, time, n_head, head_size).transpose(0, 2, 1, 3))
        gqkv = np.empty((batch, time, 3, n_head, head_size), dtype=g.dtype)
        as_heads = gqkv.transpose(2, 0, 3, 1, 4)
        as_heads[0], as_heads[1], as_heads[2] = gq, gk, gv
        return gqkv.reshape(batch, time, 3 * n_head * head_size), None


# ---- the functional API ----------------------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return Linear.apply(x, weight, bias)


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    size = normalized_shape if isinstance(normalized_shape, int) else normalized_shape[-1]
    if x.shape[-1] != size:
        raise ValueError(f"layer_norm: last dim of input {x.shape} is not normalized_shape {size}")
    if weight is None:
        weight = Tensor._wrap(np.ones(size, dtype=x.dtype))
    return LayerNorm.apply(x, weight, bias, eps=eps)


def cross_entropy(logits: Tensor, targets, ignore_index: int = -100) -> Tensor:
    targets = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    return CrossEntropy.apply(logits, targets, ignore_index=ignore_index)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    """attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to (B, nh, Tq, Tk)."""
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
    return Attention.apply(q, k, v, mask, is_causal=is_causal, scale=scale)


def self_attention(qkv: Tensor, n_head: int, attn_mask=None, is_causal: bool = True) -> Tensor:
    """Fused multi-head self-attention on the output of one q/k/v projection: (B, T, 3C) -> (B, T, C)."""
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
    return SelfAttention.apply(qkv, n_head, mask, is_causal=is_causal)


def relu(x: Tensor) -> Tensor:
    return ops.Relu.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    return ops.Gelu.apply(x, approximate=approximate)


def tanh(x: Tensor) -> Tensor:
    return ops.Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.Sigmoid.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return ops.Softmax.apply(x, dim=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return ops.LogSoftmax.apply(x, dim=dim)


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
