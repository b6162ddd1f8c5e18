"""Faults of a training run, each ending in one clean line (exit 2 for bad input, naming
the option or file) or the correct result: a replaced folder never takes the user's hidden files with it, a diverging
run never overwrites its last healthy checkpoint, a resumed checkpoint's optimizer shapes and step counters are
checked, the evaluation is bounded by the split, a config file's duplicate key is named, and a run's BLAS thread
count is fixed from start to end (recorded in the checkpoint, restored by --resume).
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import error_line, run_flags, trained
from tinygpt.checkpoint import read_checkpoint, read_document, save_checkpoint
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.cli.train import main
from tinygpt.outputs import OutputError, atomic_directory
from tinygpt.train import health
from tinygpt.train import trainer as train_module


@pytest.fixture(scope="module")
def source(stdlib_modules) -> Path:
    return stdlib_modules


def prepare(source: Path, out: Path) -> int:
    """`tinygpt prepare`'s exit status (an argument error exits through argparse)."""
    try:
        return prepare_main(["--source", str(source), "--out", str(out), "--vocab-size", "300", "--val-fraction",
                             "0.3", "--no-benchmark-check"])
    except SystemExit as exit_:
        return exit_.code


@pytest.fixture(scope="module")
def data_dir(tiny_dataset) -> Path:
    return tiny_dataset


def flags(data_dir: Path, out_dir: Path, *extra: str) -> list[str]:
    return run_flags(data_dir, out_dir, "--blas_threads=1", *extra)


# ---- replacing a folder keeps the user's hidden files ---------------------------------------------------------------

