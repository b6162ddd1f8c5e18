"""Datasets and a DataLoader: index a dataset, shuffle with a seed, collate samples into batched tensors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .tensor import Tensor


class Dataset:
    """Anything with `__len__` and `__getitem__(i)`."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Sample i is (t[i] for t in tensors); all tensors share their first dimension."""

    def __init__(self, *tensors):
        arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: tensors have different first dimensions {sorted(lengths)}")
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


def default_collate(samples: list):
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    return Tensor(np.stack([s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples]))


class DataLoader:
    """Batches of a dataset; `shuffle=True` reshuffles every epoch from a generator seeded with `seed`."""

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, collate_fn=default_collate):
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.rng = np.random.default_rng(seed)
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator:
        order = self.rng.permutation(len(self.dataset)) if self.shuffle else np.arange(len(self.dataset))
        if isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate:  # one fancy-index a batch
            for start in range(0, len(self), 1):
                index = order[start * self.batch_size:(start + 1) * self.batch_size]
                yield tuple(Tensor(a[index]) for a in self.dataset.arrays)
            return
        for start in range(len(self)):
            index = order[start * self.batch_size:(start + 1) * self.batch_size]
            yield self.collate_fn([self.dataset[int(i)] for i in index])
