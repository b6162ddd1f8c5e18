"""Dataset, TensorDataset and DataLoader: batch sizes, order, seeded shuffling, drop_last, collation."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.data import DataLoader, Dataset, TensorDataset

FEATURES = np.arange(20, dtype=np.float32).reshape(10, 2)
LABELS = np.arange(10) * 10


class Squares(Dataset):
    """A map-style dataset that is not a TensorDataset: sample i is (i, i^2 as float)."""

    def __len__(self):
        return 7

    def __getitem__(self, index):
        return np.int64(index), np.float32(index * index)


def batches(loader):
    return [tuple(t.numpy().copy() for t in batch) for batch in loader]


def test_tensor_dataset():
    dataset = TensorDataset(tt.tensor(FEATURES), LABELS)
    assert len(dataset) == 10
    x, y = dataset[3]
    np.testing.assert_array_equal(x, FEATURES[3])
    assert y == 30
    with pytest.raises(ValueError, match="first dimensions"):
        TensorDataset(FEATURES, LABELS[:9])


@pytest.mark.parametrize("dataset", [TensorDataset(FEATURES, LABELS), Squares()], ids=["tensors", "map-style"])
@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (5, False), (1, True), (32, False)])
def test_batch_sizes_and_drop_last(dataset, batch_size, drop_last):
    loader = DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)
    sizes = [len(batch[0]) for batch in loader]
    n = len(dataset)
    expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size and not drop_last else [])
    assert sizes == expected and len(loader) == len(expected)


def test_unshuffled_order_and_dtypes():
    loaded = batches(DataLoader(TensorDataset(FEATURES, LABELS), batch_size=4))
    np.testing.assert_array_equal(np.concatenate([x for x, _ in loaded]), FEATURES)
    np.testing.assert_array_equal(np.concatenate([y for _, y in loaded]), LABELS)
    x, y = next(iter(DataLoader(TensorDataset(FEATURES, LABELS), batch_size=4)))
    assert isinstance(x, tt.Tensor) and x.dtype == np.float32 and y.dtype == np.int64


def test_map_style_dataset_is_collated():
    (index, square), *_ = DataLoader(Squares(), batch_size=3)
    assert index.tolist() == [0, 1, 2] and square.tolist() == [0.0, 1.0, 4.0]
    assert index.dtype == np.int64 and square.dtype == np.float32


@pytest.mark.parametrize("dataset", [TensorDataset(FEATURES, LABELS), Squares()], ids=["tensors", "map-style"])
def test_shuffle_is_seeded_and_reshuffles_each_epoch(dataset):
    first, second = (DataLoader(dataset, batch_size=3, shuffle=True, seed=7) for _ in range(2))
    epoch_1, epoch_2 = batches(first), batches(first)
    for a, b in zip(epoch_1, batches(second), strict=True):  # same seed, same order
        np.testing.assert_array_equal(a[0], b[0])
    order_1 = np.concatenate([b[0] for b in epoch_1])
    order_2 = np.concatenate([b[0] for b in epoch_2])
    assert sorted(order_1.tolist()) == sorted(np.concatenate([b[0] for b in batches(DataLoader(dataset))]).tolist())
    assert not np.array_equal(order_1, order_2)  # a new permutation every epoch
    other_seed = np.concatenate([b[0] for b in batches(DataLoader(dataset, batch_size=3, shuffle=True, seed=8))])
    assert not np.array_equal(order_1, other_seed)


def test_shuffle_keeps_pairs_together():
    for x, y in DataLoader(TensorDataset(FEATURES, LABELS), batch_size=4, shuffle=True, seed=0):
        np.testing.assert_array_equal(y.numpy(), x.numpy()[:, 0] * 5)


@pytest.mark.parametrize("dataset", [TensorDataset(FEATURES, LABELS), Squares()], ids=["tensors", "map-style"])
def test_custom_collate_fn_is_used(dataset):
    loader = DataLoader(dataset, batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4] * (len(dataset) // 4) + [len(dataset) % 4]


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(Squares(), batch_size=0)
