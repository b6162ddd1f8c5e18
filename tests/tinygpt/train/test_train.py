"""Training: config parsing errors, gradient accumulation, exact resume after SIGKILL, NaN handling, logs."""

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, train_config
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.cli.train import main
from tinygpt.train import config as config_module
from tinygpt.train.config import ConfigError, TrainConfig, read_command_line
from tinygpt.train.loss import bits_per_byte
from tinygpt.train.trainer import RUN_STATE, Trainer, TrainingDiverged, TrainingStopped

TINY_FLAGS = ["--n_layer=2", "--n_head=2", "--n_embd=32", "--block_size=16", "--batch_size=4", "--warmup_steps=3",
              "--eval_interval=5", "--eval_batches=2", "--checkpoint_interval=5", "--progress=false"]


@pytest.fixture(scope="module")
def data_dir(tiny_dataset):
    """A small dataset prepared from a few standard-library modules (conftest)."""
    return tiny_dataset


def flags(data_dir, out_dir, *extra):
    return [f"--data_dir={data_dir}", f"--out_dir={out_dir}", *TINY_FLAGS, *extra]


def test_unknown_key_is_an_error():
    with pytest.raises(ConfigError, match="unknown config key.*'n_layers'"):
        train_config(["--n_layers=3"])


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigError, match="--lr expects float, got 'fast'"):
        train_config(["--lr=fast"])


def test_config_file_then_flags(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"n_layer": 3, "lr": 1e-3}))
    config = train_config([str(path), "--lr=5e-4"])
    assert config.n_layer == 3 and config.lr == 5e-4
    assert read_command_line([str(path), "--lr=5e-4", "--resume"]) == ({"n_layer": 3, "lr": "5e-4"}, "latest")


def test_config_file_with_wrong_type_is_an_error(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"n_layer": "four"}))
    with pytest.raises(ConfigError, match="n_layer expects int"):
        train_config([str(path)])


def test_cli_errors_exit_2_before_running(tmp_path, capsys):
    assert main(["--batch_size=0"]) == 2
    assert "batch_size must be >= 1" in capsys.readouterr().err
    assert main([f"--data_dir={tmp_path}/missing"]) == 2
    assert "no dataset" in capsys.readouterr().err


def test_bits_per_byte():
    assert bits_per_byte(np.log(2), tokens=100, num_bytes=100) == pytest.approx(1.0)
    assert bits_per_byte(np.log(2) * 2, tokens=100, num_bytes=400) == pytest.approx(0.5)


def test_training_lowers_loss_and_writes_logs(data_dir, tmp_path):
    out = tmp_path / "run"
    release = tmp_path / "release"
    assert main(flags(data_dir, out, "--max_steps=40", "--lr=3e-3", f"--release_dir={release}")) == 0
    evals = json.loads((out / "log.json").read_text())
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.3
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "log.csv") as handle:
        assert len(list(csv.DictReader(handle))) == len(evals)
    metrics = json.loads((release / "metrics.json").read_text())
    assert 0 < metrics["val_bpb"] < 10 and (release / "tokenizer.json").exists()


def test_gradient_accumulation_averages(data_dir, tmp_path):
    """One step on 2 micro-batches of 2 rows sees the same gradient as one batch of those 4 rows."""
    from tinygpt.data import dataset

    accumulated = Trainer(train_config(flags(data_dir, tmp_path / "a", "--batch_size=2", "--grad_accum=2",
                                             "--grad_clip=0", "--optimizer=adamw")))  # Adam's moment shows the grad
    whole = Trainer(train_config(flags(data_dir, tmp_path / "b", "--batch_size=4")))
    rng = np.random.default_rng(accumulated.config.seed)  # the trainer's data generator starts from this seed
    (x1, y1), (x2, y2) = (dataset.get_batch(accumulated.train_tokens, 2, 16, rng) for _ in range(2))
    whole.model(np.concatenate([x1, x2]), np.concatenate([y1, y2]))[1].backward()
    accumulated.train_step()
    for (name, full_batch), param in zip(whole.model.named_parameters(), accumulated.model.parameters()):
        first_moment = accumulated.optimizer.state[id(param)]["exp_avg"]  # (1 - beta1) * grad after one step
        np.testing.assert_allclose(first_moment / 0.1, full_batch.grad.data, rtol=1e-3, atol=1e-6, err_msg=name)


