"""Exact bits per byte of a TinyGPT checkpoint on each source's held-out files and on unseen folders (`--ood`).

The held-out files are each source's validation split of a prepared dataset; an `--ood` folder is any directory of
Python the model never saw, such as numpy's installed source.

    tinygpt evaluate                                   # the shipped model on its dataset's held-out files
    tinygpt evaluate --checkpoint runs/mixture/ckpt.safetensors --data-dir data/mixture \\
        --ood "$(python -c 'import numpy, os; print(os.path.dirname(numpy.__file__))')" --json out/evaluate.json

How it counts:
- Every token is predicted once: the token array is cut into consecutive windows of `block_size` tokens and the
  model's mean loss over all of them is taken (`tinygpt.loss.evaluate_split`, the same code that measures a
  release); only the last, incomplete window is left out.
- bits per byte = mean loss in nats per token / ln 2 x tokens / bytes, where the bytes are the files' UTF-8 bytes
  and the tokens include the end-of-text token between files, as `tinygpt prepare` counts them. Bits per byte does
  not depend on the tokenizer, so models with different vocabularies can be compared on the same files.
- An `--ood` directory is read like a source (every `.py` file, sorted by relative path; empty, larger than 1 MB or
  non-UTF-8 files skipped and counted), encoded with the checkpoint's tokenizer, and its files joined with
  end-of-text, as `tinygpt prepare` joins them.
- When the checkpoint's tokenizer is not the dataset's, each held-out file is decoded with the dataset's tokenizer
  and encoded again with the checkpoint's (decoding gives back the exact text), so any checkpoint can be measured
  on any prepared dataset.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open

from tinytorch.generation import GenerationError
from tinytorch.text import END_OF_TEXT, load_tokenizer

from .checkpoint import atomic_write_text
from .cli import EXIT_BAD_ARGUMENT, EXIT_FAILED, ArgumentParser, output_file, print_stderr, run_command
from .corpus import read_sources
from .data import DatasetError, load_source_arrays, read_meta, source_splits
from .generate import DEFAULT_CHECKPOINT, GenerateError, load_generator
from .loss import evaluate_split
from .model import GPT
from .prepare import encode_split

MAX_FILE_BYTES = 1_000_000


@dataclass
class TokenSet:
    """Text to measure: its token ids (files joined by end-of-text) and the files' UTF-8 bytes."""

    name: str
    kind: str  # "held-out" or "ood"
    path: str
    tokens: np.ndarray
    files: int
    bytes: int
    skipped: int = 0


@dataclass
class Result:
    name: str
    kind: str
    path: str
    files: int
    tokens: int
    bytes: int
    skipped: int
    loss: float | None  # mean nats per predicted token; None when the text is shorter than one window
    bits_per_byte: float | None


def reencode(tokens: np.ndarray, eot_id: int, source_tokenizer, target_tokenizer) -> np.ndarray:
    """Token ids of one tokenizer turned into another's: file by file (the stretches between end-of-text tokens),
    decoded and encoded again, joined with the target's end-of-text."""
    target_eot = target_tokenizer.special_tokens[END_OF_TEXT]
    ids: list[int] = []
    for index, piece in enumerate(np.split(np.asarray(tokens), np.flatnonzero(np.asarray(tokens) == eot_id))):
        piece = piece[1:] if index > 0 else piece  # each piece after the first starts with the separator
        if index > 0:
            ids.append(target_eot)
        ids.extend(target_tokenizer.encode(source_tokenizer.decode(piece.tolist()), allow_special=False))
    return np.array(ids, dtype=np.int64)


def held_out_sets(data_dir: Path, tokenizer) -> list[TokenSet]:
    """The held-out split of each source of a prepared dataset, in the checkpoint tokenizer's ids."""
    meta = read_meta(data_dir)
    arrays = load_source_arrays(data_dir, "val")
    dataset_tokenizer = load_tokenizer(data_dir / meta["tokenizer"])
    same_tokenizer = dataset_tokenizer.to_dict() == tokenizer.to_dict()
    sets = []
    for source in source_splits(meta, "val"):
        tokens = arrays[source.name]
        if not same_tokenizer:
            tokens = reencode(tokens, meta["eot_id"], dataset_tokenizer, tokenizer)
        sets.append(TokenSet(source.name, "held-out", str(data_dir), tokens, source.files, source.bytes))
    return sets


def directory_set(directory: Path, tokenizer) -> TokenSet:
    files, skipped = read_sources(directory, MAX_FILE_BYTES)
    tokens, _ = encode_split(tokenizer, files, directory.name)
    total_bytes = sum(len(source_file.text.encode("utf-8")) for source_file in files)
    return TokenSet(directory.name, "ood", str(directory), tokens, len(files), total_bytes, sum(skipped.values()))


def measure(model: GPT, token_set: TokenSet, batch_size: int) -> Result:
    count = len(token_set.tokens)
    loss = bpb = None
    if count > model.config.block_size:
        loss = evaluate_split(model, token_set.tokens, batch_size, progress=True)
        bpb = loss / math.log(2) * count / token_set.bytes
    return Result(token_set.name, token_set.kind, token_set.path, token_set.files, count, token_set.bytes,
                  token_set.skipped, loss, bpb)


def combined(results: list[Result]) -> Result:
    """All held-out sets as one: bits per byte weighted by bytes, loss by tokens."""
    measured = [r for r in results if r.loss is not None]
    total_bytes, total_tokens = sum(r.bytes for r in measured), sum(r.tokens for r in measured)
    return Result("all", "held-out", results[0].path, sum(r.files for r in measured), total_tokens,
                  total_bytes, 0, sum(r.loss * r.tokens for r in measured) / total_tokens,
                  sum(r.bits_per_byte * r.bytes for r in measured) / total_bytes)


def table(results: list[Result]) -> str:
    lines = [f"{'set':<28} {'files':>7} {'tokens':>11} {'bytes':>12} {'bytes/token':>11} {'loss':>7} {'bits/byte':>9}"]
    for r in results:
        label = f"{r.name} ({r.kind})"
        loss = f"{r.loss:.4f}" if r.loss is not None else "n/a"
        bpb = f"{r.bits_per_byte:.4f}" if r.bits_per_byte is not None else "too short"
        lines.append(f"{label:<28} {r.files:>7,} {r.tokens:>11,} {r.bytes:>12,} {r.bytes / max(r.tokens, 1):>11.2f} "
                     f"{loss:>7} {bpb:>9}")
    return "\n".join(lines)


def trained_data_dir(checkpoint: Path) -> Path:
    """The dataset the checkpoint was trained on, from its metadata (data/stdlib when it names none)."""
    with safe_open(str(checkpoint), framework="numpy") as handle:
        document = json.loads((handle.metadata() or {}).get("tinygpt", "{}"))
    return Path(document.get("train_config", {}).get("data_dir", "data/stdlib"))


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
