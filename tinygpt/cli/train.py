"""`python train.py` / `tinygpt train`: the command line around `Trainer`.

    python train.py [config.json] [--key=value ...] [--resume[=healthy]]

--resume continues OUT_DIR/ckpt.safetensors with the train config stored in it: every key the command line does not
give (the model's shape, the data, the schedule) comes from the checkpoint, so `--resume --out_dir=DIR` is enough.
Keys given in a config file or as flags override it (`--max_steps=20000`, `--time_limit_minutes=60`), except the
model's shape (n_layer, n_head, n_embd, block_size, dropout, bias, pos_encoding): another value there is an error.
--resume=healthy continues OUT_DIR/healthy.safetensors instead, the last checkpoint judged healthy (held-out loss and
weight norm against the run's own history, tinygpt/train/health.py): the way back from a run that diverged.

A resumed run repeats the uninterrupted one bit for bit on the same machine and NumPy build: it has the same
weights, optimizer state, RNG states and BLAS thread count (--blas_threads, by default the cores free when the run
began, recorded in the checkpoint), whatever the machine's load is when it resumes.

Nothing a run has learned is lost and nothing it writes is mixed up:
- the run locks --out_dir (a second run into it stops at once, naming the first one's pid) and removes the
  temporary files a killed run left there;
- the checkpoint carries the SHA-256 of its tokenizer, a copy of which sits beside it; --resume refuses a dataset
  whose tokenizer changed since;
- Ctrl-C or SIGTERM saves a checkpoint after the current step and exits with 130 or 143 (a second one stops at
  once);
- a loss or weights that stop being finite stop the run without saving them, keeping the last finite checkpoint;
  finite garbage (a held-out loss far above the run's best, weights grown tenfold) is saved as the latest but never
  over OUT_DIR/healthy.safetensors, and the run says so;
- a release (--release_dir) is written only for a run that finished, all its files together, and never over a
  directory holding anything but a release;
- a dataset whose tokenizer does not load, or a checkpoint whose step or logs are malformed, is refused at the start;
  a closed or full stdout costs the progress lines, never the run.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from tinygpt.checkpoint import CheckpointError, read_document
from tinygpt.data import dataset
from tinygpt.outputs import (
    DirectoryLock,
    Interrupted,
    OutputError,
    check_replaceable,
    remove_stale_temporaries,
    signal_handlers,
)
from tinygpt.train.config import (
    ConfigError,
    TrainConfig,
    build_config,
    convert_values,
    read_command_line,
    resume_config,
)
from tinygpt.train.trainer import (
    CHECKPOINT_NAME,
    HEALTHY_NAME,
    RELEASE_FILES,
    StopRequest,
    Trainer,
    TrainingDiverged,
    TrainingStopped,
)

__all__ = ["main"]


def check_release_dir(config: TrainConfig) -> None:
    """Before training: --release_dir must be creatable, hold nothing but a release, and not hold the run's own
    checkpoints or data (a release replaces its directory whole)."""
    if not config.release_dir:
        return
    release = Path(config.release_dir)
    check_replaceable(release, "--release_dir", RELEASE_FILES, "release")
    resolved = release.resolve()
    for option, path in (("--out_dir", config.out_dir), ("--data_dir", config.data_dir)):
        inner = Path(path).resolve()
        if inner == resolved or resolved in inner.parents:
            raise OutputError(f"--release_dir {release} would replace {option} {path}; give the release its own "
                              "directory")


def config_from_command_line(argv: list[str]) -> tuple[TrainConfig, Path | None, list[str]]:
    """(config, checkpoint to resume or None, changes): the command line's values over the defaults or, with
    --resume, over the config stored in the checkpoint of --out_dir; then `changes` says which stored values the
    command line changed."""
    values, resume = read_command_line(argv)
    if not resume:
        return build_config(values), None, []
    given = convert_values(values)
    given.setdefault("out_dir", TrainConfig.out_dir)  # the checkpoint is read from this run's --out_dir
    checkpoint = Path(given["out_dir"]) / (HEALTHY_NAME if resume == "healthy" else CHECKPOINT_NAME)
    document = read_document(checkpoint)
    stored = document.get("train_config") if isinstance(document.get("train_config"), dict) else {}
    config = resume_config(given, stored, str(checkpoint))
    changes = [f"{key} {stored[key]!r} -> {value!r}" for key, value in config.to_dict().items()
               if key in stored and key != "out_dir" and stored[key] != value]
    return config, checkpoint, changes


def main(argv: list[str] | None = None, prog: str = "train") -> int:
    """`python train.py` and `tinygpt train` both come here (`prog` names the command in its messages): the command
    line is read, converted and checked once, in `config_from_command_line`."""
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip() + "\n\nkeys: " + ", ".join(f"--{k}={v!r}" for k, v in TrainConfig().to_dict().items()))
        return 0
    stop = StopRequest()
    with signal_handlers(stop):
        try:
            return train(argv, stop, prog)
        except (Interrupted, RuntimeError) as err:
            # a second signal inside an import (matplotlib's, while the logs are drawn) reaches us wrapped: Python
            # reports an exception raised in a class's __set_name__ as a RuntimeError caused by it
            interrupted = err if isinstance(err, Interrupted) else err.__cause__
            if not isinstance(interrupted, Interrupted):
                raise
            print(f"{prog}: stopped at once by a second {signal.Signals(interrupted.signum).name}; what was saved "
                  "before stays (continue with --resume)", file=sys.stderr)
            return interrupted.exit_code


def train(argv: list[str], stop: StopRequest, prog: str = "train") -> int:
    """Check everything, lock --out_dir, resume if asked, train; every failure is one line on stderr."""
    try:
        config, resume, changes = config_from_command_line(argv)
        trainer = Trainer(config, resume_from=resume)
        check_release_dir(config)
        with DirectoryLock(trainer.out_dir, "--out_dir"):
            for path in remove_stale_temporaries(trainer.out_dir):
                print(f"train: note: removed {path}, left by a run killed while writing it", file=sys.stderr)
            if resume:
                if changes:
                    print(f"train: note: resuming step {trainer.step} with the checkpoint's config, changed by the "
                          f"command line: {', '.join(changes)}", file=sys.stderr)
            if stop.signum is None:
                trainer.run(stop)
            else:
                trainer.stop_on_signal(stop.signum, trainer.step)
    except (ConfigError, CheckpointError, dataset.DatasetError, OutputError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except TrainingStopped as err:
        print(f"{prog}: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:  # a full disk, a file system gone read-only: what was written before stays
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
