"""Basic layers, containers, activation modules and losses. Initialisation follows PyTorch's defaults.

The layers a transformer decodes with (Linear, Embedding, LayerNorm) also have `infer`: their forward on raw arrays,
without a graph or a Tensor, which is what one generated token can afford (see `TransformerBlock`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import fused
from ..creation import default_rng
from ..tensor import Tensor
from .module import Module, Parameter


def _uniform(shape, bound: float) -> np.ndarray:
    return default_rng().uniform(-bound, bound, size=shape).astype(np.float32)


class Linear(Module):
    """y = x W^T + b, weight of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(_uniform((out_features, in_features), bound))
        self.bias = Parameter(_uniform((out_features,), bound)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """forward for a few rows of decoding, on raw arrays. OpenBLAS multiplies a few rows by a transposed (out, in)
        weight several times slower than by a contiguous (in, out) copy (4 x 256 @ 256 x 768: 159 us against 19 us),
        so the layer keeps such a copy, made again whenever the weight's version changes (optimizer steps and
        load_state_dict bump it)."""
        key = (id(self.weight.data), self.weight._version)
        if getattr(self, "_decode_weight", (None,))[0] != key:
            object.__setattr__(self, "_decode_weight", (key, np.ascontiguousarray(self.weight.data.T)))
        rows = x.reshape(-1, x.shape[-1]) @ self._decode_weight[1]
        if self.bias is not None:
            rows += self.bias.data
        return rows.reshape(x.shape[:-1] + (rows.shape[-1],))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(default_rng().standard_normal((num_embeddings, embedding_dim), dtype=np.float32))

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.weight)

    def infer(self, indices: np.ndarray) -> np.ndarray:
        """forward on raw arrays: the rows of the table."""
        return self.weight.data[indices]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    def __init__(self, normalized_shape: int, eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = Parameter(np.ones(normalized_shape, dtype=np.float32))
        self.bias = Parameter(np.zeros(normalized_shape, dtype=np.float32)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """forward on raw arrays."""
        return fused.layer_norm_inference(x, self.weight.data, None if self.bias is None else self.bias.data, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class Dropout(Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ModuleList(Module):
    """Submodules in order, registered under their index ("0", "1", ...)."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Modules applied one after another: Sequential(a, b)(x) == b(a(x))."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)


class MSELoss(Module):
    def forward(self, input: Tensor, target) -> Tensor:
        return F.mse_loss(input, target)


class BCELoss(Module):
    def forward(self, input: Tensor, target) -> Tensor:
        return F.binary_cross_entropy(input, target)


class CrossEntropyLoss(Module):
    def __init__(self, ignore_index: int = -100):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, targets) -> Tensor:
        return F.cross_entropy(logits, targets, self.ignore_index)
