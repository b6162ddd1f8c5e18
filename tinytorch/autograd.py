"""The autograd engine's vocabulary: `Function` (one differentiable op), grad mode (`no_grad`), and `unbroadcast`.

This file imports nothing else from tinytorch: it speaks only NumPy. Read it first, then `tensor.py` (which records
Functions into a graph and walks it backward), then `ops.py` (the primitive Functions).

A Function subclass says two things about one op, both on raw NumPy arrays:

    forward(*arrays, **options) -> array      compute the output; keep on `self` whatever backward will need
    backward(grad) -> (grad_input, ...)       map the output's gradient to one gradient per positional input
                                              (None where an input gets none); never mutate `grad` in place

`needs_grad[i]` tells backward whether input i wants a gradient, so it can skip work nobody asked for.
`Function.apply(*tensors)` runs the op on tensors: the Tensor class records the call as a node of the graph
(see `Tensor._record` in tensor.py).
"""

from __future__ import annotations

import contextlib
import os
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
    """Run a block (or decorate a function) without recording the graph: inference, parameter updates."""
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
    """One node of the graph. After `apply` records it, it also holds:

    inputs          the positional arguments of the call (tensors and plain values)
    needs_grad      per input: does it want a gradient? (empty when nothing was recorded)
    versions        per input, and for the output last: the tensor's version counter when the op ran, so that
                    backward can refuse a tensor that an in-place op changed since (None for non-tensors)
    """

    __slots__ = ("inputs", "needs_grad", "versions", "__dict__")
    tensor_type: type  # the class apply() runs on: tinytorch.tensor.Tensor registers itself here

    def forward(self, *arrays, **options) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **options):
        """Run the op on tensors (and plain values); the output remembers this call when a gradient is needed."""
        return Function.tensor_type._record(cls, args, options)

    @property
    def released(self) -> bool:
        """True once a backward pass without retain_graph freed what this node saved."""
        return self.inputs is None

    def release(self) -> None:
        """Drop the saved arrays and the inputs, so that memory is freed as soon as backward has passed."""
        self.__dict__.clear()
        self.inputs = None
