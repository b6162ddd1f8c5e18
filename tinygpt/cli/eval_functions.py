"""Can TinyGPT write a function it has never seen? Complete held-out functions and measure two shares.

`tinygpt eval-functions`: the options and the report; what is measured and how is `tinygpt.eval.functions`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tinygpt.cli import ArgumentParser, output_file, write_text_file
from tinygpt.cli.generate import config_from_args, run_generating_command
from tinygpt.code_completion import REPEATED_LINE_LIMIT
from tinygpt.eval.functions import evaluate, held_out_functions, load_splits, normalize
from tinygpt.generate import (
    DEFAULT_CHECKPOINT,
    DOOR_DEFAULTS,
    REPOSITORY,
    GenerateError,
    load_generator,
)
from tinygpt.tasks.task_eval import share
from tinytorch.generation import STRATEGIES, STRATEGY_SETTINGS, GenerationConfig

DOOR = "eval-functions"  # this command's defaults in tinygpt.generate.DOOR_DEFAULTS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt eval-functions", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained TinyGPT (.safetensors)")
    parser.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    parser.add_argument("--data-dir", type=Path, default=REPOSITORY / "data" / "stdlib",
                        help="its meta.json names the source")
    parser.add_argument("--source", type=Path, help="directory of .py files (default: the one in meta.json)")
    parser.add_argument("-n", "--num-functions", type=int, default=50, help="functions to complete (default 50)")
    defaults = DOOR_DEFAULTS[DOOR]
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="which functions are drawn (and sampling draws)")
    parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens,
                        help="tokens to generate at most")
    parser.add_argument("--strategy", choices=STRATEGIES, default=defaults.strategy,
                        help=f"(default: {defaults.strategy})")
    parser.set_defaults(door=DOOR)
    parser.add_argument("--json", type=output_file, help="also write every completion and its results here")
    parser.add_argument("--verbose", action="store_true", help="one line per function on stderr")
    args = parser.parse_args(argv)
    if args.num_functions < 1:
        parser.error(f"-n must be >= 1, got {args.num_functions}")
    if args.max_new_tokens < 1:
        parser.error(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    return args


def decoding(args: argparse.Namespace) -> GenerationConfig:
    """The GenerationConfig of the options, from the one builder at this command's door; --seed, which also draws the
    functions, seeds a strategy that reads one."""
    reads_seed = "seed" in STRATEGY_SETTINGS.get(args.strategy, {})
    return config_from_args(args, {"strategy": args.strategy, "max_new_tokens": args.max_new_tokens,
                                   "seed": args.seed if reads_seed else None})


def main(argv: list[str] | None = None) -> int:
    """Exit 0; 2 with one line for bad input (GenerateError, a setting out of range); 1 for a
    checkpoint that cannot produce finite logits or output that cannot be written."""
    return run_generating_command("tinygpt eval-functions", lambda: run(argv))


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
    train_files, held_out = load_splits(args.data_dir, args.source)
    candidates = held_out_functions(held_out)
    if not candidates:
        raise GenerateError(f"no function with a docstring in the {len(held_out)} held-out files")
    rng = np.random.default_rng(args.seed)
    picked = sorted(rng.choice(len(candidates), min(args.num_functions, len(candidates)), replace=False))
    samples = [candidates[i] for i in picked]
    train_text = normalize("\n".join(f.text for f in train_files))
    config = decoding(args)
    results = evaluate(model, tokenizer, samples, train_text, config, args.verbose)
    total = len(results)
    print(f"eval-functions: {total} held-out functions (of {len(candidates)} with docstrings in {len(held_out)} "
          f"validation files), seed {args.seed}, {args.strategy}, max_new_tokens {args.max_new_tokens}")
    looping = sum(r.repeats >= REPEATED_LINE_LIMIT for r in results)
    rows = [("compiles without trimming", sum(r.compiles for r in results), ""),
            ("wrote a body", sum(r.has_body for r in results), "a statement beyond the docstring and pass"),
            (f"repeats a line {REPEATED_LINE_LIMIT}+ times", looping, ""),
            ("well-formed", sum(r.well_formed for r in results), "all three: compiles untrimmed, body, no loop"),
            ("not a verbatim copy", sum(r.novel for r in results), "body not a substring of train"),
            ("trimmed at max_new_tokens", sum(r.truncated for r in results), "")]
    for label, count, note in rows:
        print(f"  {label + ':':<28}{share(count, total)}" + (f"  ({note})" if note else ""))
    if args.json:
        write_text_file(args.json, json.dumps([asdict(r) for r in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
