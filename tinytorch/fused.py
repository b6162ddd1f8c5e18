"""Fused kernels: the ops a transformer spends its time in, each one `Function` with a hand-written backward.

Composing these from primitives would allocate a fresh array for every intermediate and stream each of them through
memory several times. Here the element-wise work runs over blocks of rows small enough to stay in the CPU cache
(`row_blocks`; GELU's and layer norm's blocks shared out over the BLAS thread count, `threads.for_each_block`),
writing into buffers allocated once per call, and the output head is fused with the loss so that
the (tokens x vocabulary) logits never exist at once. Each kernel states its backward's derivation in one comment
and is checked against PyTorch and against its unfused composition in the tests.
"""

from __future__ import annotations

import math

import numpy as np

from .autograd import Function
from .threads import for_each_block

BLOCK_ELEMENTS = 1 << 16  # 256 KB of float32 per block: several such blocks fit in a core's L2 cache


def row_blocks(rows: int, row_elements: int, block_elements: int = BLOCK_ELEMENTS):
    """Slices that cover `rows` in blocks of about `block_elements` elements."""
    step = max(1, block_elements // max(row_elements, 1))
    return [slice(start, min(start + step, rows)) for start in range(0, rows, step)]


class Linear(Function):
    """y = x @ W.T + b with W of shape (out, in), as in PyTorch. dx = g @ W, dW = g.T @ x, db = sum of g's rows."""

    def forward(self, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(f"Linear: input has {x.shape[-1]} features, weight {weight.shape} expects "
                             f"{weight.shape[1]}")
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        out = x.reshape(-1, x.shape[-1]) @ weight.T  # one 2-D GEMM over all leading dims: faster than batched
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        grad_rows = g.reshape(-1, g.shape[-1])
        gx = (grad_rows @ self.weight).reshape(self.x.shape) if self.needs_grad[0] else None
        gw = (grad_rows.T @ self.x.reshape(-1, self.x.shape[-1])) if self.needs_grad[1] else None
        gb = grad_rows.sum(axis=0) if self.has_bias and self.needs_grad[2] else None
        return gx, gw, gb


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


class GeluTanh(Function):
    """GPT-2's GELU: 0.5 x (1 + t), t = tanh(u), u = c (x + a x^3).
    d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)."""

    def forward(self, x):
        rows = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
        self.x, self.t = rows, np.empty_like(rows)
        out = np.empty_like(rows)

        def block(r: slice) -> None:
            xs, t, o = rows[r], self.t[r], out[r]
            np.multiply(xs, xs, out=t)  # u = x (c + c a x^2)
            t *= _SQRT_2_OVER_PI * _GELU_A
            t += _SQRT_2_OVER_PI
            t *= xs
            np.tanh(t, out=t)
            np.add(t, 1, out=o)
            o *= xs
            o *= 0.5

        for_each_block(block, row_blocks(*rows.shape))
        return out.reshape(x.shape)

    def backward(self, g):
        grads = g.reshape(self.x.shape)
        out = np.empty_like(self.x)

        def block(r: slice) -> None:
            xs, t, o = self.x[r], self.t[r], out[r]
            slope = xs * xs  # du/dx = c (1 + 3 a x^2)
            slope *= 3 * _GELU_A * _SQRT_2_OVER_PI
            slope += _SQRT_2_OVER_PI
            np.multiply(t, t, out=o)
            np.subtract(1, o, out=o)
            o *= slope
            o *= xs
            o += t
            o += 1
            o *= 0.5
            o *= grads[r]

        for_each_block(block, row_blocks(*self.x.shape))
        return (out.reshape(g.shape),)


class LayerNorm(Function):
    """y = xhat * w + b over the last dim, xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps).
    With dxhat = g * w: dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)); dw = sum(g * xhat)."""

    def forward(self, x, weight, bias, eps=1e-5):
        rows = x.reshape(-1, x.shape[-1])
        n = rows.shape[1]
        self.xhat, self.rstd, self.weight = np.empty_like(rows), np.empty((rows.shape[0], 1), x.dtype), weight
        out = np.empty_like(rows)

        def block(r: slice) -> None:
            xhat, o = self.xhat[r], out[r]
            np.subtract(rows[r], rows[r].mean(axis=1, keepdims=True), out=xhat)
            var = np.einsum("ij,ij->i", xhat, xhat)[:, None] / n
            self.rstd[r] = 1.0 / np.sqrt(var + eps)
            xhat *= self.rstd[r]
            np.multiply(xhat, weight, out=o)
            if bias is not None:
                o += bias

        for_each_block(block, row_blocks(*rows.shape))
        return out.reshape(x.shape)

    def backward(self, g):
        grads, xhat, n = g.reshape(-1, g.shape[-1]), self.xhat, self.xhat.shape[1]
        gx = np.empty_like(xhat)

        def block(r: slice) -> None:
            gxhat = gx[r]
            np.multiply(grads[r], self.weight, out=gxhat)
            mean_g = gxhat.mean(axis=1, keepdims=True)
            mean_gx = np.einsum("ij,ij->i", gxhat, xhat[r])[:, None] / n
            gxhat -= mean_g
            gxhat -= xhat[r] * mean_gx
            gxhat *= self.rstd[r]

        for_each_block(block, row_blocks(*xhat.shape))
        gw = np.einsum("ni,ni->i", grads, xhat) if self.needs_grad[1] else None
        gb = grads.sum(axis=0) if self.needs_grad[2] else None
        return gx.reshape(g.shape), gw, gb


def _targets(targets: np.ndarray, rows: int, classes: int, ignore_index: int, name: str):
    """Flat targets checked against the logits: (targets with ignored positions set to 0, kept mask, kept count)."""
    targets = np.asarray(targets).reshape(-1)
    if targets.shape[0] != rows:
        raise ValueError(f"{name}: {rows} positions of logits but {targets.shape[0]} targets")
    keep = targets != ignore_index
    safe = np.where(keep, targets, 0)
    if keep.any() and (safe.min() < 0 or safe.max() >= classes):
        raise IndexError(f"{name}: target out of range [0, {classes})")
    return safe, keep, max(int(keep.sum()), 1)


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Turn a block of logit rows into probabilities in place; returns each row's log normaliser (logsumexp)."""
    row_max = logits.max(axis=1, keepdims=True)
    logits -= row_max
    np.exp(logits, out=logits)
    sums = logits.sum(axis=1, keepdims=True)
    logits /= sums
    return row_max + np.log(sums)


class CrossEntropy(Function):
    """Mean cross-entropy over positions whose target is not `ignore_index`; logits (..., C), targets (...).
    loss = mean(logsumexp(z) - z[target]); dz = (softmax(z) - onehot(target)) / count on kept rows."""

    def forward(self, logits, targets, ignore_index=-100):
        flat = logits.reshape(-1, logits.shape[-1])
        self.targets, self.keep, self.count = _targets(targets, flat.shape[0], flat.shape[1], ignore_index,
                                                       "CrossEntropy")
        self.logits_shape = logits.shape
        target_logits = flat[np.arange(flat.shape[0]), self.targets]
        self.probs = flat.copy()
        log_normalizer = np.empty(flat.shape[0], dtype=flat.dtype)
        for r in row_blocks(*flat.shape):
            log_normalizer[r] = _softmax_rows(self.probs[r])[:, 0]
        # from the logits, exact even where the target's probability underflows to 0
        return np.asarray(((log_normalizer - target_logits) * self.keep).sum() / self.count, dtype=logits.dtype)

    def backward(self, g):
        grad = self.probs  # reuse the saved softmax buffer in place: this node runs backward once
        grad[np.arange(grad.shape[0]), self.targets] -= 1
        grad *= (self.keep * (g / self.count)).astype(grad.dtype)[:, None]
        return grad.reshape(self.logits_shape), None


class LinearCrossEntropy(Function):
    """Cross-entropy of the logits x @ W.T, computed in blocks of rows so that the full logits and their gradient
    never exist at once. When gradients are wanted they are computed during forward, block by block, from the
    probabilities still in cache: dz = (softmax(z) - onehot) / count, dx = dz @ W, dW = sum over blocks dz.T @ x;
    backward only scales them by the incoming (scalar) gradient."""

    BLOCK_LOGITS = 1 << 20  # logits per block: 4 MB of float32

    def forward(self, x, weight, targets, ignore_index=-100):
        rows = x.reshape(-1, x.shape[-1])
        vocab = weight.shape[0]
        if rows.shape[1] != weight.shape[1]:
            raise ValueError(f"LinearCrossEntropy: input has {rows.shape[1]} features, weight {weight.shape} "
                             f"expects {weight.shape[1]}")
        targets, keep, count = _targets(targets, rows.shape[0], vocab, ignore_index, "LinearCrossEntropy")
        wants_x, wants_w = (self.needs_grad[0], self.needs_grad[1]) if self.needs_grad else (False, False)
        self.gx = np.empty_like(rows) if wants_x else None
        self.gw = np.zeros_like(weight) if wants_w else None
        self.x_shape = x.shape
        total = 0.0
        step = max(1, self.BLOCK_LOGITS // vocab)
        logits = np.empty((min(step, rows.shape[0]), vocab), dtype=rows.dtype)
        for start in range(0, rows.shape[0], step):
            r = slice(start, min(start + step, rows.shape[0]))
            z = logits[: r.stop - r.start]
            np.matmul(rows[r], weight.T, out=z)
            picked = np.arange(z.shape[0]), targets[r]
            target_logits = z[picked].copy()
            log_normalizer = _softmax_rows(z)[:, 0]
            total += float(((log_normalizer - target_logits) * keep[r]).sum())
            if wants_x or wants_w:
                z[picked] -= 1
                z *= (keep[r] / count).astype(z.dtype)[:, None]
                if wants_x:
                    np.matmul(z, weight, out=self.gx[r])
                if wants_w:
                    self.gw += z.T @ rows[r]
        return np.asarray(total / count, dtype=x.dtype)

    def backward(self, g):
        gx = None if self.gx is None else (self.gx * g).reshape(self.x_shape)
        gw = None if self.gw is None else self.gw * g
        return gx, gw, None


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
    """out = P v, P = softmax(s), s = q k^T * scale (+ mask), for q, k, v (B, nh, T, hs), a few heads at a time.
    dv = P^T g; dP = g v^T; ds = P * (dP - sum(P * dP)) (softmax backward); dq = ds k * scale; dk = ds^T q * scale.

    With a causal mask, queries go in blocks of QUERY_BLOCK and a block only computes scores for the keys it may
    see (the queries are the last positions): the masked upper triangle, about half the work, is never done."""

    QUERY_BLOCK = 64

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
        step = self.QUERY_BLOCK if is_causal else q_len
        # (first query, last query + 1, keys seen): a causal block sees keys up to its last query's position
        self.query_blocks = [(start, min(start + step, q_len), k_len - q_len + min(start + step, q_len) if is_causal
                              else k_len) for start in range(0, q_len, step)]
        self.probs = np.zeros((heads, q_len, k_len), dtype=q.dtype)
        out = np.empty((heads, q_len, self.v.shape[-1]), dtype=q.dtype)
        scaled_q = self.q * np.asarray(self.scale, q.dtype)
        for r in row_blocks(heads, step * k_len):
            for first, last, keys in self.query_blocks:
                rows = (r, slice(first, last), slice(0, keys))
                scores = self.probs[rows]
                np.matmul(scaled_q[r, first:last], np.swapaxes(self.k[r, :keys], -1, -2), out=scores)
                if additive is not None:
                    scores += additive[rows]
                if blocked is not None:
                    np.copyto(scores, -np.inf, where=blocked[first:last, :keys] if blocked.ndim == 2 else
                              blocked[rows])
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                np.matmul(scores, self.v[r, :keys], out=out[r, first:last])
        return out.reshape(self.out_shape)

    def backward(self, g):
        g = _heads(g)
        gq = np.empty_like(self.q)
        gk, gv = np.zeros_like(self.k), np.zeros_like(self.v)
        heads, q_len, k_len = self.probs.shape
        step = self.query_blocks[0][1]
        for r in row_blocks(heads, step * k_len):
            for first, last, keys in self.query_blocks:
                probs, grads = self.probs[r, first:last, :keys], g[r, first:last]
                gv[r, :keys] += np.swapaxes(probs, -1, -2) @ grads
                gscores = grads @ np.swapaxes(self.v[r, :keys], -1, -2)
                gscores -= np.einsum("hij,hij->hi", gscores, probs)[..., None]
                gscores *= probs
                gscores *= self.scale
                np.matmul(gscores, self.k[r, :keys], out=gq[r, first:last])
                gk[r, :keys] += np.swapaxes(gscores, -1, -2) @ self.q[r, first:last]
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


# ---- inference kernels: the same math as the Functions above, on raw arrays, saving nothing -------------------
def linear_inference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    rows = x.reshape(-1, x.shape[-1])
    # For a few rows OpenBLAS is several times slower on rows @ W.T (transposed operand) than on W @ rows.T: measured
    # 4 x 256 @ 256 x 768 single-threaded, 159 us against 59 us (1 row: the same 16 us either way).
    out = (weight @ rows.T).T if rows.shape[0] <= 16 else rows @ weight.T
    if bias is not None:
        out += bias
    return out.reshape(x.shape[:-1] + (weight.shape[0],))


def layer_norm_inference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, eps: float) -> np.ndarray:
    centered = x - x.sum(axis=-1, keepdims=True) * np.float32(1.0 / x.shape[-1])
    variance = np.einsum("...i,...i->...", centered, centered)[..., None] * np.float32(1.0 / x.shape[-1])
    centered *= 1.0 / np.sqrt(variance + np.float32(eps))
    centered *= weight
    if bias is not None:
        centered += bias
    return centered


def gelu_tanh_inference(x: np.ndarray) -> np.ndarray:
    out = x * x
    out *= _SQRT_2_OVER_PI * _GELU_A
    out += _SQRT_2_OVER_PI
    out *= x
    np.tanh(out, out=out)
    out += 1
    out *= x
    out *= 0.5
    return out


def attention_inference(q: np.ndarray, k: np.ndarray, v: np.ndarray, is_causal: bool) -> np.ndarray:
    """softmax(q k^T / sqrt(hs)) v for (B, nh, T, hs) arrays that may be strided views (a KV cache's prefix).
    One new query attends to every key, so only a longer prefill needs the causal mask."""
    if q.shape[-2] > 1:
        return Attention().forward(q, k, v, None, is_causal=is_causal)
    scores = (q * np.float32(1.0 / math.sqrt(q.shape[-1]))) @ np.swapaxes(k, -1, -2)  # (B, nh, 1, L)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores @ v


def attention_probabilities(q: np.ndarray, k: np.ndarray, is_causal: bool) -> np.ndarray:
    """softmax(q k^T / sqrt(hs)) for (B, nh, T, hs) queries and (B, nh, L, hs) keys: (B, nh, T, L), every row
    summing to 1. The T queries are the last T of the L positions, so with `is_causal` query i sees keys up to
    L - T + i. For inspection (attention maps); the kernels above never materialise this for long inputs."""
    scores = (q * np.float32(1.0 / math.sqrt(q.shape[-1]))) @ np.swapaxes(k, -1, -2)
    if is_causal:
        query_len, key_len = scores.shape[-2:]
        scores = np.where(causal_mask(query_len, key_len), scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores.astype(np.float32, copy=False)
