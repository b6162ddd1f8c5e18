"""Training loses nothing and mixes nothing: every bad input stops it before the first step with one line, the output
directory is locked and cleaned, a checkpoint carries its tokenizer's hash (older checkpoints still resume),
divergence never saves non-finite weights and says what is on disk, and a release is written only for a finished
run, never over a directory holding anything else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, error_line, run_flags, train_config, trained
from tinygpt.checkpoint import CheckpointError, load_model, read_checkpoint, read_document, save_checkpoint
from tinygpt.cli.train import main
from tinygpt.outputs import DirectoryLock, file_sha256
from tinygpt.train.trainer import Trainer, TrainingDiverged


@pytest.fixture(scope="module")
def data_dir(tiny_dataset) -> Path:
    return tiny_dataset


def flags(data_dir: Path, out_dir: Path, *extra: str) -> list[str]:
    return run_flags(data_dir, out_dir, *extra)


# ---- inputs that stop the run before its first step -----------------------------------------------------------------

def test_block_size_longer_than_a_split_fails_at_start(data_dir, tmp_path, capsys):
    meta = json.loads((data_dir / "meta.json").read_text())
    val_tokens, train_tokens = meta["splits"]["val"]["tokens"], meta["splits"]["train"]["tokens"]
    assert val_tokens < train_tokens
    assert main(flags(data_dir, tmp_path / "run", f"--block_size={val_tokens}")) == 2
    line = error_line(capsys)
    assert "val split" in line and f"block_size={val_tokens}" in line and "--val-fraction" in line
    assert main(flags(data_dir, tmp_path / "run", f"--block_size={train_tokens}")) == 2
    assert "train split" in error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_non_utf8_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_bytes(b'{"n_layer": 2, "note": "caf\xe9"}')
    assert main([str(config)]) == 2
    line = error_line(capsys)
    assert str(config) in line and "not UTF-8" in line


@pytest.mark.parametrize("dropped", ["step", "optimizer"])
def test_resume_from_a_checkpoint_without_step_or_optimizer_is_one_line(data_dir, tmp_path, capsys, dropped):
    trainer = trained(data_dir, tmp_path / "run")
    metadata = trainer._metadata()
    metadata.pop(dropped, None)
    optimizer_state = None if dropped == "optimizer" else trainer.optimizer.state_dict()
    save_checkpoint(trainer.checkpoint_path, trainer.model, metadata, optimizer_state)
    assert main([*flags(data_dir, tmp_path / "run"), "--resume", "--max_steps=8"]) == 2
    line = error_line(capsys)
    assert "cannot be resumed" in line and str(trainer.checkpoint_path) in line
    assert dropped in line


def test_release_dir_that_is_a_file_fails_before_training(data_dir, tmp_path, capsys):
    release = tmp_path / "release"
    release.write_text("not a directory")
    assert main(flags(data_dir, tmp_path / "run", "--max_steps=5", f"--release_dir={release}")) == 2
    line = error_line(capsys)
    assert "--release_dir" in line and "is a file" in line
    assert not (tmp_path / "run").exists() and release.read_text() == "not a directory"


@pytest.mark.parametrize("where", ["holds other files", "is the out_dir", "contains the out_dir"])
def test_release_dir_that_would_replace_other_files_is_refused(data_dir, tmp_path, capsys, where):
    out = tmp_path / "release" / "run" if where == "contains the out_dir" else tmp_path / "run"
    release = out if where == "is the out_dir" else tmp_path / "release"
    if where == "holds other files":
        release.mkdir()
        (release / "notes.txt").write_text("keep me")
    assert main(flags(data_dir, out, "--max_steps=5", f"--release_dir={release}")) == 2
    line = error_line(capsys)
    assert "--release_dir" in line and ("notes.txt" in line if where == "holds other files" else "--out_dir" in line)
    assert not (out / "ckpt.safetensors").exists()


@pytest.mark.parametrize("route", ["config file", "flag"])
@pytest.mark.parametrize("key", ["data_dir", "out_dir", "release_dir", "init_from"])
def test_a_nul_byte_in_any_path_setting_is_one_line(data_dir, tmp_path, capsys, route, key):
    value = f"{tmp_path}/run\0x"
    others = [flag for flag in flags(data_dir, tmp_path / "run", "--max_steps=2") if not flag.startswith(f"--{key}=")]
    if route == "config file":
        config = tmp_path / "config.json"
        config.write_text(json.dumps({key: value}))
        argv = [str(config), *others]
    else:
        argv = [*others, f"--{key}={value}"]
    assert main(argv) == 2
    line = error_line(capsys)
    assert "error: " in line and f"{key} must not hold a NUL byte" in line, line
    assert not (tmp_path / "run").exists()


def test_output_dir_under_a_file_or_read_only_is_one_line(data_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    assert main(flags(data_dir, tmp_path / "file" / "run", "--max_steps=2")) == 2
    line = error_line(capsys)
    assert "--out_dir" in line and "is a file" in line
    monkeypatch.setattr("tinygpt.outputs.os.access", lambda path, mode: False)  # as a read-only directory answers
    assert main(flags(data_dir, tmp_path / "run", "--max_steps=2")) == 2
    assert "no write permission" in error_line(capsys)


# ---- the output directory -------------------------------------------------------------------------------------------

def test_a_second_run_into_a_locked_out_dir_fails_fast_naming_the_pid(data_dir, tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tinygpt.outputs import DirectoryLock\n"
                               f"with DirectoryLock({str(tmp_path / 'run')!r}, '--out_dir'):\n"
                               "    print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(flags(data_dir, tmp_path / "run", "--max_steps=2")) == 2
        line = error_line(capsys)
        assert f"pid {holder.pid}" in line and "--out_dir" in line
    finally:
        holder.kill()
        holder.wait()
    assert main(flags(data_dir, tmp_path / "run", "--max_steps=2")) == 0  # the kernel released the dead run's lock


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    with DirectoryLock(tmp_path / "run", "--out_dir"):
        with pytest.raises(ValueError, match=r"in use by another run \(pid \d+\)"):
            DirectoryLock(tmp_path / "run", "--out_dir").__enter__()


def test_stale_temporary_files_of_killed_runs_are_removed_at_start(data_dir, tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    out = tmp_path / "run"
    out.mkdir()
    stale = out / f".ckpt.safetensors.tmp-{dead.pid}"
    stale.write_bytes(b"\0" * 1000)
    live = out / f".log.json.tmp-{running.pid}"  # a writer still running: left alone
    live.write_bytes(b"\0")
    try:
        assert main(flags(data_dir, out, "--max_steps=2")) == 0
    finally:
        running.kill()
        running.wait()
    assert not stale.exists() and live.exists()
    assert f"removed {stale}" in capsys.readouterr().err


# ---- the tokenizer travels with the checkpoint ----------------------------------------------------------------------

def test_checkpoint_records_its_tokenizer_and_refuses_another(data_dir, tmp_path):
    from tinygpt.generate import GenerateError, load_generator

    out = tmp_path / "run"
    assert main(flags(data_dir, out, "--max_steps=5")) == 0
    document = read_document(out / "ckpt.safetensors")
    assert document["tokenizer"] == "tokenizer.json"
    assert document["tokenizer_sha256"] == file_sha256(data_dir / "tokenizer.json") == file_sha256(
        out / "tokenizer.json")
    load_generator(out / "ckpt.safetensors")  # found beside the checkpoint, from any working directory
    tokenizer = json.loads((out / "tokenizer.json").read_text())
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1))  # same tokens, other bytes: still refused
    with pytest.raises(CheckpointError, match="not the one checkpoint .* was written with"):
        load_model(out / "ckpt.safetensors")
    with pytest.raises(GenerateError, match="not the one"):
        load_generator(out / "ckpt.safetensors")


def test_resume_refuses_a_dataset_prepared_again_with_another_tokenizer(data_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    out = tmp_path / "run"
    assert main(flags(copy, out, "--max_steps=5")) == 0
    tokenizer = json.loads((copy / "tokenizer.json").read_text())
    (copy / "tokenizer.json").write_text(json.dumps(tokenizer, indent=2))
    capsys.readouterr()
    assert main([*flags(copy, out, "--max_steps=10"), "--resume"]) == 2
    line = error_line(capsys)
    assert "prepared again" in line and "sha256" in line


def test_a_checkpoint_from_before_the_hash_resumes_and_then_records_it(data_dir, tmp_path, capsys):
    """The format of checkpoints written before this change: the tokenizer named by a working-directory path, no
    hash, no copy beside it. --resume must go on from it exactly as before."""
    out = tmp_path / "run"
    trainer = trained(data_dir, out)
    metadata = trainer._metadata()
    metadata.pop("tokenizer_sha256")
    metadata.pop("tokenizer_source")
    metadata["tokenizer"] = str(data_dir / "tokenizer.json")
    save_checkpoint(trainer.checkpoint_path, trainer.model, metadata, trainer.optimizer.state_dict())
    (out / "tokenizer.json").unlink()
    capsys.readouterr()
    assert main([*flags(data_dir, out, "--max_steps=10"), "--resume"]) == 0
    assert "records no tokenizer hash" in capsys.readouterr().err
    document = read_document(out / "ckpt.safetensors")
    assert document["step"] == 10 and document["tokenizer_sha256"] == file_sha256(data_dir / "tokenizer.json")
    assert (out / "tokenizer.json").read_bytes() == (data_dir / "tokenizer.json").read_bytes()


# ---- divergence ------------------------------------------------------------------------------------------------------

def test_divergence_with_a_checkpoint_says_which_finite_step_is_kept(data_dir, tmp_path):
    trainer = trained(data_dir, tmp_path / "run")
    saved = trainer.checkpoint_path.read_bytes()
    trainer.model.h[0].mlp.c_fc.weight.data[...] = np.nan
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 6.*holds step 5 \(all weights finite\)"):
        trainer.train_step()
    with pytest.raises(TrainingDiverged, match="weights became non-finite .* holds step 5"):
        trainer.save()  # never saved over the good checkpoint
    assert trainer.checkpoint_path.read_bytes() == saved


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_divergence_without_a_checkpoint_says_there_is_none(data_dir, tmp_path):
    trainer = Trainer(train_config(flags(data_dir, tmp_path / "run")))
    trainer.model.wte.weight.data[...] = np.inf
    with pytest.raises(TrainingDiverged, match="no checkpoint was written"):
        trainer.train_step()
    with pytest.raises(TrainingDiverged, match="no checkpoint was written"):
        trainer.save()
    assert not trainer.checkpoint_path.exists()


def test_divergence_through_the_command_is_one_line_exit_1(data_dir, tmp_path, capsys, monkeypatch):
    original = Trainer.train_step

    def poisoned(self):
        if self.step == 7:
            self.model.wte.weight.data[0, 0] = np.nan
        return original(self)

    monkeypatch.setattr(Trainer, "train_step", poisoned)
    out = tmp_path / "run"
    assert main(flags(data_dir, out, "--max_steps=20")) == 1
    line = error_line(capsys)
    assert "loss became nan at step 8" in line and "holds step 5 (all weights finite)" in line
    document, tensors = read_checkpoint(out / "ckpt.safetensors")
    assert document["step"] == 5 and all(np.isfinite(array).all() for array in tensors.values())


# ---- releases -------------------------------------------------------------------------------------------------------

def test_an_interrupted_run_writes_no_release(data_dir, tmp_path, capsys):
    release = tmp_path / "release"
    assert main(flags(data_dir, tmp_path / "run", "--max_steps=50", "--time_limit_minutes=1e-9",
                      f"--release_dir={release}")) == 0
    captured = capsys.readouterr()
    assert "no release is written for an unfinished run" in captured.out + captured.err
    assert not release.exists()
    assert read_document(tmp_path / "run" / "ckpt.safetensors")["step"] < 50


def test_a_release_replaces_the_previous_one_whole(data_dir, tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    (release / "timeline.jsonl").write_text("from an older release\n")
    (release / "metrics.json").write_text("{}")
    assert main(flags(data_dir, tmp_path / "run", "--max_steps=5", f"--release_dir={release}")) == 0
    assert not (release / "timeline.jsonl").exists()  # not part of this release, so not left behind from the old one
    assert json.loads((release / "metrics.json").read_text())["step"] == 5
    document = read_document(release / "model.safetensors")
    assert document["tokenizer"] == "tokenizer.json"
    assert document["tokenizer_sha256"] == file_sha256(release / "tokenizer.json")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["release", "run"]  # no temporary left beside it


def test_a_second_signal_inside_an_import_is_the_clean_stopped_line(monkeypatch, capsys):
    import signal as signals

    import tinygpt.cli.train as train_command
    from tinygpt.outputs import Interrupted

    def interrupted_in_a_class_body(argv, stop, prog):  # what Python raises when __set_name__ is interrupted
        raise RuntimeError("Error calling __set_name__") from Interrupted(signals.SIGINT)

    monkeypatch.setattr(train_command, "train", interrupted_in_a_class_body)
    assert main(["--progress=false"]) == 130
    assert capsys.readouterr().err == ("train: stopped at once by a second SIGINT; what was saved before stays "
                                       "(continue with --resume)\n")