def test_resume_after_sigkill_matches_uninterrupted_run(data_dir, tmp_path):
    """Bit for bit, however busy the machine: both runs use one BLAS thread (a run's count is fixed when it starts
    and --resume restores it; test_run_faults.py checks that), since sums split over other thread counts differ in the
    last bits."""
    steps = ["--max_steps=30", "--checkpoint_interval=10", "--blas_threads=1"]
    straight = tmp_path / "straight"
    assert main(flags(data_dir, straight, *steps)) == 0

    killed = tmp_path / "killed"
    command = [sys.executable, "train.py", *flags(data_dir, killed, *steps)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not _checkpoint_step(killed) >= 10:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stopped_at = _checkpoint_step(killed)
    assert 10 <= stopped_at < 30 or process.returncode == 0
    assert main([*flags(data_dir, killed, *steps), "--resume"]) == 0

    history = [row for row in csv.reader(open(straight / "train_loss.csv"))][1:]
    resumed = [row for row in csv.reader(open(killed / "train_loss.csv"))][1:]
    assert len(history) == len(resumed) == 30
    assert history == resumed, "resumed run diverged from the uninterrupted one"


def test_resume_needs_only_the_out_dir_and_is_exact(data_dir, tmp_path, capsys, monkeypatch):
    """--resume takes every key the command line does not give from the checkpoint; given keys override it, except
    the model's shape."""
    steps = "--max_steps=16"
    assert main(flags(data_dir, tmp_path / "straight", steps)) == 0
    stopped = tmp_path / "stopped"
    trainer = Trainer(train_config(flags(data_dir, stopped, steps)))

    class StopAtStep7:  # as if Ctrl-C came during step 7
        @property
        def signum(self):
            return signal.SIGINT if trainer.step >= 7 else None

    with pytest.raises(TrainingStopped):
        trainer.run(StopAtStep7())
    capsys.readouterr()
    assert main([f"--out_dir={stopped}", "--resume", "--n_layer=3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_layer=3 conflicts with checkpoint" in err and "n_layer=2" in err

    assert main([f"--out_dir={stopped}", "--resume"]) == 0
    assert _losses(stopped) == _losses(tmp_path / "straight")
    converted = []  # each value is converted once: the two flags, then the checkpoint's stored keys
    original = config_module._convert
    monkeypatch.setattr(config_module, "_convert", lambda *args: converted.append(args[0]) or original(*args))
    assert main([f"--out_dir={stopped}", "--resume", "--max_steps=18"]) == 0
    stored = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in config_module.NOT_RESUMED]
    assert sorted(converted) == sorted(["out_dir", "max_steps", *stored])
    assert "changed by the command line: max_steps 16 -> 18" in capsys.readouterr().err
    assert _checkpoint_step(stopped) == 18
    assert set(trainer.run_state()) == set(RUN_STATE)  # what a checkpoint carries is what resume restores


def _losses(out_dir: Path) -> list[list[str]]:
    with open(out_dir / "train_loss.csv") as handle:
        return list(csv.reader(handle))[1:]


def _checkpoint_step(out_dir: Path) -> int:
    path = out_dir / "ckpt.safetensors"
    if not path.exists():
        return 0
    from tinygpt.checkpoint import read_checkpoint

    try:
        return read_checkpoint(path)[0]["step"]
    except Exception:
        return 0


def test_nan_loss_stops_and_keeps_last_checkpoint(data_dir, tmp_path):
    out = tmp_path / "run"
    config = train_config(flags(data_dir, out, "--max_steps=20"))
    trainer = Trainer(config)
    for _ in range(5):
        trainer.train_step()
    trainer.save()
    saved = (out / "ckpt.safetensors").read_bytes()
    trainer.model.h[0].mlp.c_fc.weight.data[...] = np.nan
    with pytest.raises(TrainingDiverged, match="loss became nan at step 6"):
        trainer.train_step()
    assert (out / "ckpt.safetensors").read_bytes() == saved


def test_resume_without_checkpoint_is_a_clear_error(data_dir, tmp_path, capsys):
    assert main([*flags(data_dir, tmp_path / "empty"), "--resume"]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_cli_dispatch_train_help(capsys):
    from tinygpt.cli import main as cli_main

    assert cli_main(["train", "--help"]) == 0
    assert "--resume" in capsys.readouterr().out
    assert os.path.exists(REPO / "train.py")


def test_evaluation_runs_in_eval_mode_without_touching_the_training_rng(data_dir, tmp_path):
    """With dropout on, held-out loss is deterministic (eval mode, no graph), the model's mode is restored and
    the RNG that dropout draws from during training is left where it was."""
    import tinytorch as tt
    from tinygpt.train.loss import estimate_loss

    trainer = Trainer(train_config(flags(data_dir, tmp_path / "run", "--dropout=0.5")))
    model = trainer.model
    rng_state = tt.default_rng().bit_generator.state
    first = estimate_loss(model, trainer.val_tokens, 2, 4, seed=0)
    second = estimate_loss(model, trainer.val_tokens, 2, 4, seed=0)
    assert first == second
    assert model.training and all(m.training for m in model.modules())
    assert tt.default_rng().bit_generator.state == rng_state


def test_capability_timeline_is_recorded_and_survives_resume(data_dir, tmp_path):
    """Every timeline_interval steps the run records greedy completions of the fixed prompts (and whether they
    parse) into timeline.jsonl; a resumed run keeps the earlier records."""
    from tinygpt.train.timeline import PROMPTS

    out = tmp_path / "run"
    assert main(flags(data_dir, out, "--max_steps=6", "--timeline_interval=3")) == 0
    records = [json.loads(line) for line in (out / "timeline.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6] and records[1]["tokens"] == 6 * 4 * 16
    assert [c["prompt"] for c in records[0]["completions"]] == list(PROMPTS)
    assert all(isinstance(c["compiles"], bool) and c["text"] for c in records[0]["completions"])
    assert main(flags(data_dir, out, "--max_steps=9", "--timeline_interval=3", "--resume")) == 0
    records = [json.loads(line) for line in (out / "timeline.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6, 9]
    assert (out / "timeline.png").read_bytes().startswith(b"\x89PNG")  # the timeline drawn beside its records


def test_resume_never_takes_the_release_dir_or_time_limit_from_the_checkpoint():
    """A resumed copy of a run directory must not write into the original's release directory, and a time limit
    was for the session that set it."""
    from tinygpt.train.config import TrainConfig, resume_config

    stored = {**TrainConfig().to_dict(), "release_dir": "models/original", "time_limit_minutes": 5.0, "max_steps": 77}
    config = resume_config({}, stored, "ckpt")
    assert config.release_dir == "" and config.time_limit_minutes == 0.0 and config.max_steps == 77
    assert resume_config({"release_dir": "models/new"}, stored, "ckpt").release_dir == "models/new"


def test_init_from_starts_a_fresh_run_from_a_checkpoints_weights(data_dir, tmp_path, capsys):
    """Fine-tuning: --init_from takes the weights only; step, optimizer and logs start over. A checkpoint of another
    shape or trained with another tokenizer is refused, naming what differs."""
    from tinygpt.checkpoint import load_model

    checkpoint = f"--init_from={tmp_path}/base/ckpt.safetensors"
    assert main(flags(data_dir, tmp_path / "base", "--max_steps=4")) == 0
    base = load_model(tmp_path / "base" / "ckpt.safetensors")[0]
    trainer = Trainer(train_config(flags(data_dir, tmp_path / "tuned", checkpoint)))
    assert trainer.step == 0 and trainer.history == [] and not trainer.optimizer.state_dict()["state"]
    for name, weights in base.weights().items():
        np.testing.assert_array_equal(trainer.model.weights()[name], weights)
    assert main(flags(data_dir, tmp_path / "tuned", "--max_steps=2", checkpoint)) == 0
    capsys.readouterr()
    assert main(flags(data_dir, tmp_path / "wider", "--n_embd=64", checkpoint)) == 2
    assert "differs from this run in n_embd: give the checkpoint's shape (--n_embd=" in capsys.readouterr().err
    assert main(flags(data_dir, tmp_path / "none", f"--init_from={tmp_path}/missing.safetensors")) == 2
    assert "--init_from" in capsys.readouterr().err


def test_init_from_refuses_a_dataset_with_another_tokenizer_of_the_same_size(data_dir, tmp_path, capsys):
    """The usual fine-tuning mistake: own code prepared with a newly learned tokenizer of the same size."""
    import sysconfig

    source = tmp_path / "own"
    source.mkdir()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("calendar.py", "csv.py", "difflib.py"):
        (source / name).write_text((stdlib / name).read_text(encoding="utf-8"), encoding="utf-8")
    own = tmp_path / "own_data"
    assert prepare_main(["--source", str(source), "--out", str(own), "--vocab-size", "300",
                         "--val-fraction", "0.3"]) == 0
    assert main(flags(data_dir, tmp_path / "base", "--max_steps=2")) == 0
    capsys.readouterr()
    assert main(flags(own, tmp_path / "tuned", f"--init_from={tmp_path}/base/ckpt.safetensors")) == 2
    assert "was trained with a tokenizer of sha256" in capsys.readouterr().err
    tokenizer = tmp_path / "base" / "tokenizer.json"
    assert prepare_main(["--source", str(source), "--out", str(tmp_path / "fits"), "--tokenizer", str(tokenizer),
                         "--val-fraction", "0.3"]) == 0
    assert main(flags(tmp_path / "fits", tmp_path / "tuned", "--max_steps=2",
                      f"--init_from={tmp_path}/base/ckpt.safetensors")) == 0


def test_the_timeline_tracks_the_suite_the_unseen_words_set_and_mbpp_validation_side_by_side():
    """The timeline's task sets, and its plot drawn from records that hold all three (and from old ones that say
    "parses", recorded before compile() was the test)."""
    from tinygpt.tasks.mbpp import DEFAULT_PROBLEMS
    from tinygpt.train.report import plot_timeline
    from tinygpt.train.timeline import task_sets

    sets = task_sets()
    assert len(sets["suite"]) == 122 and len(sets["unseen"]) == 300
    assert ("mbpp_validation" in sets) == DEFAULT_PROBLEMS.is_file()
    if DEFAULT_PROBLEMS.is_file():
        assert {task.task_id for task in sets["mbpp_validation"]} == {f"MBPP/{i}" for i in range(511, 601)}
    counts = {"attempts": 10, "compiles": 8, "has_body": 7, "passed": 2}
    records = [{"tokens": n * 1000, "completions": [{"compiles": True}], "suite": counts, "unseen": counts,
                "mbpp_validation": counts} for n in (1, 2)]
    old = [{"tokens": 1000, "completions": [{"parses": True}], "suite": {**counts, "parses": 8}}]
    for timeline in (records, old):
        assert plot_timeline(timeline, []).startswith(b"\x89PNG")
