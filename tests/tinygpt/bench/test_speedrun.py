"""The speedrun benchmark in its tiny mode: every contender races from the same weights on the same batches, and the
table, results and plot are written (the full race is in benchmarks/results/speedrun)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tinygpt.cli.prepare import main as prepare_main

pytest.importorskip("torch")


def speedrun_module():
    spec = importlib.util.spec_from_file_location("speedrun", REPO / "benchmarks" / "speedrun.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dataset(stdlib_modules, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("speedrun")
    source = stdlib_modules
    assert prepare_main(["--source", str(source), "--out", str(directory / "data"), "--vocab-size", "300",
                         "--val-fraction", "0.5", "--no-benchmark-check"]) == 0
    return directory / "data"


def test_tiny_speedrun_races_every_contender_from_the_same_start(dataset, tmp_path, capsys):
    speedrun = speedrun_module()
    out = tmp_path / "out"
    assert speedrun.main(["--tiny", "--data", str(dataset), "--out", str(out), "--max-steps", "6", "--eval-every",
                          "3", "--eval-batches", "2", "--batch-size", "4", "--no-memory"]) == 0
    report = json.loads((out / "results.json").read_text())
    rows = {row["contender"]: row for row in report["contenders"]}
    assert sorted(rows) == sorted(speedrun.CONTENDERS)
    starts = [row["curve"][0][2] for row in rows.values()]
    assert max(starts) - min(starts) < 1e-4  # the same weights, the same held-out batches
    for row in rows.values():
        assert row["steps"] == 6 and len(row["curve"]) == 3 and row["stopped"] == "step limit (6)"
        assert row["curve"][-1][2] < row["curve"][0][2]  # it learned
    # AdamW in both frameworks: the same computation, so the same curve
    for ours, theirs in zip(rows["tinytorch-adamw"]["curve"], rows["torch-adamw"]["curve"], strict=True):
        assert ours[2] == pytest.approx(theirs[2], abs=2e-3)
    table = (out / "table.md").read_text()
    assert all(f"| {name} |" in table for name in speedrun.CONTENDERS)
    assert (out / "speedrun.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, message", [(["--contenders", "jax-adamw"], "--contenders: unknown ['jax-adamw']"),
                                           (["--target", "nan"], "--target must be a positive number"),
                                           (["--muon-momentum", "1"], "--muon-momentum must be in [0, 1)")])
def test_bad_arguments_exit_2_naming_the_option(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        speedrun_module().main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_step_times_mode_times_every_contender(dataset, tmp_path, capsys):
    out = tmp_path / "out"
    assert speedrun_module().main(["--tiny", "--data", str(dataset), "--out", str(out), "--step-times", "2",
                                   "--batch-size", "2", "--contenders", "torch-adamw,tinytorch-muon"]) == 0
    medians = json.loads((out / "step_times.json").read_text())["median_step_s"]
    assert sorted(medians) == ["tinytorch-muon", "torch-adamw"] and all(value > 0 for value in medians.values())
    assert "x torch-adamw's speed" in capsys.readouterr().out
