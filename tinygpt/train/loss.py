"""Measuring a language model's loss on token arrays: the estimate a training run logs (random windows, the
same ones at every evaluation), the exact figure a release and `tinygpt evaluate` report (every token predicted
once), and bits per byte, the tokenizer-independent unit both are reported in.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from tqdm import tqdm

import tinytorch as tt
from tinygpt.data import dataset
from tinygpt.model import GPT

__all__ = ["bits_per_byte", "estimate_loss", "evaluate_split", "evaluating"]


def bits_per_byte(loss_nats: float, tokens: int, num_bytes: int) -> float:
    """Convert mean nats per token into bits per byte of the underlying text."""
    return loss_nats / math.log(2) * tokens / num_bytes


@contextlib.contextmanager
def evaluating(model: GPT):
    """Evaluate in eval mode (no dropout, nothing drawn from the training RNG) without a graph; then restore the
    model's previous mode."""
    was_training = model.training
    model.eval()
    try:
        with tt.no_grad():
            yield
    finally:
        model.train(was_training)


def estimate_loss(model: GPT, tokens: np.ndarray, batches: int, batch_size: int, seed: int,
                  mask: np.ndarray | None = None) -> float:
    """Mean loss over `batches` random windows, always the same windows for a given seed; with `mask`, over the
    targets it marks only (an exercise's body)."""
    rng = np.random.default_rng(seed)
    block = model.config.block_size
    with evaluating(model):
        losses = [model(*dataset.get_batch(tokens, batch_size, block, rng, mask))[1].item() for _ in range(batches)]
    return float(np.mean(losses))


def evaluate_split(model: GPT, tokens: np.ndarray, batch_size: int = 16, progress: bool = False) -> float:
    """Exact mean loss over the whole split: consecutive non-overlapping windows, every token predicted once."""
    block = model.config.block_size
    windows = (len(tokens) - 1) // block
    starts = np.arange(windows) * block
    total, count = 0.0, 0
    with evaluating(model):
        for first in tqdm(range(0, windows, batch_size), desc="evaluate", disable=not progress, leave=False):
            offsets = starts[first:first + batch_size, None] + np.arange(block)
            x, y = tokens[offsets].astype(np.int64), tokens[offsets + 1].astype(np.int64)
            total += model(x, y)[1].item() * y.size
            count += y.size
    return total / max(count, 1)
