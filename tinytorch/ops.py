"""The primitive differentiable ops. Each is a small `Function`: `forward` computes on NumPy arrays and keeps what
`backward` needs; `backward` states the local gradient, d(out)/d(input) times the incoming gradient `g`.
Broadcasting in binary ops is undone by `unbroadcast`. The fused kernels of a transformer live in `fused.py`.
"""

from __future__ import annotations

import math

import numpy as np

from .autograd import Function, unbroadcast


# ---- element-wise binary ---------------------------------------------------------------------------------------
class Add(Function):  # d(a + b) = da + db
    def forward(self, a, b):
        self.shapes = np.shape(a), np.shape(b)
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):  # d(a - b) = da - db
    def forward(self, a, b):
        self.shapes = np.shape(a), np.shape(b)
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):  # d(a b) = b da + a db
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ga = unbroadcast(g * self.b, np.shape(self.a)) if self.needs_grad[0] else None
        gb = unbroadcast(g * self.a, np.shape(self.b)) if self.needs_grad[1] else None
        return ga, gb


class Div(Function):  # d(a / b) = da / b - a db / b^2
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = unbroadcast(g / self.b, np.shape(self.a)) if self.needs_grad[0] else None
        gb = unbroadcast(-g * self.a / (self.b * self.b), np.shape(self.b)) if self.needs_grad[1] else None
        return ga, gb


class Pow(Function):  # d(a^b) = b a^(b-1) da + a^b log(a) db
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g * b * np.power(a, b - 1), np.shape(a)) if self.needs_grad[0] else None
        gb = None
        if self.needs_grad[1]:
            safe_log = np.log(np.where(a > 0, a, 1)).astype(self.out.dtype)
            gb = unbroadcast(g * self.out * safe_log, np.shape(b))
        return ga, gb


class Maximum(Function):  # the gradient goes to the larger input; ties split it evenly, as in PyTorch
    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        a_share = np.where(self.a == self.b, 0.5, self.a > self.b).astype(g.dtype)
        return unbroadcast(g * a_share, np.shape(self.a)), unbroadcast(g * (1 - a_share), np.shape(self.b))


class Matmul(Function):  # d(a @ b) = da @ b + a @ db, so ga = g @ b^T and gb = a^T @ g
    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        # 1-D operands act as a row (a) or a column (b) matrix; so does the gradient
        a = self.a[None, :] if self.a.ndim == 1 else self.a
        b = self.b[:, None] if self.b.ndim == 1 else self.b
        if self.b.ndim == 1:  # first, so that 1-D @ 1-D (a 0-d g) becomes (1, 1)
            g = g[..., None]
        if self.a.ndim == 1:
            g = np.expand_dims(g, -2)
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape).reshape(self.a.shape)
        if self.needs_grad[1]:
            if b.ndim == 2 and a.ndim > 2:  # (..., n, k) @ (k, m): fold the batch into one GEMM
                gb = a.reshape(-1, a.shape[-1]).T @ g.reshape(-1, g.shape[-1])
            else:
                gb = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)
            gb = gb.reshape(self.b.shape)
        return ga, gb


# ---- element-wise unary ----------------------------------------------------------------------------------------
class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Exp(Function):  # d exp(a) = exp(a) da
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):  # d log(a) = da / a
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):  # d sqrt(a) = da / (2 sqrt(a))
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Tanh(Function):  # d tanh(a) = (1 - tanh(a)^2) da
    def forward(self, a):
        self.out = np.tanh(a)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Function):  # d s(a) = s(a) (1 - s(a)) da
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


class Clamp(Function):  # the gradient passes where the input was inside [min, max]
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


class Gelu(Function):  # exact GELU x Phi(x); d = Phi(x) + x phi(x). (The tanh approximation is in fused.py.)
    def forward(self, x):
        self.x = x
        self.cdf = (0.5 * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)
        return x * self.cdf

    def backward(self, g):
        pdf = np.exp(-0.5 * self.x * self.x) / math.sqrt(2 * math.pi)
        return (g * (self.cdf + self.x * pdf),)


