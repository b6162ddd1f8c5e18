"""TinyGPT: a GPT-2-shaped language model built only from tinytorch.

    tokens (B, T) -> wte + wpe -> n_layer x [x + attn(ln_1(x)); x + mlp(ln_2(x))] -> ln_f -> lm_head -> logits

Parameter names and math follow GPT-2 exactly (pre-LN blocks, GELU with the tanh approximation, LayerNorm
epsilon 1e-5, learned positions, the output head tied to the token embedding), so a checkpoint exports to
Hugging Face's GPT2LMHeadModel unchanged. Sinusoidal positions and bidirectional attention are options that
GPT-2 lacks; they stay off by default.

One computation, two ways to run it: `forward` on Tensors of whole windows, the graph recorded (training), and
`decode` through a KV cache on raw arrays (generation). Both call each `TransformerBlock` the same way, with a cache
or without.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields

import numpy as np

import tinytorch as tt
import tinytorch.functional as F
from tinytorch import fused, nn

SHAPES_NO_WEIGHT = {"shapes_weights": False}  # a setting two models may differ in and still share their weights


@dataclass
class GPTConfig:
    vocab_size: int = 4096
    block_size: int = 256  # longest context the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    dropout: float = field(default=0.0, metadata=SHAPES_NO_WEIGHT)
    bias: bool = True
    pos_encoding: str = "learned"  # "learned" (GPT-2) or "sinusoidal"
    causal: bool = field(default=True, metadata=SHAPES_NO_WEIGHT)  # False: bidirectional (no language model)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be an integer >= 1, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd={self.n_embd} must be divisible by n_head={self.n_head}")
        if self.pos_encoding not in ("learned", "sinusoidal"):
            raise ValueError(f"GPTConfig: pos_encoding must be 'learned' or 'sinusoidal', got {self.pos_encoding!r}")

    def num_parameters(self) -> int:
        """Parameters of the model this config describes (the head is tied to wte), counted without building it."""
        positions = self.block_size * self.n_embd if self.pos_encoding == "learned" else 0
        norm = 2 * self.n_embd if self.bias else self.n_embd
        per_layer = 12 * self.n_embd ** 2 + 2 * norm + (9 * self.n_embd if self.bias else 0)  # attn 4 n^2, mlp 8 n^2
        return self.vocab_size * self.n_embd + positions + self.n_layer * per_layer + norm

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"GPTConfig: unknown keys {unknown}")
        return cls(**values)


# The settings that decide every weight's shape: a checkpoint fits a model that agrees with it on these.
WEIGHT_SHAPE_KEYS = tuple(f.name for f in fields(GPTConfig) if f.metadata.get("shapes_weights", True))


def check_fits_in_memory(config: GPTConfig) -> None:
    """Refuse, before allocating anything, a config whose float32 weights alone exceed this machine's memory (a
    checkpoint or config.json claiming a billion layers would otherwise allocate until the machine gives out)."""
    needed = 4 * config.num_parameters()
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return
    if needed > physical:
        raise MemoryError(f"GPTConfig: {config.n_layer} layers of width {config.n_embd}, context {config.block_size} "
                          f"and vocabulary {config.vocab_size} need {needed / 2**30:.3g} GiB for their weights alone, "
                          f"more than this machine's {physical / 2**30:.3g} GiB")


class GPT(nn.Module):
    def __init__(self, config: GPTConfig, seed: int | None = None):
        super().__init__()
        check_fits_in_memory(config)
        self.config = config
        if seed is not None:
            tt.manual_seed(seed)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        if config.pos_encoding == "learned":
            self.wpe = nn.LearnedPositionalEmbedding(config.block_size, config.n_embd)
        else:
            self.wpe = nn.SinusoidalPositionalEncoding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(
            nn.TransformerBlock(config.n_embd, config.n_head, config.dropout, config.bias, config.causal)
            for _ in range(config.n_layer)
        )
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying, as in GPT-2
        self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2 init: N(0, 0.02), zero biases, residual projections scaled by 1/sqrt(2 * n_layer)."""
        rng = tt.default_rng()
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, param in self.named_parameters():
            if name.endswith("bias"):
                param.data[...] = 0
            elif name.endswith("c_proj.weight"):
                param.data[...] = rng.normal(0, residual_std, param.shape)
            elif param.ndim == 2:
                param.data[...] = rng.normal(0, 0.02, param.shape)
            param._version += 1

    def forward(self, idx, targets=None, kv_caches: list[nn.KVCache] | None = None, last_only: bool = False):
        """Training and whole-window passes: idx (B, T) token ids -> (logits (B, T, V), or (B, 1, V) if last_only,
        and None), or with targets (B, T) (None, mean cross-entropy loss).

        Cached inference is `decode`; `kv_caches` given here hands the call to it (its logits as a Tensor). It
        computes no loss, so targets with kv_caches are refused.
        """
        if kv_caches is not None:
            if targets is not None:
                raise ValueError("GPT: targets with kv_caches: the loss is forward's, without caches (training); "
                                 "decoding through the caches is inference only")
            return tt.Tensor._wrap(self.decode(idx, kv_caches, last_only)), None
        idx = idx.data if isinstance(idx, tt.Tensor) else np.asarray(idx)
        _, time = idx.shape
        x = self.drop(self.wte(idx) + self.wpe(self._positions(0, time)))  # (B, T, C)
        for block in self.h:
            x = block(x)
        if last_only:
            x = x[:, -1:, :]
        x = self.ln_f(x)
        if targets is not None:  # the head and the loss fused: the (B, T, V) logits never exist at once
            return None, F.linear_cross_entropy(x, self.lm_head.weight, targets)
        return self.lm_head(x), None  # (B, T, V)

    def decode(self, idx, kv_caches: list[nn.KVCache], last_only: bool = False,
               attentions: list | None = None) -> np.ndarray:
        """Cached inference, as generation runs it: idx (B, T) holds only the new tokens, placed after the positions
        already in `kv_caches` (one per layer, from new_kv_caches), to which their keys and values are appended ->
        logits (B, T, V), or (B, 1, V) if last_only, a raw array. Under tinytorch.no_grad() only.

        forward's computation on raw arrays, without a graph: the same embeddings, the same blocks (each
        `TransformerBlock` called with its cache), final norm and tied head; tests hold its logits equal to forward's.
        With `attentions`, each block appends its attention probabilities (`forward_with_attentions`)."""
        idx = idx.data if isinstance(idx, tt.Tensor) else np.asarray(idx)
        if len(kv_caches) != len(self.h):
            raise ValueError(f"GPT: {len(kv_caches)} KV caches for {len(self.h)} layers; make them with new_kv_caches")
        _, time = idx.shape
        positions = self._positions(kv_caches[0].length, time)
        if idx.size and (idx.min() < 0 or idx.max() >= self.config.vocab_size):
            raise ValueError(f"GPT: token ids must be in [0, {self.config.vocab_size}), got {idx.min()}..{idx.max()}")
        x = self.wte.infer(idx) + self.wpe.infer(positions)  # (B, T, C)
        for block, cache in zip(self.h, kv_caches):
            x = block(x, kv_cache=cache, attentions=attentions)
        if last_only:
            x = x[:, -1:, :]
        x = self.ln_f.infer(x)
        return fused.linear_inference(x, self.lm_head.weight.data, None)  # (B, T, V)

    def _positions(self, start: int, time: int) -> np.ndarray:
        """The positions of `time` tokens placed after `start` others; refused beyond block_size."""
        if start + time > self.config.block_size:
            raise ValueError(f"GPT: {start + time} positions exceed block_size {self.config.block_size}")
        return np.arange(start, start + time)

    def forward_with_attentions(self, idx) -> tuple[np.ndarray, list[np.ndarray]]:
        """Inspection, as transformers' `output_attentions=True`: idx (B, T) -> (logits (B, T, V), attentions), where
        attentions[layer] (B, n_head, T, T) holds the attention probabilities of that layer's forward pass: row i of
        a head is how much position i drew on each earlier position (causal: zero above the diagonal; rows sum to 1).
        Raw arrays, no graph: `decode` over fresh caches; the logits equal forward's."""
        idx = idx.data if isinstance(idx, tt.Tensor) else np.asarray(idx)
        if idx.ndim != 2 or idx.shape[1] > self.config.block_size:
            raise ValueError(f"GPT: forward_with_attentions takes (batch, time <= {self.config.block_size}) token "
                             f"ids, got shape {idx.shape}")
        attentions: list[np.ndarray] = []
        with tt.no_grad():
            caches = self.new_kv_caches(idx.shape[0], max_len=max(idx.shape[1], 1))
            logits = self.decode(idx, caches, attentions=attentions)
        return logits, attentions

    def new_kv_caches(self, batch_size: int, max_len: int | None = None) -> list[nn.KVCache]:
        head_size = self.config.n_embd // self.config.n_head
        length = max_len or self.config.block_size
        return [nn.KVCache(batch_size, self.config.n_head, length, head_size) for _ in range(self.config.n_layer)]

    def weights(self) -> dict[str, np.ndarray]:
        """Parameters by name without the tied duplicate (lm_head.weight is wte.weight)."""
        return {name: param.data for name, param in self.named_parameters()}

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        state = dict(weights)
        state.setdefault("lm_head.weight", state.get("wte.weight"))
        self.load_state_dict(state, strict=True)

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on matrices (linear and embedding weights) only, never on biases and norm gains."""
        return decay_groups(self.parameters(), weight_decay)


def decay_groups(params, weight_decay: float) -> list[dict]:
    """Two optimizer groups of `params`: the matrices with `weight_decay`, the vectors (biases, gains) without."""
    params = list(params)
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
