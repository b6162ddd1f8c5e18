"""Several sources with mixture weights: `tinygpt prepare` keeps each source's files together with its own held-out
split, drops duplicates (the first source keeps the file) and generated files with a reason each, learns the
tokenizer on a weighted sample; batches draw rows by weight from inside one source; training logs bits per byte per
source and resumes exactly; the shipped mixture configs are valid.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, train_config
from tinygpt.cli.prepare import main
from tinygpt.data import dataset
from tinygpt.data.corpus import (
    SourceFile,
    SourceSpec,
    SourceSpecError,
    is_held_out,
    load_sources_file,
    parse_source_spec,
)
from tinygpt.data.prepare import CleanSource, tokenizer_sample
from tinygpt.train.config import ConfigError
from tinygpt.train.trainer import Trainer
from tinytorch.text import END_OF_TEXT, BPETokenizer

VAL_FRACTION = 0.3
SHARED = "x = [value * 2 for value in range(10) if value % 3]  # the same file in both sources\n"
TINY_TRAIN = ["--n_layer=1", "--n_head=2", "--n_embd=16", "--block_size=16", "--batch_size=4", "--warmup_steps=2",
              "--eval_interval=3", "--eval_batches=2", "--checkpoint_interval=3", "--progress=false"]


def program(source: str, index: int) -> str:
    return (f'"""{source} program {index}: a small documented function."""\n\n\n'
            f"def {source}_{index}(numbers, limit={index}):\n"
            f'    """Return the {source} numbers below {index}."""\n'
            f"    return [number for number in numbers if number < limit and number % {index + 2}]\n")


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative_path, text in files.items():
        (root / relative_path).parent.mkdir(parents=True, exist_ok=True)
        (root / relative_path).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Two sources: alpha with a minified, a long-line and a symbol-only file; beta repeating one of alpha's files."""
    alpha = {f"alpha/part{i % 3}/file_{i}.py": program("alpha", i) for i in range(10)}
    alpha["alpha/shared.py"] = SHARED
    beta = {f"beta/part{i % 3}/file_{i}.py": program("beta", i) for i in range(10)}
    beta["beta/copy_of_shared.py"] = SHARED
    generated = {"alpha/minified.py": "x=1;" * 300 + "\n", "alpha/wide.py": ("y = " + "1 + " * 30 + "1\n") * 5,
                 "alpha/symbols.py": "# " + "=-" * 40 + "\n"}
    root = tmp_path_factory.mktemp("sources")
    write_tree(root / "alpha", {**alpha, **generated})
    write_tree(root / "beta", beta)
    return {"root": root, "alpha": alpha, "beta": beta}


