"""Ctrl-C and SIGTERM: training saves a checkpoint after the current step and exits with 130 or 143 and one line (a
second signal stops at once), and the resumed run matches an uninterrupted one step for step; `prepare` stops with
one line and leaves the previous dataset exactly as it was, with no temporary files beside it.

Signals are real: sent to a subprocess, either from the test or, where the moment must be exact, by the subprocess
itself at a chosen step.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, TINY_RUN_FLAGS
from tinygpt.checkpoint import read_document
from tinygpt.cli.train import main as train_main

SIGNAL_AT_STEP = """
import os, signal, sys
from tinygpt.train import trainer as train
from tinygpt.cli import train as train_command

signals, at_step = [getattr(signal, name) for name in sys.argv[1].split(",")], int(sys.argv[2])
original = train.Trainer.train_step

def train_step(self):
    loss = original(self)
    if self.step == at_step:
        for signum in signals:
            os.kill(os.getpid(), signum)
    return loss

train.Trainer.train_step = train_step
sys.exit(train_command.main(sys.argv[3:]))
"""
SIGNAL_WHILE_WRITING = """
import os, signal, sys
from tinytorch.text import BPETokenizer
from tinygpt.cli import prepare

signum, original = getattr(signal, sys.argv[1]), BPETokenizer.save

def save(self, path):  # train.bin and val.bin are written; the tokenizer and meta.json are not yet
    os.kill(os.getpid(), signum)
    original(self, path)

BPETokenizer.save = save
sys.exit(prepare.main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def source(stdlib_modules) -> Path:
    return stdlib_modules


@pytest.fixture(scope="module")
def data_dir(tiny_dataset) -> Path:
    return tiny_dataset


def prepare_args(source: Path, out: Path) -> list[str]:
    return ["--source", str(source), "--out", str(out), "--vocab-size", "300", "--val-fraction", "0.3",
            "--no-benchmark-check"]


def flags(data_dir: Path, out_dir: Path, *extra: str) -> list[str]:
    return [f"--data_dir={data_dir}", f"--out_dir={out_dir}", *TINY_RUN_FLAGS, *extra]


def run_python(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def losses(out_dir: Path) -> list[list[str]]:
    with open(out_dir / "train_loss.csv") as handle:
        return list(csv.reader(handle))[1:]


def only_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("train:") or line.startswith("prepare:")]
    assert "Traceback" not in stderr, stderr
    return lines[-1]


# ---- train ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_signal_saves_a_checkpoint_and_the_resumed_run_is_exact(data_dir, tmp_path, name, code):
    steps = "--max_steps=16"
    assert train_main(flags(data_dir, tmp_path / "straight", steps)) == 0

    stopped = tmp_path / "stopped"
    result = run_python(SIGNAL_AT_STEP, name, "7", *flags(data_dir, stopped, steps))
    assert result.returncode == code, result.stderr
    line = only_line(result.stderr)
    assert f"stopped by {name} at step 7" in line and "holds step 7 (all weights finite)" in line
    assert read_document(stopped / "ckpt.safetensors")["step"] == 7  # not 5, the last periodic checkpoint
    assert [path.name for path in stopped.iterdir() if ".tmp-" in path.name] == []

    assert train_main([*flags(data_dir, stopped, steps), "--resume"]) == 0
    assert losses(stopped) == losses(tmp_path / "straight")


def test_a_second_signal_stops_at_once_and_keeps_the_last_checkpoint(data_dir, tmp_path):
    out = tmp_path / "run"
    result = run_python(SIGNAL_AT_STEP, "SIGINT,SIGINT", "7", *flags(data_dir, out, "--max_steps=16"))
    assert result.returncode == 130, result.stderr
    assert "stopped at once by a second SIGINT" in only_line(result.stderr)
    assert read_document(out / "ckpt.safetensors")["step"] == 5


def test_ctrl_c_from_outside_while_training(data_dir, tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "train.py", *flags(data_dir, out, "--max_steps=100000")], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "ckpt.safetensors").exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    line = only_line(stderr)
    step = read_document(out / "ckpt.safetensors")["step"]
    assert step >= 5 and f"stopped by SIGINT at step {step}" in line


# ---- prepare --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_signal_while_prepare_writes_leaves_the_old_dataset(source, data_dir, tmp_path, name, code):
    import shutil

    out = tmp_path / "data"
    shutil.copytree(data_dir, out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    result = run_python(SIGNAL_WHILE_WRITING, name, *prepare_args(source, out), "--vocab-size", "280")
    assert result.returncode == code, result.stderr
    line = only_line(result.stderr)
    assert f"prepare: stopped by {name}" in line and "unchanged" in line
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert os.listdir(tmp_path) == ["data"]
