"""`tinygpt bench`: TinyGPT's speed and memory on this machine, against PyTorch eager when torch is installed.

    tinygpt bench                      full configuration (vocab 4096, 4 layers, 4 heads, width 256, context 256,
                                       batch 16, float32, AdamW), then the context and width sweeps
    tinygpt bench --quick              a tiny configuration that only checks everything runs
    tinygpt bench --no-torch --no-scaling --steps 3 --out DIR
    python benchmarks/bench.py ...     the same, as a script from a source checkout

What is measured and how: `tinygpt.bench` (its PyTorch side `tinygpt/bench/torch_reference.py`, the `bench` extra).
Results go to OUT/results.json and the sweeps to OUT/scaling.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tinygpt import bench
from tinygpt.cli import ArgumentParser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny configuration: checks the command works")
    parser.add_argument("--steps", type=int, default=None, help="timed repetitions of each training/forward measure")
    parser.add_argument("--out", default="benchmarks/results", help="directory for results.json and scaling.png")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch and transformers even if installed")
    parser.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True,
                        help="also sweep context length and width (default on)")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be >= 1, got {args.steps}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup = bench.QUICK if args.quick else bench.FULL
    if args.steps is not None:
        setup = dataclasses.replace(setup, steps=args.steps)
    reference = None if args.no_torch else bench.load_torch_reference()
    if reference is None and not args.no_torch:
        print("tinygpt bench: torch is not installed, measuring tinytorch only", file=sys.stderr)
    bench.run(setup, reference, Path(args.out), args.scaling)
    return 0
