"""Exact bits per byte of a TinyGPT checkpoint on each source's held-out files and on unseen folders (`--ood`).

`tinygpt evaluate`: the options, and the table and JSON it writes; how the measure counts is `tinygpt.eval.bpb`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tinygpt.checkpoint import atomic_write_text
from tinygpt.cli import EXIT_BAD_ARGUMENT, EXIT_FAILED, ArgumentParser, output_file, print_stderr, run_command
from tinygpt.data.dataset import DatasetError
from tinygpt.eval.bpb import combined, directory_set, held_out_sets, measure, table, trained_data_dir
from tinygpt.generate import DEFAULT_CHECKPOINT, GenerateError, load_generator
from tinytorch.generation import GenerationError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained TinyGPT (.safetensors)")
    parser.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    parser.add_argument("--data-dir", type=Path, help="prepared dataset whose held-out splits are measured "
                        "(default: the one the checkpoint was trained on)")
    parser.add_argument("--ood", type=Path, action="append", default=[], metavar="DIR",
                        help="a directory of .py files never trained on (repeatable)")
    parser.add_argument("--batch-size", type=int, default=16, help="windows per forward pass (default: 16)")
    parser.add_argument("--json", type=output_file, metavar="OUT", help="also write the results here as JSON")
    args = parser.parse_args(argv)
    for directory in args.ood:
        if not directory.is_dir():
            parser.error(f"--ood {directory} is not a directory")
    if args.data_dir is not None and not (args.data_dir / "meta.json").is_file():
        parser.error(f"--data-dir {args.data_dir} holds no meta.json (run `tinygpt prepare --out {args.data_dir}`)")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Exit 0; 2 with one line for bad input; 1 for a checkpoint whose weights are not finite or output that
    cannot be written."""
    args = parse_args(argv)
    return run_command("tinygpt evaluate", lambda: run(args))


def run(args: argparse.Namespace) -> int:
    try:
        model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
        data_dir = args.data_dir or trained_data_dir(args.checkpoint)
        if args.data_dir is None and not (data_dir / "meta.json").is_file():
            if not args.ood:
                raise DatasetError(f"the checkpoint's dataset {data_dir} is missing; run `tinygpt prepare --out "
                                   f"{data_dir}`, or pass --data-dir DIR or --ood DIR")
            print_stderr(f"tinygpt evaluate: note: no held-out splits measured ({data_dir} is missing)")
            data_dir = None
        sets = held_out_sets(data_dir, tokenizer) if data_dir else []
    except GenerationError as err:
        print_stderr(f"tinygpt evaluate: error: {err}")
        return EXIT_FAILED
    except (GenerateError, DatasetError, OSError, ValueError, KeyError) as err:
        print_stderr(f"tinygpt evaluate: error: {err}")
        return EXIT_BAD_ARGUMENT
    sets += [directory_set(directory, tokenizer) for directory in args.ood]
    results = [measure(model, token_set, args.batch_size) for token_set in sets]
    held_out = [r for r in results if r.kind == "held-out"]
    if len(held_out) > 1 and any(r.loss is not None for r in held_out):
        results.insert(len(held_out), combined(held_out))
    print(f"{args.checkpoint}: {model.config.n_layer} layers, width {model.config.n_embd}, context "
          f"{model.config.block_size}, vocabulary {model.config.vocab_size}")
    print(table(results))
    if args.json:
        document = {"checkpoint": str(args.checkpoint), "data_dir": str(data_dir) if data_dir else None,
                    "block_size": model.config.block_size, "results": [asdict(r) for r in results]}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
