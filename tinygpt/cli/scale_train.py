"""`tinygpt scale-train`: continue training a TinyGPT on many processes with PyTorch's distributed engine.

    torchrun --standalone --nproc-per-node N -m tinygpt scale-train [config.json] [--key=value ...] [--resume]
        [--device auto|cpu|cuda] [--precision fp32|bf16] [--debug-log DIR]

The training keys are `tinygpt train`'s (a config file, then --key=value flags; tinygpt/config.py), with one
difference: --batch_size is per rank, so N ranks train on a global batch of N * batch_size windows, the same
windows one process with batch N * batch_size draws. --init_from=CHECKPOINT.safetensors continues a TinyGPT
checkpoint; without it the run starts from the config, as `tinygpt train` would. --resume continues
OUT_DIR/checkpoint with its stored config, which the command line overrides except for the model's shape.

OUT_DIR/checkpoint is a Hugging Face GPT-2 directory: `tinygpt import-hf OUT_DIR/checkpoint --out model.safetensors`
brings the model back (docs/scale.md). Without torchrun it is a world of one process.

Options of this command only: --device (auto: one GPU per rank where CUDA is visible, NCCL; else CPUs, gloo),
--precision (bf16: autocast to bfloat16 for the forward pass), --debug-log DIR (each rank appends, per step, the
loss and a SHA-256 of its weights to DIR/rank-R.jsonl: equal digests on every rank mean identical weights).

Exit statuses: 0 done; 2 a bad argument, config, dataset or checkpoint; 1 needs torch (the `scale` extra), or the
loss diverged; 128 + the signal when SIGINT or SIGTERM stopped it (after a checkpoint).
"""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

from tinygpt.cli import EXIT_BAD_ARGUMENT, EXIT_FAILED, ArgumentParser, DefaultsHelpFormatter, print_stderr
from tinygpt.data.dataset import DatasetError
from tinygpt.train.config import ConfigError, TrainConfig, read_command_line

PROG = "tinygpt scale-train"
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16")
SCALE_PACKAGES = ("torch", "transformers")


class HelpFormatter(argparse.RawDescriptionHelpFormatter, DefaultsHelpFormatter):
    """The module's docstring as written, and each option's default."""


def build_parser() -> ArgumentParser:
    keys = ", ".join(f"--{key}={value!r}" for key, value in TrainConfig().to_dict().items())
    keys = textwrap.fill(f"training keys (as `tinygpt train`; batch_size per rank): {keys}", 100)
    parser = ArgumentParser(prog=PROG, allow_abbrev=False, description="\n\n".join(__doc__.split("\n\n")[:4]),
                            epilog=keys,
                            formatter_class=HelpFormatter)
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where each rank computes")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="the forward pass's precision")
    parser.add_argument("--debug-log", type=Path, metavar="DIR",
                        help="write each rank's loss and weight digest per step to DIR/rank-R.jsonl")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options, rest = parser.parse_known_args(argv)
    lead = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 alone speaks

    def fail(message: str, status: int) -> int:
        if lead:
            print_stderr(f"{PROG}: error: {message}")
        return status

    try:
        values, resume = read_command_line(rest)
    except ConfigError as err:
        return fail(str(err), EXIT_BAD_ARGUMENT)
    try:
        from tinygpt.scale.trainer import ScaleError, TrainingDiverged, TrainingStopped, run
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in SCALE_PACKAGES:
            raise
        return fail(f"needs {err.name}, which is not installed: pip install 'tinytorch-tinygpt[scale]' (or pip "
                    "install -e '.[scale]' in a checkout; it pins torch==2.13.0)", EXIT_FAILED)
    try:
        run(values, resume, options.device, options.precision, options.debug_log)
    except (ScaleError, ConfigError, DatasetError) as err:
        return fail(str(err), EXIT_BAD_ARGUMENT)
    except TrainingDiverged as err:
        return fail(str(err), EXIT_FAILED)
    except TrainingStopped as err:
        if lead:
            print_stderr(f"{PROG}: {err}")
        return err.exit_code
    return 0
