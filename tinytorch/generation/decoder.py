"""The decoder: runs a language model one token at a time for the decoding loops, with a key/value cache and a
sliding context window.

The decoding loops (greedy, sampling, beam search) never see a model. They see a `Decoder`, built from three things:

    step(tokens (B, T), kv_caches or None) -> logits (B, V)
        The model's next-token logits after the last of `tokens`. With caches, `tokens` are only the new
        positions, placed after the `length` positions the caches already hold, and the caches grow by T.
    context_length
        The most positions the model can attend to (GPT's block_size).
    new_kv_caches(batch_size) -> caches
        Empty per-layer caches (objects with `.length` and `.reorder(batch_indices)`, such as
        `tinytorch.nn.KVCache`), or None for a model without a cache.

Why a cache: a transformer layer's keys and values for a position never change once computed (attention is
causal), so each new token only needs its own query, key and value plus attention over the stored ones: one
position of work per layer instead of re-running the whole prefix. Prefill (the prompt) is one batched call.

The context window. A model with learned absolute positions cannot see more than `context_length` tokens, and
cached keys carry their positions in them, so the cache cannot simply shift by one. When the next token would not
fit, the window slides: the oldest tokens are dropped, leaving the last `window_keep` (by default three quarters
of the context), and the cache is refilled from those in one prefill. Then `context_length - window_keep` more tokens
are cheap again before the next slide. The uncached path follows exactly the same window, so cached and uncached
decoding give the same logits for any length; generation never fails on long input.

What the decoder refuses, as a `GenerationError` with a message for a person: prompt token ids outside the model's
vocabulary (a tokenizer that is not the model's), and logits that are not finite (a checkpoint whose weights hold
NaN or infinity, left by a diverged training run). Decoding such logits would sample NaN probabilities, which come
out as token 0: a stream of NUL bytes presented as text.

It also knows what one sequence costs in memory while decoding (`row_bytes`, which its owner estimates from the
model's shape) and how much generation may use (`memory_budget`), so that `generate` can refuse, say, 5000 beams
before allocating their KV caches.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..threads import blas_threads, usable_blas_threads

__all__ = ["Decoder", "GenerationError", "StepFunction", "default_memory_budget"]

SMALL_STEP_TOKENS = 64  # steps feeding at most this many tokens (rows x new positions) use only the free cores
StepFunction = Callable[[np.ndarray, list | None], np.ndarray]


class GenerationError(ValueError):
    """Decoding cannot go on: the model's logits are not finite, or its input is outside its vocabulary."""