def keep_hidden_files(directory: Path) -> None:
    (directory / ".notes").write_text("mine")
    (directory / ".git").mkdir()
    (directory / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


def test_prepare_refuses_a_dataset_folder_holding_hidden_files(source, tmp_path, capsys):
    out = tmp_path / "set"
    assert prepare(source, out) == 0
    keep_hidden_files(out)
    capsys.readouterr()
    assert prepare(source, out) == 2
    line = error_line(capsys)
    assert "--out" in line and ".git" in line and ".notes" in line
    assert (out / ".notes").read_text() == "mine" and (out / ".git" / "HEAD").is_file()
    assert (out / "train.bin").is_file()


def test_a_release_dir_holding_hidden_files_is_refused_before_training(data_dir, tmp_path, capsys):
    release = tmp_path / "release"
    release.mkdir()
    (release / "metrics.json").write_text("{}")
    (release / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    assert main(flags(data_dir, tmp_path / "run", "--max_steps=5", f"--release_dir={release}")) == 2
    line = error_line(capsys)
    assert "--release_dir" in line and ".gitattributes" in line
    assert (release / ".gitattributes").is_file() and not (tmp_path / "run" / "ckpt.safetensors").exists()


def test_a_killed_writers_temporaries_do_not_block_a_replacement(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "a").write_text("old")
    (target / ".a.tmp-999999999").write_text("half")  # left by a writer killed mid-write
    with atomic_directory(target, "--out", ["a"], "test") as staging:
        (staging / "a").write_text("new")
    assert sorted(path.name for path in target.iterdir()) == ["a"] and (target / "a").read_text() == "new"
    (target / ".keep").write_text("mine")
    with pytest.raises(OutputError, match=r"\.keep"), atomic_directory(target, "--out", ["a"], "test"):
        pass


# ---- a diverging run keeps its last healthy checkpoint --------------------------------------------------------------

def test_health_is_judged_by_held_out_loss_and_weight_norm_against_the_run():
    evals = [{"step": 55, "val_loss": 4.6}, {"step": 60, "val_loss": 4.40}]
    healthy = {"step": 60, "val_loss": 4.40, "weight_norm": 30.0}
    assert health.judge(4.3, 31.0, evals, healthy, step=65, vocab_size=300) is None
    assert "held-out loss 6.7e+11" in health.judge(6.7e11, 31.0, evals, healthy, step=65, vocab_size=300)
    assert "weight norm 3e+16" in health.judge(4.3, 3e16, evals, healthy, step=70, vocab_size=300)
    assert health.judge(math.nan, 31.0, evals, healthy, step=65, vocab_size=300) is not None
    assert health.judge(5.0, 1.0, [], None, step=5, vocab_size=300) is None  # ln 300 = 5.7: no history yet
    assert "uniform guessing" in health.judge(9.0, 1.0, [], None, step=5, vocab_size=300)


def test_a_diverging_run_never_overwrites_its_last_healthy_checkpoint(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(flags(data_dir, out, "--max_steps=10")) == 0
    assert read_document(out / "healthy.safetensors")["step"] == 10
    capsys.readouterr()
    code = main([*flags(data_dir, out, "--max_steps=20", "--checkpoint_interval=1", "--eval_interval=1"),
                 "--resume", "--lr=1e3", "--grad_clip=0", f"--release_dir={tmp_path / 'release'}"])
    printed = capsys.readouterr()
    latest = read_document(out / "ckpt.safetensors")
    assert latest["step"] > 10, "the diverging steps are saved as the latest"
    document, tensors = read_checkpoint(out / "healthy.safetensors")
    assert document["step"] == 10 and document["healthy"]["step"] == 10
    assert all(np.isfinite(array).all() for array in tensors.values())
    said = printed.out + printed.err
    assert "not healthy" in said and "healthy.safetensors (step 10" in said and "--resume=healthy" in said
    assert code == 1 and not (tmp_path / "release").exists(), "an unhealthy model is never released"

    assert main([f"--out_dir={out}", "--resume=healthy", "--max_steps=12"]) == 0
    assert read_document(out / "ckpt.safetensors")["step"] == 12
    assert read_document(out / "healthy.safetensors")["step"] == 12
    capsys.readouterr()
    assert main([f"--out_dir={out}", "--resume=best"]) == 2
    assert "--resume takes no value or one of latest, healthy" in error_line(capsys)


def test_a_checkpoint_from_before_health_and_threads_were_recorded_still_resumes(data_dir, tmp_path):
    trainer = trained(data_dir, tmp_path / "run", "--blas_threads=1")
    metadata = trainer._metadata()
    for key in ("healthy", "blas_threads"):
        metadata.pop(key)
    save_checkpoint(trainer.checkpoint_path, trainer.model, metadata, trainer.optimizer.state_dict())
    (tmp_path / "run" / "healthy.safetensors").unlink()
    assert main([*flags(data_dir, tmp_path / "run", "--max_steps=10"), "--resume"]) == 0
    document = read_document(trainer.checkpoint_path)
    assert document["step"] == 10 and document["healthy"]["step"] == 10 and document["blas_threads"] == 1


# ---- a resumed checkpoint is checked before its first step ----------------------------------------------------------

def test_an_optimizer_state_of_the_wrong_shape_is_one_line_naming_it(data_dir, tmp_path, capsys):
    trainer = trained(data_dir, tmp_path / "run", "--blas_threads=1")
    state = trainer.optimizer.state_dict()
    name = next(iter(state["state"][0]))  # momentum_buffer under Muon, exp_avg under AdamW
    state["state"][0][name] = state["state"][0][name][:1]
    save_checkpoint(trainer.checkpoint_path, trainer.model, trainer._metadata(), state)
    assert main([*flags(data_dir, tmp_path / "run", "--max_steps=8"), "--resume"]) == 2
    line = error_line(capsys)
    assert str(trainer.checkpoint_path) in line and f"'{name}' of parameter 0" in line and "shape" in line


@pytest.mark.parametrize("where", ["step", "optimizer"])
def test_a_corrupt_step_counter_is_refused(data_dir, tmp_path, capsys, where):
    trainer = trained(data_dir, tmp_path / "run", "--blas_threads=1")
    metadata, state = trainer._metadata(), trainer.optimizer.state_dict()
    if where == "step":
        metadata["step"] = 10 ** 30
    else:
        state["state"][3]["step"] = 10 ** 30
    save_checkpoint(trainer.checkpoint_path, trainer.model, metadata, state)
    assert main([*flags(data_dir, tmp_path / "run", "--max_steps=8"), "--resume"]) == 2
    line = error_line(capsys)
    assert "cannot be resumed" in line and "1000000000000000000000000000000" in line
    assert ("optimizer.3.step" in line) == (where == "optimizer")


# ---- settings --------------------------------------------------------------------------------------------------------

def test_eval_batches_beyond_the_split_are_refused_before_training(data_dir, tmp_path, capsys):
    assert main(flags(data_dir, tmp_path / "run", "--eval_batches=1000000000")) == 2
    line = error_line(capsys)
    val_tokens = json.loads((data_dir / "meta.json").read_text())["splits"]["val"]["tokens"]
    assert "--eval_batches=1000000000" in line and f"at most --eval_batches={val_tokens // 2}" in line
    assert not (tmp_path / "run").exists()


def test_a_timeline_suite_without_the_sandbox_is_refused_before_training(data_dir, tmp_path, capsys, monkeypatch):
    from tinygpt import sandbox
    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    run = flags(data_dir, tmp_path / "run", "--timeline_interval=5", "--timeline_suite=true")
    assert main(run) == 2
    line = error_line(capsys)
    assert "timeline_suite" in line and "bubblewrap" in line
    assert not (tmp_path / "run").exists()


def test_a_config_file_with_a_duplicate_key_names_it(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text('{"n_layer": 2, "lr": 0.001, "n_layer": 6}')
    assert main([str(config)]) == 2
    line = error_line(capsys)
    assert str(config) in line and "'n_layer' twice" in line


def test_a_config_file_nested_too_deeply_is_one_line_naming_it(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text("[" * 100_000 + "]" * 100_000)
    assert main([str(config)]) == 2
    line = error_line(capsys)
    assert str(config) in line and "not valid JSON" in line


# ---- one BLAS thread count from start to end -------------------------------------------------------------------------

def test_the_thread_count_a_run_starts_with_is_recorded_and_restored_by_resume(data_dir, tmp_path, monkeypatch, capsys):
    used = []

    @contextlib.contextmanager
    def recording(count):
        used.append(count)
        yield

    monkeypatch.setattr(train_module, "blas_threads", recording)
    automatic = [arg for arg in flags(data_dir, tmp_path / "run") if arg != "--blas_threads=1"]
    monkeypatch.setattr(train_module, "usable_blas_threads", lambda: 2)  # an idle machine when the run starts
    assert main([*automatic, "--max_steps=5"]) == 0
    assert read_document(tmp_path / "run" / "ckpt.safetensors")["blas_threads"] == 2 and set(used) == {2}

    used.clear()
    monkeypatch.setattr(train_module, "usable_blas_threads", lambda: 1)  # a busy one when it resumes
    assert main([f"--out_dir={tmp_path / 'run'}", "--resume", "--max_steps=10"]) == 0
    assert used and set(used) == {2}, "the resumed steps must use the count the run began with"

    used.clear()
    capsys.readouterr()
    assert main([f"--out_dir={tmp_path / 'run'}", "--resume", "--max_steps=12", "--blas_threads=1"]) == 0
    assert set(used) == {1} and "blas_threads 0 -> 1" in capsys.readouterr().err
