"""Outputs written whole or not at all, and inputs that are wrong reported in one line: `prepare` replaces its
dataset as one directory (a failure midway leaves the old one and no temporary files), refuses to replace a
directory holding anything else and an output path it cannot create; datasets with a meta.json missing keys or
token ids beyond the vocabulary are refused; unreadable source files are skipped and counted; `import-hf` checks
sizes before allocating, stays inside its directory, refuses a corrupt tokenizer and writes the checkpoint and its
tokenizer as a pair. Failures are injected (a write that raises, a permission denied).
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from tinygpt.checkpoint import CheckpointError, load_model, read_document
from tinygpt.cli.export import main_import
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.data import dataset
from tinygpt.hf.mapping import gpt2_weight_shapes, to_hf_state_dict
from tinygpt.model import GPT, GPTConfig
from tinygpt.outputs import atomic_directory, file_sha256
from tinytorch.text import BPETokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])
DATASET = ["meta.json", "tokenizer.json", "train.bin", "val.bin"]


@pytest.fixture(scope="module")
def source(stdlib_modules) -> Path:
    return stdlib_modules


def prepare(source: Path, out: Path, *extra: str) -> int:
    return prepare_main(["--source", str(source), "--out", str(out), "--vocab-size", "300", "--val-fraction", "0.3",
                         "--no-benchmark-check", *extra])


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err), err
    return err[-1]


# ---- prepare writes its dataset whole --------------------------------------------------------------------------------

@pytest.fixture
def old_dataset(source, tmp_path) -> Path:
    out = tmp_path / "data"
    assert prepare(source, out) == 0
    assert sorted(os.listdir(out)) == DATASET
    return out


def test_a_failing_write_leaves_the_old_dataset_and_no_debris(source, old_dataset, tmp_path, capsys, monkeypatch):
    before = snapshot(old_dataset)

    def disk_full(self, path):  # train.bin and val.bin are written by now, meta.json not yet
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(BPETokenizer, "save", disk_full)
    capsys.readouterr()
    assert prepare(source, old_dataset, "--vocab-size", "280") == 1
    line = one_line(capsys)
    assert "No space left on device" in line and "unchanged" in line
    assert snapshot(old_dataset) == before
    assert os.listdir(tmp_path) == ["data"]


def test_ctrl_c_while_writing_leaves_the_old_dataset(source, old_dataset, tmp_path, capsys, monkeypatch):
    before = snapshot(old_dataset)

    def interrupted(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(BPETokenizer, "save", interrupted)
    assert prepare(source, old_dataset, "--vocab-size", "280") == 130
    assert "stopped by SIGINT" in one_line(capsys)
    assert snapshot(old_dataset) == before and os.listdir(tmp_path) == ["data"]


def test_a_new_dataset_replaces_the_old_one_whole(source, old_dataset, tmp_path):
    old_meta = dataset.read_meta(old_dataset)
    assert prepare(source, old_dataset, "--vocab-size", "280") == 0
    meta = dataset.read_meta(old_dataset)
    assert meta["vocab_size"] != old_meta["vocab_size"]
    assert meta["vocab_size"] == BPETokenizer.load(old_dataset / "tokenizer.json").vocab_size
    for split in dataset.SPLITS:
        assert len(dataset.load_split(old_dataset, split)) == meta["splits"][split]["tokens"]
    assert os.listdir(tmp_path) == ["data"]


def test_concurrent_writers_use_their_own_temporary_directories(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target, "--out", ["a"], "test") as first:
        with atomic_directory(target, "--out", ["a"], "test") as second:
            assert first != second and str(os.getpid()) in first.name and first.parent == target.parent
            (second / "a").write_text("second")
        (first / "a").write_text("first")
    assert (target / "a").read_text() == "first" and os.listdir(tmp_path) == ["out"]


def test_a_replacement_killed_between_its_renames_is_recovered(tmp_path):
    """A writer killed after moving the old directory aside and before moving the new one in."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    aside = tmp_path / f".out.old-{dead.pid}-abc"
    (aside / "out").mkdir(parents=True)
    (aside / "out" / "a").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "out", "--out", ["a"], "test") as staging:
        (staging / "a").write_text("new")
        raise RuntimeError("fails before the rename")
    assert (tmp_path / "out" / "a").read_text() == "old" and os.listdir(tmp_path) == ["out"]