def default_memory_budget() -> int:
    """Half of the memory available now (Linux: MemAvailable; elsewhere half of the physical memory): the estimate
    of what generation needs is rough, and the rest of the machine needs memory too."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            available = 8 * 2**30
    return available // 2


class Decoder:
    """Feeds tokens to a model and returns next-token logits, keeping a KV cache and the token history.

    `start(prompts)` prefills and returns the first logits; then `advance(next_tokens)` appends one token per row
    and returns the next logits. Beam search calls `reorder(rows)` between steps to follow the surviving beams.
    `vocab_size`, when given, is checked against the prompts; `row_bytes` is the memory one row costs while decoding
    and `memory_budget` what generation may use (default: `default_memory_budget()`).
    """

    def __init__(self, step: StepFunction, context_length: int, new_kv_caches: Callable[[int], list] | None = None,
                 use_cache: bool = True, window_keep: int | None = None, vocab_size: int | None = None,
                 row_bytes: int = 0, memory_budget: int | None = None):
        if context_length < 2:
            raise ValueError(f"context_length must be >= 2, got {context_length}")
        keep = context_length * 3 // 4 if window_keep is None else window_keep
        if not 1 <= keep < context_length:
            raise ValueError(f"window_keep must be in [1, {context_length - 1}], got {keep}")
        self.step = step
        self.context_length = context_length
        self.new_kv_caches = new_kv_caches
        self.use_cache = use_cache and new_kv_caches is not None
        self.window_keep = keep
        self.vocab_size = vocab_size
        self.row_bytes = row_bytes
        self.memory_budget = default_memory_budget() if memory_budget is None else memory_budget
        self.tokens = np.zeros((0, 0), dtype=np.int64)  # (B, L) every token fed so far, per row
        self.window_start = 0  # the model sees tokens[:, window_start:]
        self.kv_caches: list | None = None
        self.slides = 0  # how many times the window slid (for tests and benchmarks)
        self.threads = 1

    def start(self, prompts: np.ndarray) -> np.ndarray:
        """Prefill with `prompts` (B, T), T >= 1; returns next-token logits (B, V)."""
        prompts = np.asarray(prompts, dtype=np.int64)
        if prompts.ndim != 2 or prompts.shape[1] == 0:
            raise ValueError(f"prompts must be a non-empty (batch, time) array, got shape {prompts.shape}")
        self._check_token_ids(prompts)
        self.tokens = prompts.copy()
        self.threads = usable_blas_threads()  # BLAS threads for the small steps of this generation
        self.window_start = 0
        if prompts.shape[1] > self.context_length:
            self.window_start = prompts.shape[1] - self.window_keep
        return self._prefill()

    def advance(self, next_tokens: np.ndarray) -> np.ndarray:
        """Append one token per row (`next_tokens` (B,)); returns next-token logits (B, V)."""
        next_tokens = np.asarray(next_tokens, dtype=np.int64).reshape(-1, 1)
        self.tokens = np.concatenate([self.tokens, next_tokens], axis=1)
        if self.tokens.shape[1] - self.window_start > self.context_length:
            self.window_start = self.tokens.shape[1] - self.window_keep
            self.slides += 1
            return self._prefill()
        if not self.use_cache:
            return self._logits(self.tokens[:, self.window_start:], None)
        return self._logits(next_tokens, self.kv_caches)

    def reorder(self, rows: np.ndarray) -> None:
        """Continue from rows `rows` (B,) of the current batch: row i becomes a copy of old row rows[i]."""
        rows = np.asarray(rows, dtype=np.int64)
        if np.array_equal(rows, np.arange(self.tokens.shape[0])):
            return  # every row continues itself (beams often keep their order): nothing to copy
        self.tokens = self.tokens[rows]
        if self.kv_caches is not None:
            for cache in self.kv_caches:
                cache.reorder(rows)

    def _prefill(self) -> np.ndarray:
        window = self.tokens[:, self.window_start:]
        self.kv_caches = self.new_kv_caches(window.shape[0]) if self.use_cache else None
        return self._logits(window, self.kv_caches)

    def _logits(self, tokens: np.ndarray, kv_caches: list | None) -> np.ndarray:
        if tokens.size > SMALL_STEP_TOKENS:
            logits = np.asarray(self.step(tokens, kv_caches), dtype=np.float32)
        else:
            with blas_threads(self.threads):  # as many as there are free cores (see tinytorch.threads)
                logits = np.asarray(self.step(tokens, kv_caches), dtype=np.float32)
        if not np.isfinite(logits).all():
            position = self.tokens.shape[1]
            raise GenerationError(f"the model's next-token logits after {position} tokens hold NaN or infinity; its "
                                  "weights are probably not finite (a diverged training run): use another checkpoint")
        return logits

    def _check_token_ids(self, tokens: np.ndarray) -> None:
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0:
            raise GenerationError(f"token ids must be >= 0, got {low}")
        if self.vocab_size is not None and high >= self.vocab_size:
            raise GenerationError(f"token id {high} is outside the model's vocabulary of {self.vocab_size} tokens "
                                  "(is the tokenizer the one this model was trained with?)")

    def __repr__(self) -> str:
        return (f"Decoder(context_length={self.context_length}, use_cache={self.use_cache}, "
                f"window_keep={self.window_keep}, rows={self.tokens.shape[0]}, length={self.tokens.shape[1]})")
