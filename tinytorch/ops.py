"""The primitive differentiable ops: the one place that does array math for autograd.

Each op is a small `Function`: `forward` computes on NumPy arrays and saves what `backward` needs;
`backward` says locally how the output gradient flows to each input. Broadcasting is undone by
`unbroadcast` in every binary op.
"""

from __future__ import annotations

import math

import numpy as np

from ._parallel import for_row_blocks
from .autograd import Function, unbroadcast


def _shape_of(x) -> tuple[int, ...]:
    return np.shape(x)


# ---- elementwise binary ----------------------------------------------------------------------------------------
class Add(Function):
    def forward(self, a, b):
        self.shapes = (_shape_of(a), _shape_of(b))
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = (_shape_of(a), _shape_of(b))
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ga = unbroadcast(g * self.b, _shape_of(self.a)) if self.needs_grad[0] else None
        gb = unbroadcast(g * self.a, _shape_of(self.b)) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = unbroadcast(g / self.b, _shape_of(self.a)) if self.needs_grad[0] else None
        gb = unbroadcast(-g * self.a / (self.b * self.b), _shape_of(self.b)) if self.needs_grad[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g * b * np.power(a, b - 1), _shape_of(a)) if self.needs_grad[0] else None
        gb = None
        if len(self.needs_grad) > 1 and self.needs_grad[1]:
            safe_log = np.log(np.where(a > 0, a, 1)).astype(self.out.dtype)
            gb = unbroadcast(g * self.out * safe_log, _shape_of(b))
        return ga, gb


class Maximum(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        a_share = np.where(self.a == self.b, 0.5, self.a > self.b).astype(g.dtype)  # ties split evenly, as in PyTorch
        ga = unbroadcast(g * a_share, _shape_of(self.a))
        gb = unbroadcast(g * (1 - a_share), _shape_of(self.b))
        return ga, gb


class Matmul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:  # first, so that 1-D @ 1-D (a 0-d g) becomes (1, 1)
            g = g[..., None]
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:  # (..., n, k) @ (k, m): fold the batch into one GEMM
                gb = a2.reshape(-1, a2.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            else:
                gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


# ---- elementwise unary -----------------------------------------------------------------------------------------
class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Exp(Function):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Tanh(Function):
    def forward(self, a):
        self.out = np.tanh(a)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Function):
    def forward(self, a):
        self.out = 0.5 * (np.tanh(0.5 * a) + 1)  # numerically safe for large |a|
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class Relu(Function):
    def forward(self, a):
        self.positive = a > 0
        return a * self.positive

    def backward(self, g):
        return (g * self.positive,)


class Clamp(Function):
    def forward(self, a, min=None, max=None):
        out = np.clip(a, min, max)
        self.inside = out == a
        return out

    def backward(self, g):
        return (g * self.inside,)


class Abs(Function):
    def forward(self, a):
        self.sign = np.sign(a)
        return np.abs(a)

    def backward(self, g):
        return (g * self.sign,)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function (NumPy has none): Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, enough for float32."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def _rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


class Gelu(Function):
    """GELU, exact (x * Phi(x)) or with GPT-2's tanh approximation (in place, row blocks on all cores)."""

    def forward(self, x, approximate: str = "none"):
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            rows = _rows(x)
            out, self.t = np.empty_like(rows), np.empty_like(rows)

            def kernel(r):
                xs, t, o = rows[r], self.t[r], out[r]
                np.multiply(xs, xs, out=t)  # t = tanh(c * (x + a x^3)) = tanh(x * (c + c a x^2))
                t *= _SQRT_2_OVER_PI * _GELU_A
                t += _SQRT_2_OVER_PI
                t *= xs
                np.tanh(t, out=t)
                np.add(t, 1, out=o)
                o *= xs
                o *= 0.5

            for_row_blocks(kernel, rows.shape[0], rows.size)
            return out.reshape(x.shape)
        if approximate != "none":
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.cdf = (0.5 * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)
        return x * self.cdf

    def backward(self, g):
        x = self.x
        if self.approximate == "tanh":
            rows, grads = _rows(x), _rows(g)
            out = np.empty_like(rows)

            def kernel(r):
                xs, t, o = rows[r], self.t[r], out[r]
                slope = xs * xs  # d/dx of the tanh argument: c (1 + 3 a x^2)
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

            for_row_blocks(kernel, rows.shape[0], rows.size)
            return (out.reshape(x.shape),)
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (g * (self.cdf + x * pdf),)


# ---- reductions ------------------------------------------------------------------------------------------------
def _axes(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(d % ndim if ndim else 0 for d in dims)


def _expand(g, shape, axes, keepdim):
    if not keepdim:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, _axes(dim, a.ndim), keepdim
        return np.asarray(a.sum(axis=self.axes, keepdims=keepdim))

    def backward(self, g):
        return (_expand(g, self.shape, self.axes, self.keepdim),)


class Mean(Function):
    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, _axes(dim, a.ndim), keepdim
        self.count = math.prod(a.shape[i] for i in self.axes)
        return np.asarray(a.mean(axis=self.axes, keepdims=keepdim))

    def backward(self, g):
        return (_expand(g / self.count, self.shape, self.axes, self.keepdim),)


class Max(Function):
    """max over dims; the gradient is shared equally among tied maxima (like torch.amax)."""

    def forward(self, a, dim=None, keepdim=False):
        self.axes, self.keepdim = _axes(dim, a.ndim), keepdim
        out = a.max(axis=self.axes, keepdims=True)
        self.mask = a == out
        return np.asarray(out if keepdim else np.squeeze(out, self.axes))

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.axes)
        counts = self.mask.sum(axis=self.axes, keepdims=True)
        return (self.mask * (g / counts),)


class Var(Function):
    def forward(self, a, dim=None, keepdim=False, correction=1):
        self.axes, self.keepdim = _axes(dim, a.ndim), keepdim
        n = math.prod(a.shape[i] for i in self.axes)
        self.denominator = max(n - correction, 0)
        self.centered = a - a.mean(axis=self.axes, keepdims=True)
        out = (self.centered * self.centered).sum(axis=self.axes, keepdims=keepdim) / self.denominator
        return np.asarray(out, dtype=a.dtype)

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.axes)
        return (g * self.centered * (2.0 / self.denominator),)


