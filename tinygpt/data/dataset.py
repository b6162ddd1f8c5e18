"""The token arrays written by `tinygpt prepare`, and random training batches cut from them.

A data directory holds `train.bin` and `val.bin` (raw token ids, dtype given in `meta.json`), the tokenizer and
`meta.json`. The arrays are memory-mapped, so a corpus larger than memory costs nothing to open and a batch reads
only the windows it needs. This module is NumPy only: the trainer turns the arrays into tensors itself.

A dataset made from several sources keeps each source's files together: in each split, source after source, with
an end-of-text token between consecutive files and between consecutive sources. `meta.json` lists the sources in
that order, with their mixture weight and, per split, their token range `[start, end)`. A training batch draws the
source of each row with probability proportional to its weight, then a window inside that source's range, so a
small source weighted high is repeated and a large one weighted low is sampled.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "val")


class DatasetError(ValueError):
    """A data directory that is missing, incomplete, or too small for the requested batches."""


TOKEN_DTYPES = ("uint16", "uint32")


def read_meta(data_dir: str | Path) -> dict:
    """The `meta.json` of a data directory: vocab size, dtype, per-split file/token/byte counts."""
    path = Path(data_dir) / "meta.json"
    if not path.is_file():
        raise DatasetError(f"no dataset at {data_dir}: {path} is missing (run `tinygpt prepare --out {data_dir}`)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path} is not valid JSON: {err}") from None
    except OSError as err:
        raise DatasetError(f"{path} cannot be read: {err.strerror or err}") from None
    problem = meta_problem(meta)
    if problem:
        raise DatasetError(f"{path}: {problem}; prepare the dataset again (`tinygpt prepare --out {data_dir}`)")
    return meta


def meta_problem(meta) -> str | None:
    """What is missing or wrong in a meta.json document, or None: the keys every reader of a dataset relies on."""
    if not isinstance(meta, dict):
        return f"expected a JSON object, got {type(meta).__name__}"
    for key in ("vocab_size", "dtype", "tokenizer", "splits"):
        if key not in meta:
            return f"missing {key!r}"
    if isinstance(meta["vocab_size"], bool) or not isinstance(meta["vocab_size"], int) or meta["vocab_size"] < 1:
        return f"vocab_size must be a positive integer, got {meta['vocab_size']!r}"
    if meta["dtype"] not in TOKEN_DTYPES:
        return f"dtype must be one of {TOKEN_DTYPES}, got {meta['dtype']!r}"
    if not isinstance(meta["tokenizer"], str):
        return f"tokenizer must name a file, got {meta['tokenizer']!r}"
    for split in SPLITS:
        counts = meta["splits"].get(split) if isinstance(meta["splits"], dict) else None
        if not isinstance(counts, dict) or not all(isinstance(counts.get(k), int) for k in ("tokens", "files",
                                                                                            "bytes")):
            return f"splits.{split} must give integer tokens, files and bytes"
    if not isinstance(meta.get("sources", []), list):
        return "sources must be a list"
    for index, source in enumerate(meta.get("sources", [])):
        try:
            parts = [source["splits"][split] for split in SPLITS]
            valid = isinstance(source["name"], str) and source["weight"] > 0 and all(
                0 <= part["start"] <= part["end"] <= meta["splits"][split]["tokens"]
                for split, part in zip(SPLITS, parts))
        except (KeyError, TypeError) as err:
            return f"sources[{index}] is malformed ({type(err).__name__}: {err})"
        if not valid:
            return f"sources[{index}] has no name, a weight <= 0 or a token range outside its split"
    return None


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
    tokens = np.memmap(path, dtype=dtype, mode="r")
    largest = int(tokens.max())
    if largest >= meta["vocab_size"]:
        raise DatasetError(f"{path} holds token id {largest}, but meta.json's vocab_size is {meta['vocab_size']}; "
                           "prepare the dataset again")
    return tokens


IGNORE_INDEX = -100  # a target the loss skips (tinytorch's cross_entropy ignore_index)


def load_mask(data_dir: str | Path, split: str) -> np.ndarray | None:
    """The loss mask of one split (uint8, 1 = a training target), or None when the dataset has none (every token
    is a target). Written by `tinygpt prepare` when a source holds exercises: their requests are 0."""
    meta = read_meta(data_dir)
    name = meta.get("loss_mask", {}).get(split) if isinstance(meta.get("loss_mask"), dict) else None
    if name is None:
        return None
    path = Path(data_dir) / name
    expected = meta["splits"][split]["tokens"]
    if not path.is_file() or path.stat().st_size != expected:
        raise DatasetError(f"{path} is missing or does not hold {expected} bytes, one per token (meta.json names it); "
                           "prepare the dataset again")
    return np.memmap(path, dtype=np.uint8, mode="r")


def cut_windows(tokens: np.ndarray, starts: np.ndarray, block_size: int,
                mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of the windows starting at `starts`; a target whose mask is 0 becomes IGNORE_INDEX."""
    positions = starts[:, None] + np.arange(block_size + 1)  # (B, T+1)
    windows = tokens[positions].astype(np.int64)
    targets = windows[:, 1:]
    if mask is not None:
        targets = np.where(mask[positions[:, 1:]] != 0, targets, IGNORE_INDEX)
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(targets)


def check_block_size(meta: dict, block_size: int, data_dir: str | Path) -> None:
    """Every window a training run cuts must fit: the train split of each source and the whole val split hold more
    than block_size tokens. A run checks this before its first step, not at its first evaluation."""
    sources = source_splits(meta, "train")
    for source in sources:
        if source.tokens <= block_size:
            what = "the train split" if len(sources) == 1 else f"source {source.name!r}'s train split"
            raise DatasetError(f"{data_dir}: {what} holds {source.tokens} tokens, not more than "
                               f"block_size={block_size}; use a smaller --block_size or more source files")
    val_tokens = meta["splits"]["val"]["tokens"]
    if val_tokens <= block_size:
        raise DatasetError(f"{data_dir}: the val split holds {val_tokens} tokens, not more than "
                           f"block_size={block_size}; use a smaller --block_size or prepare with a larger "
                           "--val-fraction")


