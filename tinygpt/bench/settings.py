"""What `tinygpt bench` measures with: the two configurations (FULL, the shipped model's shape; QUICK, a tiny one
that only checks everything runs), the optimizer settings and seed both frameworks share, the thread count, and the
PyTorch side, loaded only where torch is installed."""

from __future__ import annotations

import dataclasses
import importlib.util
import os

from tinygpt.model import GPTConfig

LR, WEIGHT_DECAY, SEED = 3e-4, 0.1, 0


@dataclasses.dataclass


class Setup:
    config: GPTConfig
    batch_size: int
    steps: int  # timed repetitions of the training and forward measures
    prompt_len: int
    new_tokens: int  # generated per decode or beam-search run
    decode_repeats: int
    contexts: tuple[int, ...]  # sweep of block_size (batch shrinks to keep tokens per step constant)
    widths: tuple[int, ...]  # sweep of n_embd at the base context
    sweep_decode_steps: int  # single-token steps timed per sweep point (each measure once, after a warm-up)
    matmul_sizes: tuple[int, ...]


FULL = Setup(GPTConfig(vocab_size=4096, block_size=256, n_layer=4, n_head=4, n_embd=256), batch_size=16, steps=5,
             prompt_len=16, new_tokens=128, decode_repeats=3, contexts=(64, 128, 256, 512, 1024),
             widths=(128, 256, 512), sweep_decode_steps=8, matmul_sizes=(512, 1024, 2048))
QUICK = Setup(GPTConfig(vocab_size=128, block_size=32, n_layer=2, n_head=2, n_embd=32), batch_size=2, steps=2,
              prompt_len=4, new_tokens=6, decode_repeats=1, contexts=(16, 32), widths=(16, 32),
              sweep_decode_steps=2, matmul_sizes=(64, 128))


def thread_count() -> int:
    """The threads tinytorch's matrix products use (OpenBLAS: OPENBLAS_NUM_THREADS, else every core); PyTorch gets
    the same number."""
    return max(1, int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)))


def load_torch_reference():
    """`torch_reference.py` (the PyTorch side), or None when torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    from tinygpt.bench import torch_reference  # imports torch: only here, where it is installed

    torch_reference.set_threads(thread_count())
    return torch_reference