# ---- softmax family --------------------------------------------------------------------------------------------
class Softmax(Function):
    def forward(self, a, dim=-1):
        self.dim = dim
        e = np.exp(a - a.max(axis=dim, keepdims=True))
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, g):
        p = self.out
        return (p * (g - (g * p).sum(axis=self.dim, keepdims=True)),)


class LogSoftmax(Function):
    def forward(self, a, dim=-1):
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, g):
        return (g - np.exp(self.out) * g.sum(axis=self.dim, keepdims=True),)


# ---- shape and indexing ----------------------------------------------------------------------------------------
class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    def forward(self, a, dims):
        self.dims = tuple(d % a.ndim for d in dims)
        return a.transpose(self.dims)

    def backward(self, g):
        return (g.transpose(np.argsort(self.dims)),)


class Expand(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


def _has_array_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=self.dtype)
        if _has_array_index(self.index):
            np.add.at(grad, self.index, g)  # repeated indices accumulate
        else:
            grad[self.index] = g
        return (grad,)


class Cat(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.splits = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.split(g, self.splits, axis=self.dim))


class Stack(Function):
    def forward(self, *arrays, dim=0):
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.dim, 0))


class Where(Function):
    def forward(self, condition, a, b):
        self.condition, self.shapes = condition, (_shape_of(a), _shape_of(b))
        return np.where(condition, a, b)

    def backward(self, g):
        zero = np.zeros((), dtype=g.dtype)
        ga = unbroadcast(np.where(self.condition, g, zero), self.shapes[0])
        gb = unbroadcast(np.where(self.condition, zero, g), self.shapes[1])
        return None, ga, gb


class Embedding(Function):
    """Row lookup `weight[indices]`; backward scatters (adds) gradient rows back, repeated ids accumulate."""

    def forward(self, weight, indices):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            raise IndexError(f"embedding: index out of range [0, {weight.shape[0]}) (max {indices.max()})")
        self.weight_shape, self.indices = weight.shape, indices
        return weight[indices]

    def backward(self, g):
        grad = np.zeros(self.weight_shape, dtype=g.dtype)
        np.add.at(grad, self.indices.reshape(-1), g.reshape(-1, self.weight_shape[1]))
        return grad, None


class Dropout(Function):
    def forward(self, a, p, rng):
        self.scaled_mask = (rng.random(a.shape, dtype=np.float32) >= p).astype(a.dtype) / (1 - p)
        return a * self.scaled_mask

    def backward(self, g):
        return (g * self.scaled_mask,)
