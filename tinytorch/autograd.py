"""The autograd engine's moving parts: `Function` (one recorded op), `no_grad`, and `unbroadcast`.

Every differentiable op is a `Function` subclass with `forward` and `backward` working on raw NumPy arrays.
`Function.apply` runs `forward`, and — only when grad mode is on and some input requires grad — records the
op on the output tensor so that `Tensor.backward` can later call `backward` with the output's gradient.
`backward` returns one gradient per positional input (None where there is nothing to give) and never
mutates the incoming gradient array.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import defaultdict

import numpy as np

_grad_enabled = True

# Per-op timing for the profiler: set TINYTORCH_PROFILE=1 (or use tinytorch.profiler.record_ops()).
op_times: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])  # name -> [fwd s, bwd s, calls]
profiling = os.environ.get("TINYTORCH_PROFILE", "0") not in ("", "0")


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run a block without recording the graph (inference, parameter updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad():
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing NumPy broadcasting (leading dims added, size-1 dims stretched)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class Function:
    """One node of the graph: `forward` computes arrays, `backward` maps the output gradient to input gradients."""

    __slots__ = ("inputs", "needs_grad", "saved", "__dict__")

    def forward(self, *arrays, **kwargs) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor

        fn = cls()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        record = _grad_enabled and any(isinstance(a, Tensor) and a.requires_grad for a in args)
        fn.needs_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args) if record else ()
        start = time.perf_counter() if profiling else 0.0
        try:
            out = fn.forward(*arrays, **kwargs)
        except ValueError as err:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ValueError(f"{cls.__name__}: incompatible shapes {shapes}: {err}") from None
        if profiling:
            entry = op_times[cls.__name__]
            entry[0] += time.perf_counter() - start
            entry[2] += 1
        result = Tensor._wrap(out)
        if record:
            fn.inputs = args
            result.requires_grad = True
            result._ctx = fn
        return result