# ---- reductions (axes already normalised by Tensor) ------------------------------------------------------------
def _spread(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced axes."""
    return np.broadcast_to(g if keepdim else np.expand_dims(g, axes), shape)


class Sum(Function):  # every input element gets the output's gradient
    def forward(self, a, axes, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        return np.asarray(a.sum(axis=axes, keepdims=keepdim))

    def backward(self, g):
        return (_spread(g, self.shape, self.axes, self.keepdim),)


class Mean(Function):  # ... divided by the number of elements averaged
    def forward(self, a, axes, keepdim=False):
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        self.count = math.prod(a.shape[i] for i in axes)
        return np.asarray(a.mean(axis=axes, keepdims=keepdim))

    def backward(self, g):
        return (_spread(g / self.count, self.shape, self.axes, self.keepdim),)


class Max(Function):
    """max over axes; the gradient is shared equally among tied maxima (like torch.amax)."""

    def forward(self, a, axes, keepdim=False):
        self.axes, self.keepdim = axes, keepdim
        out = a.max(axis=axes, keepdims=True)
        self.mask = a == out
        return np.asarray(out if keepdim else np.squeeze(out, axes))

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.axes)
        counts = self.mask.sum(axis=self.axes, keepdims=True)
        return (self.mask * (g / counts),)


class Var(Function):  # var = sum (a - mean)^2 / (n - correction); d = 2 (a - mean) / (n - correction)
    def forward(self, a, axes, keepdim=False, correction=1):
        self.axes, self.keepdim = axes, keepdim
        n = math.prod(a.shape[i] for i in axes)
        self.denominator = max(n - correction, 0)
        self.centered = a - a.mean(axis=axes, keepdims=True)
        out = (self.centered * self.centered).sum(axis=axes, keepdims=keepdim) / self.denominator
        return np.asarray(out, dtype=a.dtype)

    def backward(self, g):
        if not self.keepdim:
            g = np.expand_dims(g, self.axes)
        return (g * self.centered * (2.0 / self.denominator),)


# ---- softmax family --------------------------------------------------------------------------------------------
class Softmax(Function):  # p = softmax(a); da = p * (g - sum(g * p))
    def forward(self, a, dim=-1):
        self.dim = dim
        e = np.exp(a - a.max(axis=dim, keepdims=True))
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, g):
        p = self.out
        return (p * (g - (g * p).sum(axis=self.dim, keepdims=True)),)


class LogSoftmax(Function):  # out = a - logsumexp(a); da = g - softmax(a) * sum(g)
    def forward(self, a, dim=-1):
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, g):
        return (g - np.exp(self.out) * g.sum(axis=self.dim, keepdims=True),)


# ---- shape and indexing: gradients move back to where the elements came from -----------------------------------
class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return (g.transpose(np.argsort(self.dims)),)


class Expand(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g):
        return (unbroadcast(g, self.shape),)


class GetItem(Function):
    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=self.dtype)
        parts = self.index if isinstance(self.index, tuple) else (self.index,)
        if any(isinstance(p, (list, np.ndarray)) for p in parts):
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


class Where(Function):  # the gradient goes to a where the condition holds, to b elsewhere
    def forward(self, condition, a, b):
        self.condition, self.shapes = condition, (np.shape(a), np.shape(b))
        return np.where(condition, a, b)

    def backward(self, g):
        zero = np.zeros((), dtype=g.dtype)
        ga = unbroadcast(np.where(self.condition, g, zero), self.shapes[0])
        gb = unbroadcast(np.where(self.condition, zero, g), self.shapes[1])
        return None, ga, gb


class Embedding(Function):
    """Row lookup `weight[indices]`; backward adds each gradient row into the row it came from."""

    def forward(self, weight, indices):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
            raise IndexError(f"Embedding: index out of range [0, {weight.shape[0]}) (max {indices.max()})")
        self.weight_shape, self.indices = weight.shape, indices
        return weight[indices]

    def backward(self, g):
        # sum the rows of g that share an index: sort by index, then one reduceat over each run of equal ids
        ids, rows = self.indices.reshape(-1), g.reshape(-1, self.weight_shape[1])
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
        grad = np.zeros(self.weight_shape, dtype=g.dtype)
        grad[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
        return grad, None


class Dropout(Function):  # out = a * mask / (1 - p); the same mask scales the gradient
    def forward(self, a, p, rng):
        self.scaled_mask = (rng.random(a.shape, dtype=np.float32) >= p).astype(a.dtype) / (1 - p)
        return a * self.scaled_mask

    def backward(self, g):
        return (g * self.scaled_mask,)
