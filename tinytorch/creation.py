"""Making tensors: `tensor`, `zeros`, `ones`, `full`, `arange`, random tensors, `*_like`, and the seeded generator
behind parameter initialisation, dropout and the random creators (`manual_seed`, `default_rng`)."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, _as_array, _sizes

float32, float64, float16 = np.float32, np.float64, np.float16
int64, int32, uint8, bool_ = np.int64, np.int32, np.uint8, np.bool_

_default_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind randn/rand/randint, parameter init and dropout."""
    global _default_rng
    _default_rng = np.random.default_rng(seed)


def default_rng() -> np.random.Generator:
    return _default_rng


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.array(_as_array(data, dtype)), requires_grad=requires_grad)


def zeros(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_sizes(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_sizes(size), dtype=dtype), requires_grad=requires_grad)


def full(size, value, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(np.full(_sizes((size,)), value, dtype=dtype), requires_grad=requires_grad)


def randn(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    samples = _default_rng.standard_normal(_sizes(size), dtype=np.float32)
    return Tensor(samples.astype(dtype), requires_grad=requires_grad)


def rand(*size, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    return Tensor(_default_rng.random(_sizes(size), dtype=np.float32).astype(dtype), requires_grad=requires_grad)


def randint(low: int, high: int, size, dtype=np.int64) -> Tensor:
    return Tensor(_default_rng.integers(low, high, size=_sizes((size,)), dtype=dtype))


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