def test_prepare_refuses_to_replace_a_directory_holding_other_files(source, tmp_path, capsys):
    out = tmp_path / "project"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        prepare(source, out)
    assert exit_info.value.code == 2
    line = one_line(capsys)
    assert "--out" in line and "notes.txt" in line
    assert os.listdir(out) == ["notes.txt"]


def test_prepare_output_under_a_file_or_without_permission_is_one_line(source, tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        prepare(source, tmp_path / "file" / "data")
    assert exit_info.value.code == 2 and "is a file" in one_line(capsys)
    monkeypatch.setattr("tinygpt.outputs.os.access", lambda path, mode: False)
    with pytest.raises(SystemExit) as exit_info:
        prepare(source, tmp_path / "data")
    assert exit_info.value.code == 2 and "no write permission" in one_line(capsys)


def test_prepare_into_a_directory_that_refuses_writes(source, tmp_path, capsys, monkeypatch):
    """The permission check passes (root, a network file system) but creating the temporary directory fails."""
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    assert prepare(source, tmp_path / "data") == 2
    assert "--out" in (line := one_line(capsys)) and "Permission denied" in line


# ---- reading sources and datasets ------------------------------------------------------------------------------------

def test_an_unreadable_source_file_is_skipped_and_counted(source, tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    shutil.copytree(source, tree)
    locked = tree / "glob.py"
    original = Path.read_bytes

    def read_bytes(path):
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert prepare(tree, tmp_path / "data") == 0
    meta = dataset.read_meta(tmp_path / "data")
    assert meta["skipped"]["unreadable"] == 1
    assert sum(meta["splits"][split]["files"] for split in dataset.SPLITS) == len(list(source.iterdir())) - 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_a_file_without_read_permission_is_skipped(source, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(source, tree)
    (tree / "glob.py").chmod(0)
    assert prepare(tree, tmp_path / "data") == 0
    assert dataset.read_meta(tmp_path / "data")["skipped"]["unreadable"] == 1


@pytest.mark.parametrize("change, message", [
    (lambda meta: meta.pop("dtype"), "missing 'dtype'"),
    (lambda meta: meta.update(dtype="float64"), "dtype must be one of"),
    (lambda meta: meta["splits"].pop("val"), "splits.val"),
    (lambda meta: meta["sources"][0]["splits"]["train"].update(end=10**9), "sources[0]"),
])
def test_a_meta_json_missing_what_readers_need_is_one_line(old_dataset, capsys, change, message):
    from tinygpt.cli.train import main as train_main

    meta = json.loads((old_dataset / "meta.json").read_text())
    change(meta)
    (old_dataset / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(dataset.DatasetError, match=message.replace("[", r"\[")):
        dataset.read_meta(old_dataset)
    assert train_main([f"--data_dir={old_dataset}", "--block_size=16"]) == 2
    assert message in one_line(capsys)


def test_token_ids_beyond_the_vocabulary_are_refused(old_dataset, capsys):
    from tinygpt.cli.train import main as train_main

    meta = dataset.read_meta(old_dataset)
    tokens = np.fromfile(old_dataset / "train.bin", dtype=meta["dtype"])
    tokens[3] = meta["vocab_size"]
    tokens.tofile(old_dataset / "train.bin")
    with pytest.raises(dataset.DatasetError, match=f"token id {meta['vocab_size']}"):
        dataset.load_split(old_dataset, "train")
    assert train_main([f"--data_dir={old_dataset}", "--block_size=16"]) == 2
    assert "vocab_size" in one_line(capsys)


# ---- import-hf ------------------------------------------------------------------------------------------------------

def test_expected_shapes_match_the_model(hf_dir):
    config = GPTConfig(vocab_size=50, block_size=8, n_layer=3, n_head=2, n_embd=8)
    built = {name: array.shape for name, array in to_hf_state_dict(GPT(config).weights()).items()}
    assert gpt2_weight_shapes(config) == built


@pytest.mark.parametrize("changes", [{"vocab_size": 10**9}, {"n_layer": 10**6}, {"n_positions": 10**9, "n_ctx": 10}])
def test_import_checks_sizes_before_allocating_the_model(hf_dir, tmp_path, capsys, monkeypatch, changes):
    config = json.loads((hf_dir / "config.json").read_text())
    (hf_dir / "config.json").write_text(json.dumps({**config, **changes}))

    def no_model(*args, **kwargs):
        raise AssertionError("a model was allocated before the shapes were checked")

    monkeypatch.setattr("tinygpt.hf.import_.GPT", no_model)
    assert main_import([str(hf_dir), "--out", str(tmp_path / "ours" / "model.safetensors")]) == 2
    assert "does not match config.json" in one_line(capsys)
    assert not (tmp_path / "ours").exists()


@pytest.mark.parametrize("shard", ["../outside.safetensors", "/tmp/outside.safetensors", "sub/../../x.safetensors"])
def test_import_refuses_weight_map_paths_outside_the_directory(hf_dir, tmp_path, capsys, shard):
    shutil.copyfile(hf_dir / "model.safetensors", hf_dir.parent / "outside.safetensors")
    (hf_dir / "model.safetensors").unlink()
    (hf_dir / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"wte.weight": shard}}))
    assert main_import([str(hf_dir), "--out", str(tmp_path / "ours.safetensors")]) == 2
    assert "is not a file inside" in one_line(capsys)
    assert not (tmp_path / "ours.safetensors").exists()


@pytest.mark.parametrize("corrupt", ["{not json", '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}',
                                     '["a list"]'])
def test_a_corrupt_tokenizer_is_an_error_not_a_copy(hf_dir, tmp_path, capsys, corrupt):
    (hf_dir / "tokenizer.json").write_text(corrupt)
    out = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(hf_dir), "--out", str(out)]) == 2
    line = one_line(capsys)
    assert "tokenizer.json" in line
    assert not out.parent.exists()


