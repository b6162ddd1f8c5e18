"""The dataset pipeline on a small source tree made here: skipped files are counted, the split is by file and stable,
the token arrays decode back to the files joined by `<|endoftext|>`, bad arguments exit with code 2, and batches are
reproducible windows with targets shifted by one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO
from tinygpt.cli.prepare import main
from tinygpt.data import dataset
from tinygpt.data.prepare import is_held_out
from tinytorch.text import END_OF_TEXT, BPETokenizer

VAL_FRACTION = 0.3
MAX_FILE_BYTES = 4_000


def module_text(index: int) -> str:
    return (
        f'"""Module number {index}."""\n\n\n'
        f"def function_{index}(value, scale={index}):\n"
        f"    if value > {index}:\n"
        f"        return value * scale\n"
        f"    return [item for item in range(value) if item % {index + 2}]\n\n\n"
        f"class Widget{index}:\n"
        f"    def __init__(self, name):\n"
        f"        self.name = name  # café ☕ {index}\n"
    )


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Twelve good modules in nested packages, plus files prepare must skip or ignore. Returns the root and the
    good files' texts by relative path."""
    root = tmp_path_factory.mktemp("source")
    good = {}
    for index in range(12):
        relative_path = f"pkg{index % 3}/sub{index % 2}/module_{index}.py"
        good[relative_path] = module_text(index).replace("\n", "\r\n") if index == 5 else module_text(index)
    good["top.py"] = f"x = '{END_OF_TEXT}'  # a literal, not a separator\n"
    for relative_path, text in good.items():
        path = root / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    (root / "latin1.py").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    (root / "pkg0" / "__init__.py").write_bytes(b"")
    (root / "pkg1" / "empty.py").write_bytes(b"")
    (root / "huge.py").write_bytes(b"x = 1\n" * (MAX_FILE_BYTES // 6 + 1))
    (root / "site-packages" / "vendored").mkdir(parents=True)
    (root / "site-packages" / "vendored" / "lib.py").write_bytes(b"import os\n")
    (root / "notes.txt").write_bytes(b"not python\n")
    return root, good


def run_prepare(source: Path, out: Path, *extra: str) -> int:
    args = [
        "--source",
        str(source),
        "--out",
        str(out),
        "--vocab-size",
        "400",
        "--val-fraction",
        str(VAL_FRACTION),
        "--max-file-bytes",
        str(MAX_FILE_BYTES),
        *extra,
    ]
    return main(args)


@pytest.fixture(scope="module")
def prepared(source_tree, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared")
    assert run_prepare(source_tree[0], out) == 0
    return out


def test_meta_counts_files_tokens_bytes_and_skips(source_tree, prepared: Path) -> None:
    _, good = source_tree
    meta = dataset.read_meta(prepared)
    assert meta["skipped"] == {"not_utf8": 1, "empty": 2, "too_large": 1, "unreadable": 0}
    # a corpus this small runs out of pairs seen twice before reaching the requested 400 tokens
    assert meta["vocab_size"] == BPETokenizer.load(prepared / "tokenizer.json").vocab_size <= 400
    assert meta["dtype"] == "uint16"
    splits = meta["splits"]
    assert splits["train"]["files"] + splits["val"]["files"] == len(good)
    assert splits["train"]["files"] > 0 and splits["val"]["files"] > 0
    all_bytes = sum(len(text.encode("utf-8")) for text in good.values())
    assert splits["train"]["bytes"] + splits["val"]["bytes"] == all_bytes
    for split in ("train", "val"):
        assert splits[split]["tokens"] == len(dataset.load_split(prepared, split))


def test_split_is_by_file_and_deterministic(source_tree, prepared: Path) -> None:
    _, good = source_tree
    val_paths = {path for path in good if is_held_out(path, VAL_FRACTION)}
    assert dataset.read_meta(prepared)["splits"]["val"]["files"] == len(val_paths)
    paths = [f"pkg/module_{index}.py" for index in range(2000)]
    held_out = [path for path in paths if is_held_out(path, 0.05)]
    assert 60 < len(held_out) < 140  # about 5%
    assert held_out == [path for path in paths if is_held_out(path, 0.05)]  # a pure function of the path
    assert set(held_out) <= {path for path in paths if is_held_out(path, 0.10)}  # a larger fraction only adds files


def test_tokens_decode_to_the_files_joined_by_end_of_text(source_tree, prepared: Path) -> None:
    _, good = source_tree
    tokenizer = BPETokenizer.load(prepared / "tokenizer.json")
    for split, held_out in (("train", False), ("val", True)):
        texts = [text for path, text in sorted(good.items()) if is_held_out(path, VAL_FRACTION) == held_out]
        decoded = tokenizer.decode(dataset.load_split(prepared, split).tolist())
        assert decoded == END_OF_TEXT.join(texts)
    train_files = set(tokenizer.decode(dataset.load_split(prepared, "train").tolist()).split(END_OF_TEXT))
    val_files = set(tokenizer.decode(dataset.load_split(prepared, "val").tolist()).split(END_OF_TEXT))
    assert not train_files & val_files


def test_literal_end_of_text_in_a_file_is_not_a_separator(prepared: Path) -> None:
    meta = dataset.read_meta(prepared)
    for split in ("train", "val"):
        tokens = dataset.load_split(prepared, split)
        assert np.count_nonzero(tokens == meta["eot_id"]) == meta["splits"][split]["files"] - 1


def test_rerun_and_loaded_tokenizer_give_identical_arrays(source_tree, prepared: Path, tmp_path: Path) -> None:
    assert run_prepare(source_tree[0], tmp_path / "again", "--tokenizer", str(prepared / "tokenizer.json")) == 0
    for split in ("train", "val"):
        assert (tmp_path / "again" / f"{split}.bin").read_bytes() == (prepared / f"{split}.bin").read_bytes()
    assert json.loads((tmp_path / "again" / "meta.json").read_text())["splits"] == dataset.read_meta(prepared)["splits"]


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--source", "/no/such/dir"], "--source"),
        (["--vocab-size", "100"], "--vocab-size"),
        (["--val-fraction", "1.5"], "--val-fraction"),
        (["--tokenizer", "/no/such/tokenizer.json"], "--tokenizer"),
    ],
)
def test_bad_arguments_exit_with_code_2(source_tree, tmp_path: Path, capsys, extra_args, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--source", str(source_tree[0]), "--out", str(tmp_path), *extra_args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_unusable_inputs_exit_with_code_2(source_tree, tmp_path: Path, capsys) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "only.py").write_text("x = 1\n")
    assert main(["--source", str(tmp_path / "src"), "--out", str(tmp_path / "out")]) == 2
    assert "landed in the val split" in capsys.readouterr().err
    (tmp_path / "foreign.json").write_text("{}")
    assert run_prepare(source_tree[0], tmp_path / "out", "--tokenizer", str(tmp_path / "foreign.json")) == 2
    assert "cannot load --tokenizer" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_small_source_is_told_which_val_fraction_works(tmp_path: Path, capsys) -> None:
    (tmp_path / "src").mkdir()
    for name in ("a.py", "b.py"):  # at the default 5 % neither is held out
        (tmp_path / "src" / name).write_text(f"name = {name!r}\n")
    args = ["--source", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--vocab-size", "300",
            "--no-benchmark-check"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "landed in the val split" in err and "puts 1 of the 2 files in the val split" in err
    suggested = err.split("; --val-fraction ")[1].split()[0]
    assert main([*args, "--val-fraction", suggested]) == 0
    assert dataset.read_meta(tmp_path / "out")["splits"]["val"]["files"] == 1


def test_one_source_of_ones_own_goes_to_data_slash_its_name(source_tree, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--vocab-size", "300", "--val-fraction", str(VAL_FRACTION), "--max-file-bytes", str(MAX_FILE_BYTES)]
    assert main(["--source", f"mine={source_tree[0]}", *args]) == 0
    assert (tmp_path / "data" / "mine" / "meta.json").is_file() and not (tmp_path / "data" / "stdlib").exists()
    with pytest.raises(SystemExit) as exit_info:  # named like the built-in dataset: --out must say where
        main(["--source", f"stdlib={source_tree[0]}", *args])
    assert exit_info.value.code == 2 and not (tmp_path / "data" / "stdlib").exists()


def test_module_entry_point_reports_bad_source(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tinygpt.cli.prepare", "--source", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert "is not a directory" in result.stderr.strip().splitlines()[-1]


# ---- batches -------------------------------------------------------------------------------------------------------


def test_get_batch_is_reproducible_and_shifted(prepared: Path) -> None:
    tokens = dataset.load_split(prepared, "train")
    x, y = dataset.get_batch(tokens, 4, 16, np.random.default_rng(7))
    x_again, y_again = dataset.get_batch(tokens, 4, 16, np.random.default_rng(7))
    assert x.shape == y.shape == (4, 16) and x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(x, x_again)
    np.testing.assert_array_equal(y, y_again)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    for row_x, row_y in zip(x, y, strict=True):
        starts = [s for s in range(len(tokens) - 16) if np.array_equal(tokens[s : s + 16], row_x)]
        assert any(np.array_equal(tokens[s + 1 : s + 17], row_y) for s in starts)


def test_get_batch_rejects_a_split_shorter_than_the_block() -> None:
    with pytest.raises(dataset.DatasetError, match="too short"):
        dataset.get_batch(np.arange(8, dtype=np.uint16), 2, 8, np.random.default_rng(0))


def test_missing_dataset_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(dataset.DatasetError, match="tinygpt prepare"):
        dataset.read_meta(tmp_path)