@pytest.fixture(scope="module")
def mixture(trees, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mixture")
    root = trees["root"]
    assert main(["--source", f"alpha={root / 'alpha'}:3", "--source", f"beta={root / 'beta'}:1", "--out", str(out),
                 "--vocab-size", "300", "--val-fraction", str(VAL_FRACTION), "--max-line-chars", "1000"]) == 0
    return out


def test_each_source_keeps_its_files_split_and_counts(trees, mixture: Path) -> None:
    meta = dataset.read_meta(mixture)
    tokenizer = BPETokenizer.load(mixture / "tokenizer.json")
    assert [(s["name"], s["weight"]) for s in meta["sources"]] == [("alpha", 3.0), ("beta", 1.0)]
    kept = {"alpha": trees["alpha"], "beta": {p: t for p, t in trees["beta"].items() if t != SHARED}}
    for split in dataset.SPLITS:
        tokens = dataset.load_split(mixture, split)
        arrays = dataset.load_source_arrays(mixture, split)
        sources = dataset.source_splits(meta, split)
        assert sources[0].start == 0 and sources[1].start == sources[0].end + 1 and sources[1].end == len(tokens)
        assert tokens[sources[0].end] == meta["eot_id"]  # end-of-text between sources too
        for source in sources:
            held_out = split == "val"
            files = [t for p, t in sorted(kept[source.name].items()) if is_held_out(p, VAL_FRACTION) == held_out]
            assert files and tokenizer.decode(arrays[source.name].tolist()) == END_OF_TEXT.join(files)
            assert (source.files, source.bytes) == (len(files), sum(len(t.encode()) for t in files))
        assert meta["splits"][split]["tokens"] == len(tokens)
        assert meta["splits"][split]["files"] == sum(s.files for s in sources)


def test_duplicates_and_generated_files_are_removed_with_their_reason(mixture: Path) -> None:
    meta = dataset.read_meta(mixture)
    alpha, beta = meta["sources"]
    assert alpha["removed"] == {"long_line": 1, "long_mean_line": 1, "low_alphanumeric": 1, "duplicate": 0,
                                "benchmark": 0}
    assert beta["removed"]["duplicate"] == 1  # alpha, given first, keeps the shared file
    assert meta["removed"]["duplicate"] == 1 and meta["removed"]["long_line"] == 1


def test_tokenizer_sample_gives_each_source_its_weights_share() -> None:
    def source(name: str, weight: float, count: int, size: int) -> CleanSource:
        files = [SourceFile(f"{name}_{i}.py", f"{i:03d}" + "x" * (size - 3)) for i in range(count)]
        return CleanSource(SourceSpec(name, Path("."), weight), {"train": files, "val": []}, {}, {})

    big, small = source("big", 1.0, 100, 100), source("small", 3.0, 10, 100)  # 10,000 and 1,000 bytes
    texts, sample_bytes = tokenizer_sample([big, small])
    assert sample_bytes == {"big": 2_800, "small": 8_300}  # 11,000 bytes split 1:3, the last file rounding up
    assert sum(len(text) for text in texts) == sum(sample_bytes.values())
    alone, alone_bytes = tokenizer_sample([big])
    assert alone == [f.text for f in big.splits["train"]] and alone_bytes == {"big": 10_000}


def test_mixture_sampler_draws_rows_by_weight_from_inside_one_source() -> None:
    first = np.arange(0, 500, dtype=np.uint16)
    second = np.arange(1000, 1300, dtype=np.uint16)
    tokens = np.concatenate([first, [9999], second]).astype(np.uint16)
    sources = [dataset.SourceSplit("first", 1.0, 0, 500, 5, 0), dataset.SourceSplit("second", 3.0, 501, 801, 3, 0)]
    sampler = dataset.MixtureSampler(tokens, sources)
    x, y = sampler.get_batch(4000, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (4000, 8) and x.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    from_second = (x[:, 0] >= 1000).mean()
    assert abs(from_second - 0.75) < 0.03
    assert not np.any(x == 9999) and not np.any(y == 9999)  # no window crosses into the next source
    assert np.all(np.diff(np.concatenate([x, y[:, -1:]], axis=1), axis=1) == 1)  # consecutive tokens of one source
    again = sampler.get_batch(4000, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(x, again[0])


def test_one_source_samples_exactly_as_get_batch(mixture: Path, tmp_path: Path, trees) -> None:
    out = tmp_path / "single"
    assert main(["--source", str(trees["root"] / "beta"), "--out", str(out), "--vocab-size", "300",
                 "--val-fraction", str(VAL_FRACTION)]) == 0
    tokens = dataset.load_split(out, "train")
    sample = dataset.batch_sampler(dataset.read_meta(out), tokens)
    expected = dataset.get_batch(tokens, 3, 8, np.random.default_rng(5))
    for got, want in zip(sample(3, 8, np.random.default_rng(5)), expected):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(dataset.DatasetError, match="block_size=100000"):
        dataset.batch_sampler(dataset.read_meta(mixture), dataset.load_split(mixture, "train"))(2, 100_000,
                                                                                     np.random.default_rng(0))


def test_source_specs(tmp_path: Path) -> None:
    odd = tmp_path / "odd:name"
    odd.mkdir()
    assert parse_source_spec(f"lib={tmp_path}:2.5") == SourceSpec("lib", tmp_path, 2.5)
    assert parse_source_spec(f"lib={tmp_path}") == SourceSpec("lib", tmp_path, 1.0)
    assert parse_source_spec(str(odd)) == SourceSpec("odd_name", odd, 1.0)
    assert parse_source_spec("STDLIB").name == "stdlib"
    for bad, message in [(f"lib={tmp_path}:0", "positive"), (f"lib={tmp_path}:nan", "positive"),
                         ("lib=/no/such/dir", "not a directory"), (f"bad name={tmp_path}", "not a directory")]:
        with pytest.raises(SourceSpecError, match=message):
            parse_source_spec(bad)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--source", "a={alpha}", "--source", "a={beta}"], "distinct"),
    (["--source", "a={alpha}:-1"], "positive"),
    (["--source", "a={alpha}", "--sources", "{alpha}/x.json"], "not both"),
    (["--sources", "{alpha}/missing.json"], "--sources"),
    (["--min-alphanumeric", "2"], "--min-alphanumeric"),
])
def test_bad_source_arguments_exit_with_code_2(trees, capsys, arguments, message) -> None:
    root = trees["root"]
    arguments = [a.format(alpha=root / "alpha", beta=root / "beta") for a in arguments]
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_sources_file_gives_the_same_dataset(trees, mixture: Path, tmp_path: Path) -> None:
    root = trees["root"]
    sources = {"sources": [{"name": "alpha", "path": str(root / "alpha"), "weight": 3},
                           {"name": "beta", "path": str(root / "beta"), "weight": 1}]}
    (tmp_path / "sources.json").write_text(json.dumps(sources))
    out = tmp_path / "from-file"
    assert main(["--sources", str(tmp_path / "sources.json"), "--out", str(out), "--vocab-size", "300",
                 "--val-fraction", str(VAL_FRACTION)]) == 0
    for name in ("train.bin", "val.bin", "tokenizer.json"):
        assert (out / name).read_bytes() == (mixture / name).read_bytes()


def test_training_on_a_mixture_logs_bits_per_byte_per_source_and_resumes_exactly(mixture: Path, tmp_path) -> None:
    config = train_config([f"--data_dir={mixture}", f"--out_dir={tmp_path / 'run'}", *TINY_TRAIN,
                           "--max_steps=6"])
    straight = Trainer(config)
    straight.run()
    with open(tmp_path / "run" / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {"val_bpb_alpha", "val_bpb_beta"} <= set(rows[0]) and len(rows) == 2
    assert all(0 < float(row["val_bpb_alpha"]) < 20 and 0 < float(row["val_bpb_beta"]) < 20 for row in rows)

    config.out_dir = str(tmp_path / "interrupted")
    interrupted = Trainer(config)
    for _ in range(3):
        interrupted.train_step()
    interrupted.save()
    resumed = Trainer(config, resume_from=Path(config.out_dir) / "ckpt.safetensors")
    for _ in range(3):
        resumed.train_step()
    assert resumed.history == straight.history


def test_source_weights_change_the_mixture_at_training_time(mixture: Path, tmp_path) -> None:
    """`source_weights` replaces the dataset's weights for the sources it names (0 leaves one out of the batches);
    a name the dataset lacks, a bad pair or all weights 0 are one clear error before training."""
    meta = dataset.read_meta(mixture)
    only_beta = dataset.reweighted(meta, {"alpha": 0.0})
    assert [s.weight for s in dataset.source_splits(only_beta, "train")] == [0.0, meta["sources"][1]["weight"]]
    sampler = dataset.MixtureSampler(np.zeros(10), dataset.source_splits(only_beta, "train"))
    assert sampler.probabilities.tolist() == [0.0, 1.0]
    assert dataset.reweighted(meta, {}) is meta
    with pytest.raises(dataset.DatasetError, match="'gamma', not a source of this dataset"):
        dataset.reweighted(meta, {"gamma": 1.0})
    with pytest.raises(dataset.DatasetError, match="every source at weight 0"):
        dataset.reweighted(meta, {"alpha": 0, "beta": 0})
    for bad in ("alpha", "alpha=-1", "alpha=nan", "alpha=1,alpha=2", "=1"):
        with pytest.raises(ConfigError, match="source_weights expects name=weight"):
            train_config([f"--data_dir={mixture}", f"--source_weights={bad}"])
    config = train_config([f"--data_dir={mixture}", f"--out_dir={tmp_path / 'run'}", *TINY_TRAIN,
                           "--max_steps=2", "--source_weights=alpha=0, beta=2"])
    trainer = Trainer(config)
    assert [s["weight"] for s in trainer.meta["sources"]] == [0.0, 2.0]
    trainer.run()


def test_shipped_mixture_configs_are_valid(monkeypatch) -> None:
    config = train_config([str(REPO / "configs" / "mixture.json")])
    sources_file = REPO / "configs" / "mixture_sources.json"
    assert config.data_dir == "data/mixture"  # where `tinygpt prepare --sources` writes several sources by default
    entries = json.loads(sources_file.read_text())["sources"]
    assert [e["name"] for e in entries][0] == "stdlib" and len(entries) == 7
    didactic = sum(e["weight"] for e in entries[1:]) / sum(e["weight"] for e in entries)
    assert 0.4 <= didactic <= 0.6
    monkeypatch.chdir(REPO)
    if not all(e["path"] == "STDLIB" or Path(e["path"]).is_dir() for e in entries):
        pytest.skip("the corpora under ../shared/corpora are not here")
    assert [spec.name for spec in load_sources_file(sources_file)] == [e["name"] for e in entries]