def check_eval_batches(meta: dict, eval_batches: int, batch_size: int) -> None:
    """A loss estimate that draws more windows than a split holds tokens measures nothing that reading the split once
    (`tinygpt evaluate`) would not, and can run for days: a run refuses it before its first step."""
    windows = eval_batches * batch_size
    split, tokens = min(((name, meta["splits"][name]["tokens"]) for name in ("train", "val")), key=lambda pair: pair[1])
    if windows > tokens:
        smaller = " and a smaller --batch_size" if batch_size > tokens else ""
        raise DatasetError(f"--eval_batches={eval_batches} draws {windows} windows of batch_size={batch_size}, more "
                           f"than the {split} split's {tokens} tokens: give at most "
                           f"--eval_batches={max(1, tokens // batch_size)}{smaller}")


def get_batch(
    tokens: np.ndarray, batch_size: int, block_size: int, rng: np.random.Generator, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`batch_size` random windows of `block_size` tokens: inputs `x` and targets `y`, both int64 of shape
    (batch_size, block_size), where `y[b, t] == x[b, t + 1]` is the token that follows `x[b, t]` (IGNORE_INDEX
    where `mask` is 0 at that token).

    The windows are drawn from `rng` alone, so the same seed gives the same batches."""
    if len(tokens) <= block_size:
        raise DatasetError(f"a split of {len(tokens)} tokens is too short for block_size={block_size}")
    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)
    return cut_windows(tokens, starts, block_size, mask)


# ---- sources and the mixture ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSplit:
    """One source's part of one split: its tokens are `split_tokens[start:end]`, which hold `files` files of
    `bytes` UTF-8 bytes in all."""

    name: str
    weight: float
    start: int
    end: int
    files: int
    bytes: int

    @property
    def tokens(self) -> int:
        return self.end - self.start


def source_splits(meta: dict, split: str) -> list[SourceSplit]:
    """The sources of a split in the order they are stored. A dataset prepared before sources existed is one
    source spanning the split."""
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    if "sources" not in meta:
        counts = meta["splits"][split]
        return [SourceSplit("data", 1.0, 0, counts["tokens"], counts["files"], counts["bytes"])]
    return [
        SourceSplit(source["name"], source["weight"], part["start"], part["end"], part["files"], part["bytes"])
        for source in meta["sources"]
        for part in [source["splits"][split]]
    ]


def reweighted(meta: dict, weights: dict[str, float]) -> dict:
    """`meta` with these sources' mixture weights replaced (a training run's `source_weights`); every name must be a
    source of the dataset and some source must keep a weight above 0."""
    if not weights:
        return meta
    names = [source["name"] for source in meta.get("sources", [])]
    unknown = [name for name in weights if name not in names]
    if unknown:
        raise DatasetError(f"source_weights names {', '.join(map(repr, unknown))}, not a source of this dataset "
                           f"(its sources: {', '.join(names) or 'none'})")
    sources = [{**source, "weight": weights.get(source["name"], source["weight"])} for source in meta["sources"]]
    if not any(source["weight"] > 0 for source in sources):
        raise DatasetError("source_weights leaves every source at weight 0")
    return {**meta, "sources": sources}


def load_source_arrays(data_dir: str | Path, split: str) -> dict[str, np.ndarray]:
    """Each source's token ids in one split (views of the memory-mapped split), by source name."""
    tokens = load_split(data_dir, split)
    return {source.name: tokens[source.start:source.end] for source in source_splits(read_meta(data_dir), split)}


class MixtureSampler:
    """Training batches from several sources of one token array: each row's source is drawn with probability
    weight / sum of weights, then a window of that source's range, as `get_batch` does for a whole array."""

    def __init__(self, tokens: np.ndarray, sources: list[SourceSplit], mask: np.ndarray | None = None):
        self.tokens, self.mask = tokens, mask
        self.names = [source.name for source in sources]
        self.starts = np.array([source.start for source in sources], dtype=np.int64)
        self.ends = np.array([source.end for source in sources], dtype=np.int64)
        weights = np.array([source.weight for source in sources], dtype=np.float64)
        self.probabilities = weights / weights.sum()

    def get_batch(
        self, batch_size: int, block_size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like `get_batch`: inputs and next-token targets, (batch_size, block_size) int64, drawn from `rng` alone."""
        too_short = [name for name, start, end in zip(self.names, self.starts, self.ends) if end - start <= block_size]
        if too_short:
            raise DatasetError(f"source(s) {too_short} hold no more than block_size={block_size} training tokens")
        rows = rng.choice(len(self.probabilities), size=batch_size, p=self.probabilities)
        starts = rng.integers(self.starts[rows], self.ends[rows] - block_size)
        return cut_windows(self.tokens, starts, block_size, self.mask)


def batch_sampler(meta: dict, train_tokens: np.ndarray,
                  mask: np.ndarray | None = None) -> Callable[[int, int, np.random.Generator], tuple]:
    """`sample(batch_size, block_size, rng) -> (x, y)` for training: `get_batch` on the whole array for one source,
    a `MixtureSampler` for several; targets masked by `mask` (see `load_mask`) when given."""
    sources = source_splits(meta, "train")
    if len(sources) == 1:
        return functools.partial(get_batch, train_tokens, mask=mask)
    return MixtureSampler(train_tokens, sources, mask).get_batch
