"""Neural-network modules: `Module`/`Parameter`, layers, attention and the transformer block, losses."""

from .attention import (
    MLP,
    KVCache,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    TransformerBlock,
)
from .layers import (
    GELU,
    BCELoss,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    ModuleList,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .module import Module, Parameter

__all__ = [
    "BCELoss", "CrossEntropyLoss", "Dropout", "Embedding", "GELU", "KVCache", "LayerNorm", "LearnedPositionalEmbedding",
    "Linear", "MLP", "MSELoss", "Module", "ModuleList", "MultiHeadAttention", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "SinusoidalPositionalEncoding", "Softmax", "Tanh", "TransformerBlock",
]
