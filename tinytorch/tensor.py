"""`Tensor`: a NumPy array plus what reverse-mode autograd needs, the creation helpers, and `backward()`.

A tensor that requires grad and was produced by an op remembers that op (`_ctx`, a `Function` holding its
inputs). `backward()` sorts that graph topologically (iteratively, so deep graphs never hit Python's
recursion limit), walks it in reverse and accumulates each leaf's gradient into `.grad`.
"""

from __future__ import annotations

import time

import numpy as np

from . import autograd

float32, float64, float16 = np.float32, np.float64, np.float16
int64, int32, uint8, bool_ = np.int64, np.int32, np.uint8, np.bool_


def _as_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):  # NumPy arrays and scalars keep their dtype, as in PyTorch
        data = np.asarray(data)
        return data if dtype is None else data.astype(dtype, copy=False)
    array = np.asarray(data)
    if dtype is None:
        if array.dtype == np.float64:
            array = array.astype(np.float32)  # Python floats become float32, as in PyTorch
        elif array.dtype.kind in "iu" and array.dtype != np.int64:
            array = array.astype(np.int64)
    return array if dtype is None else array.astype(dtype, copy=False)


class Tensor:
    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "__weakref__")
    __array_priority__ = 1000  # so `ndarray * Tensor` defers to Tensor.__rmul__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        self.data = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._ctx = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array: np.ndarray) -> Tensor:
        """Fast constructor for op outputs: no conversion, no checks."""
        t = object.__new__(cls)
        t.data, t.grad, t._ctx, t._requires_grad = array, None, None, False
        return t

    # ---- autograd ---------------------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self._requires_grad = bool(value)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def requires_grad_(self, value: bool = True) -> Tensor:
        self.requires_grad = value
        return self

    def detach(self) -> Tensor:
        return Tensor._wrap(self.data)

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad (no graph was recorded)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape {self.shape}; "
                    "pass gradient= of the same shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = _as_array(gradient, self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): gradient shape {grad.shape} does not match tensor shape {self.shape}")
        grads = {id(self): grad}
        for node in reversed(self._topological_order()):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            fn = node._ctx
            if fn is None:
                node._accumulate(g)
                continue
            start = time.perf_counter() if autograd.profiling else 0.0
            input_grads = fn.backward(g)
            if autograd.profiling:
                autograd.op_times[type(fn).__name__][1] += time.perf_counter() - start
            # backward may leave out trailing inputs that get no gradient (non-tensor arguments)
            for parent, needs, pg in zip(fn.inputs, fn.needs_grad, input_grads, strict=False):
                if needs and pg is not None:
                    key = id(parent)
                    grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:
                node._ctx = None  # free saved arrays; the node becomes a (non-grad-keeping) leaf

    def _topological_order(self) -> list[Tensor]:
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            if node._ctx is not None:
                for parent, needs in zip(node._ctx.inputs, node._ctx.needs_grad, strict=True):
                    if needs and id(parent) not in visited:
                        stack.append((parent, False))
        return order

    def _accumulate(self, g: np.ndarray) -> None:
        if g.shape != self.data.shape:
            g = np.broadcast_to(g, self.data.shape)
        if self.grad is None:
            self.grad = Tensor._wrap(np.array(g, dtype=self.data.dtype, copy=True))
        else:
            self.grad.data += g

    # ---- array-like properties --------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def to(self, dtype) -> Tensor:
        return Tensor._wrap(self.data.astype(dtype)) if dtype != self.dtype else self

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def contiguous(self) -> Tensor:
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(", threshold=50)
        extra = f", dtype={self.dtype}" if self.dtype != np.float32 else ""
        if self._ctx is not None:
            extra += f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __hash__(self) -> int:
        return id(self)

    # ---- in-place helpers (no graph) --------------------------------------------------------------------------
    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    def fill_(self, value) -> Tensor:
        self.data[...] = value
        return self

    def copy_(self, other) -> Tensor:
        self.data[...] = _as_array(other)
        return self


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.array(_as_array(data, dtype)), requires_grad=requires_grad)


def _shape(size) -> tuple[int, ...]:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def zeros(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(size), dtype=dtype), requires_grad=requires_grad)


def full(size, value, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.full(_shape((size,)), value, dtype=dtype), requires_grad=requires_grad)


_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind randn/rand/randint, parameter init and dropout."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def default_rng() -> np.random.Generator:
    return _default_rng


def randn(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    samples = _default_rng.standard_normal(_shape(size), dtype=np.float32)
    return Tensor(samples.astype(dtype), requires_grad=requires_grad)


def rand(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(_default_rng.random(_shape(size), dtype=np.float32).astype(dtype), requires_grad=requires_grad)


def randint(low: int, high: int, size, dtype=np.int64) -> Tensor:
    return Tensor(_default_rng.integers(low, high, size=_shape((size,)), dtype=dtype))


def arange(start, end=None, step=1, dtype=None) -> Tensor:
    array = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None and array.dtype == np.float64:
        dtype = np.float32  # float bounds give float32, as in PyTorch
    return Tensor(array, dtype=dtype)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, value, requires_grad: bool = False) -> Tensor:
    return full(t.shape, value, dtype=t.dtype, requires_grad=requires_grad)


from . import _methods  # noqa: E402,F401  (attaches operators and op methods to Tensor)
