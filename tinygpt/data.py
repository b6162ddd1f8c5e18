"""The token arrays written by `tinygpt prepare`, and random training batches cut from them.

A data directory holds `train.bin` and `val.bin` (raw token ids, dtype given in `meta.json`), the tokenizer and
`meta.json`. The arrays are memory-mapped, so a corpus larger than memory costs nothing to open and a batch reads
only the windows it needs. This module is NumPy only: the trainer turns the arrays into tensors itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SPLITS = ("train", "val")


class DatasetError(ValueError):
    """A data directory that is missing, incomplete, or too small for the requested batches."""


def read_meta(data_dir: str | Path) -> dict:
    """The `meta.json` of a data directory: vocab size, dtype, per-split file/token/byte counts."""
    path = Path(data_dir) / "meta.json"
    if not path.is_file():
        raise DatasetError(f"no dataset at {data_dir}: {path} is missing (run `tinygpt prepare --out {data_dir}`)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path} is not valid JSON: {err}") from None


def load_split(data_dir: str | Path, split: str) -> np.ndarray:
    """The token ids of one split (`train` or `val`), memory-mapped read-only."""
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    meta = read_meta(data_dir)
    path = Path(data_dir) / f"{split}.bin"
    if not path.is_file():
        raise DatasetError(f"{path} is missing (run `tinygpt prepare --out {data_dir}`)")
    dtype = np.dtype(meta["dtype"])
    expected_tokens = meta["splits"][split]["tokens"]
    if path.stat().st_size != expected_tokens * dtype.itemsize:
        raise DatasetError(
            f"{path} holds {path.stat().st_size} bytes, but meta.json promises {expected_tokens} "
            f"tokens of {dtype.name}; prepare the dataset again"
        )
    if expected_tokens == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


def get_batch(
    tokens: np.ndarray, batch_size: int, block_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`batch_size` random windows of `block_size` tokens: inputs `x` and targets `y`, both int64 of shape
    (batch_size, block_size), where `y[b, t] == x[b, t + 1]` is the token that follows `x[b, t]`.

    The windows are drawn from `rng` alone, so the same seed gives the same batches."""
    if len(tokens) <= block_size:
        raise DatasetError(f"a split of {len(tokens)} tokens is too short for block_size={block_size}")
    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)
    windows = tokens[starts[:, None] + np.arange(block_size + 1)].astype(np.int64)  # (B, T+1)
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, 1:])
