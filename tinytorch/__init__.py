"""tinytorch: a deep-learning framework written from scratch on NumPy, with a PyTorch-like API.

    import tinytorch as tt
    x = tt.randn(4, 3, requires_grad=True)
    (x @ x.T).sum().backward()
"""

from . import functional, nn, optim
from .autograd import enable_grad, is_grad_enabled, no_grad
from .creation import (
    arange,
    bool_,
    default_rng,
    float16,
    float32,
    float64,
    full,
    full_like,
    int32,
    int64,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randn_like,
    tensor,
    uint8,
    zeros,
    zeros_like,
)
from .functional import cat, maximum, split, stack, where
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor", "arange", "bool_", "cat", "default_rng", "enable_grad", "float16", "float32", "float64", "full",
    "full_like", "functional", "int32", "int64", "is_grad_enabled", "manual_seed", "maximum", "nn", "no_grad", "ones",
    "ones_like", "optim", "rand", "randint", "randn", "randn_like", "split", "stack", "tensor", "uint8", "where",
    "zeros", "zeros_like",
]
