"""Which windows of the prepared token files each rank reads (NumPy only, no torch).

The rule that makes N processes equal one: every rank draws the starts of the whole global batch (N * B windows)
from the same seeded generator, in exactly the order `tinygpt.data.dataset.batch_sampler` draws a batch of N * B,
then cuts only its own B windows, rows `rank * B` to `(rank + 1) * B`. So N ranks with batch B train on the same
windows as one process with batch N * B, as `tinygpt train --batch_size=N*B` with the same seed would, and drawing the
starts costs nothing next to cutting the windows. The generator's state is the same on every rank: rank 0 saves it.

The loss of a step is a mean over the global batch's targets, so each rank also needs the number of targets the
whole global batch holds (fewer than N * B * T when the exercise loss mask hides requests): it counts them from the
same starts, with no communication.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygpt.data import dataset


@dataclass(frozen=True)
class Shard:
    """One rank's part of a global batch: inputs and targets (B, T) int64, targets IGNORE_INDEX where masked, and
    the number of targets the whole global batch trains on."""

    x: np.ndarray
    y: np.ndarray
    global_targets: int


def rank_rows(starts: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """Rank `rank`'s equal share of a global batch's window starts."""
    per_rank = len(starts) // world_size
    return starts[rank * per_rank:(rank + 1) * per_rank]


def count_targets(starts: np.ndarray, block_size: int, mask: np.ndarray | None) -> int:
    """How many targets the windows at `starts` train on: every one, or those whose mask is 1."""
    if mask is None:
        return len(starts) * block_size
    return int(np.count_nonzero(mask[starts[:, None] + 1 + np.arange(block_size)]))


class ShardedBatches:
    """Training batches of one rank: its share of each global batch drawn by source weight, as `batch_sampler`."""

    def __init__(self, meta: dict, tokens: np.ndarray, mask: np.ndarray | None, block_size: int, batch_size: int,
                 rank: int, world_size: int, seed: int):
        sources = dataset.source_splits(meta, "train")
        self.tokens, self.mask, self.block_size = tokens, mask, block_size
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.single = len(sources) == 1  # one source: get_batch over the whole array; several: the mixture
        self.starts = np.array([source.start for source in sources], dtype=np.int64)
        self.ends = np.array([source.end for source in sources], dtype=np.int64)
        weights = np.array([source.weight for source in sources], dtype=np.float64)
        self.probabilities = weights / weights.sum()
        self.rng = np.random.default_rng(seed)

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def draw_starts(self) -> np.ndarray:
        """The global batch's window starts, drawn as `get_batch` (one source) or `MixtureSampler` (several) draw
        them for a batch of `global_batch`."""
        if self.single:
            return self.rng.integers(0, len(self.tokens) - self.block_size, size=self.global_batch)
        rows = self.rng.choice(len(self.probabilities), size=self.global_batch, p=self.probabilities)
        return self.rng.integers(self.starts[rows], self.ends[rows] - self.block_size)

    def next(self) -> Shard:
        starts = self.draw_starts()
        own_starts = rank_rows(starts, self.rank, self.world_size)
        x, y = dataset.cut_windows(self.tokens, own_starts, self.block_size, self.mask)
        return Shard(x, y, count_targets(starts, self.block_size, self.mask))


def eval_shards(tokens: np.ndarray, batches: int, global_batch: int, block_size: int, seed: int, rank: int,
                world_size: int, mask: np.ndarray | None = None) -> list[Shard]:
    """This rank's share of the windows `tinygpt.train.loss.estimate_loss` draws (`batches` batches of
    `global_batch` from `seed`): summed over ranks, the same estimate the project logs."""
    rng = np.random.default_rng(seed)
    shards = []
    for _ in range(batches):
        starts = rng.integers(0, len(tokens) - block_size, size=global_batch)
        x, y = dataset.cut_windows(tokens, rank_rows(starts, rank, world_size), block_size, mask)
        shards.append(Shard(x, y, count_targets(starts, block_size, mask)))
    return shards