def test_import_writes_checkpoint_and_tokenizer_as_a_pair(hf_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(hf_dir), "--out", str(out)]) == 0
    document = read_document(out)
    assert document["tokenizer_sha256"] == file_sha256(out.parent / "tokenizer.json")
    before = snapshot(out.parent)

    tokenizer = json.loads((hf_dir / "tokenizer.json").read_text())
    tokenizer["model"]["merges"] = tokenizer["model"]["merges"][:-1]  # another tokenizer for the same model
    (hf_dir / "tokenizer.json").write_text(json.dumps(tokenizer))

    def fails(path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tinygpt.hf.import_.save_checkpoint", fails)
    assert main_import([str(hf_dir), "--out", str(out), "--force"]) == 1  # asked to replace: the write fails
    assert "No space left on device" in one_line(capsys)
    assert snapshot(out.parent) == before  # the old checkpoint beside the old tokenizer, no temporary files

    (out.parent / "tokenizer.json").write_text(json.dumps(tokenizer))  # swapped behind the checkpoint's back
    with pytest.raises(CheckpointError, match="not the one checkpoint"):
        load_model(out)


def test_export_refuses_a_tokenizer_that_is_not_the_checkpoints(hf_dir, tmp_path, capsys):
    from tinygpt.cli.export import main as export_main

    out = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(hf_dir), "--out", str(out)]) == 0
    other = BPETokenizer.train([(STDLIB / "glob.py").read_text(encoding="utf-8")], vocab_size=280)
    other.save(tmp_path / "other.json")
    assert export_main([str(out), str(tmp_path / "back"), "--tokenizer", str(tmp_path / "other.json")]) == 2
    assert "not the one checkpoint" in one_line(capsys)
    assert export_main([str(out), str(tmp_path / "back")]) == 0


def test_an_unconvertible_tokenizer_is_copied_with_its_hash(hf_dir, tmp_path):
    tokenizer = json.loads((hf_dir / "tokenizer.json").read_text())
    tokenizer["normalizer"] = {"type": "NFC"}  # sound, but a BPETokenizer has no normalizer
    (hf_dir / "tokenizer.json").write_text(json.dumps(tokenizer))
    out = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(hf_dir), "--out", str(out)]) == 0
    kept = out.parent / "hf_tokenizer"
    assert (kept / "tokenizer.json").read_bytes() == (hf_dir / "tokenizer.json").read_bytes()
    assert read_document(out)["hf_tokenizer_sha256"]
    (kept / "special_tokens_map.json").write_text("{}")
    with pytest.raises(CheckpointError, match="are not the ones"):
        load_model(out)


def test_import_output_under_a_file_is_one_line(hf_dir, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main_import([str(hf_dir), "--out", str(tmp_path / "file" / "model.safetensors")]) == 2
    assert "is a file" in one_line(capsys)
