"""Build the TinyGPT dataset from Python source: a BPE tokenizer and train/val token arrays.

    python -m tinygpt.prepare [--source DIR] [--out DIR] [--vocab-size N] [--tokenizer PATH]
                              [--val-fraction F] [--max-file-bytes N]

1. Read every `.py` file under `--source` (default: this Python's standard library), sorted by relative path.
   Directories named site-packages, dist-packages or __pycache__ are skipped: they hold installed third-party code
   or bytecode, not the standard library. Files that are empty, larger than `--max-file-bytes` or not valid UTF-8
   are skipped and counted; texts are kept byte for byte (CRLF stays CRLF).
2. Split by file: a file is held out for validation when the hash of its relative path falls in the first
   `--val-fraction` of the hash range. The split depends only on the path, so it never changes between runs and
   a file is never in both splits.
3. Train a tokenizer on the train split only (or load `--tokenizer`), encode each file, and join the files of each
   split with `<|endoftext|>`. A literal `<|endoftext|>` inside a file is encoded as ordinary text.
4. Write into `--out`: `train.bin`, `val.bin` (raw token ids, uint16 when the vocabulary fits, else uint32),
   `tokenizer.json` and `meta.json` (vocab size, dtype, and per split the file, token and UTF-8 byte counts that
   bits-per-byte needs; the bytes are those of the files, without separators).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinytorch.text import END_OF_TEXT, BPETokenizer, CharTokenizer, load_tokenizer

SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})
SKIP_REASONS = ("not_utf8", "empty", "too_large")


@dataclass
class SourceFile:
    relative_path: str  # POSIX form, the same on every OS: it decides the split
    text: str


def find_python_files(source: Path) -> list[Path]:
    """Every `.py` file under `source`, outside SKIPPED_DIRS, sorted by relative path."""
    paths = [
        path
        for path in source.rglob("*.py")
        if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(source).parts)
    ]
    return sorted(paths, key=lambda path: path.relative_to(source).as_posix())


def read_sources(source: Path, max_file_bytes: int) -> tuple[list[SourceFile], Counter[str]]:
    """The readable source files and, by reason, how many were skipped."""
    files, skipped = [], Counter({reason: 0 for reason in SKIP_REASONS})
    for path in tqdm(find_python_files(source), desc="reading", unit="file"):
        size = path.stat().st_size
        if size == 0:
            skipped["empty"] += 1
        elif size > max_file_bytes:
            skipped["too_large"] += 1
        else:
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                skipped["not_utf8"] += 1
                continue
            files.append(SourceFile(path.relative_to(source).as_posix(), text))
    return files, skipped


def is_held_out(relative_path: str, val_fraction: float) -> bool:
    """Whether a file belongs to the validation split: its path's hash, read as a number in [0, 1), is below
    `val_fraction`."""
    digest = hashlib.blake2b(relative_path.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < val_fraction


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def encode_split(tokenizer: BPETokenizer | CharTokenizer, files: list[SourceFile], split: str) -> np.ndarray:
    """All files of a split as one array of token ids, consecutive files separated by `<|endoftext|>`."""
    eot_id = tokenizer.special_tokens[END_OF_TEXT]
    ids: list[int] = []
    for index, source_file in enumerate(tqdm(files, desc=f"encoding {split}", unit="file")):
        if index > 0:
            ids.append(eot_id)
        ids.extend(tokenizer.encode(source_file.text, allow_special=False))
    return np.array(ids, dtype=token_dtype(tokenizer.vocab_size))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tinygpt prepare", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(sysconfig.get_paths()["stdlib"]),
        help="directory searched recursively for .py files (default: the standard library)",
    )
    parser.add_argument("--out", type=Path, default=Path("data/stdlib"), help="output directory")
    parser.add_argument("--vocab-size", type=int, default=4096, help="vocabulary size of the trained tokenizer")
    parser.add_argument("--tokenizer", type=Path, help="use this tokenizer JSON instead of training one")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="share of files held out for validation")
    parser.add_argument("--max-file-bytes", type=int, default=1_000_000, help="skip files larger than this")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"--source {args.source} is not a directory")
    minimum_vocab = 256 + 1  # every byte, plus <|endoftext|>
    if args.tokenizer is None and args.vocab_size < minimum_vocab:
        parser.error(
            f"--vocab-size must be at least {minimum_vocab} (256 bytes + {END_OF_TEXT}), got {args.vocab_size}"
        )
    if args.tokenizer is not None and not args.tokenizer.is_file():
        parser.error(f"--tokenizer {args.tokenizer} is not a file")
    if not 0 < args.val_fraction < 1:
        parser.error(f"--val-fraction must be between 0 and 1 (exclusive), got {args.val_fraction}")
    if args.max_file_bytes <= 0:
        parser.error(f"--max-file-bytes must be positive, got {args.max_file_bytes}")
    return args


def summary_table(meta: dict) -> str:
    lines = [f"{'split':<6} {'files':>7} {'tokens':>12} {'bytes':>12} {'bytes/token':>12}"]
    for split, counts in meta["splits"].items():
        ratio = counts["bytes"] / max(counts["tokens"], 1)
        lines.append(f"{split:<6} {counts['files']:>7} {counts['tokens']:>12,} {counts['bytes']:>12,} {ratio:>12.2f}")
    skipped = ", ".join(f"{reason} {count}" for reason, count in meta["skipped"].items())
    lines.append(f"skipped files: {skipped}; vocab size {meta['vocab_size']}, dtype {meta['dtype']}")
    return "\n".join(lines)


class PrepareError(Exception):
    """A problem with the inputs that stops the run; reported on one line, exit code 2."""


def split_files(files: list[SourceFile], val_fraction: float) -> dict[str, list[SourceFile]]:
    splits: dict[str, list[SourceFile]] = {"train": [], "val": []}
    for source_file in files:
        splits["val" if is_held_out(source_file.relative_path, val_fraction) else "train"].append(source_file)
    for split, members in splits.items():
        if not members:
            raise PrepareError(
                f"none of the {len(files)} usable files landed in the {split} split (--val-fraction {val_fraction})"
            )
    return splits


def load_or_train_tokenizer(args: argparse.Namespace, train_files: list[SourceFile]) -> BPETokenizer | CharTokenizer:
    if args.tokenizer is not None:
        try:
            tokenizer = load_tokenizer(args.tokenizer)
        except (ValueError, KeyError) as err:
            raise PrepareError(f"cannot load --tokenizer {args.tokenizer}: {err}") from None
        if END_OF_TEXT not in tokenizer.special_tokens:
            raise PrepareError(f"--tokenizer {args.tokenizer} has no {END_OF_TEXT} token to separate files")
        return tokenizer
    tokenizer = BPETokenizer.train((f.text for f in train_files), args.vocab_size, progress=True)
    if tokenizer.vocab_size < args.vocab_size:
        print(
            f"prepare: note: the train split has too few repeated pairs for {args.vocab_size} tokens; "
            f"the vocabulary has {tokenizer.vocab_size}",
            file=sys.stderr,
        )
    return tokenizer


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file and a rename, so a training run that memory-maps the old file keeps reading
    it intact, and nobody ever sees a half-written file."""
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files, skipped = read_sources(args.source, args.max_file_bytes)
    try:
        splits = split_files(files, args.val_fraction)
        start = time.perf_counter()
        tokenizer = load_or_train_tokenizer(args, splits["train"])
    except PrepareError as err:
        print(f"prepare: error: {err}", file=sys.stderr)
        return 2
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    arrays = {split: encode_split(tokenizer, members, split) for split, members in splits.items()}
    encode_seconds = time.perf_counter() - start

    meta = {
        "source": str(args.source),
        "tokenizer": "tokenizer.json",
        "tokenizer_type": type(tokenizer).__name__,
        "vocab_size": tokenizer.vocab_size,
        "dtype": token_dtype(tokenizer.vocab_size).name,
        "eot_id": tokenizer.special_tokens[END_OF_TEXT],
        "val_fraction": args.val_fraction,
        "max_file_bytes": args.max_file_bytes,
        "splits": {
            split: {
                "files": len(members),
                "tokens": int(arrays[split].size),
                "bytes": sum(len(f.text.encode("utf-8")) for f in members),
            }
            for split, members in splits.items()
        },
        "skipped": dict(skipped),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for split, tokens in arrays.items():
        write_atomically(args.out / f"{split}.bin", tokens.tofile)
    write_atomically(args.out / "tokenizer.json", tokenizer.save)
    meta_json = json.dumps(meta, indent=2) + "\n"
    write_atomically(args.out / "meta.json", lambda path: path.write_text(meta_json, encoding="utf-8"))

    print(summary_table(meta))
    print(
        f"tokenizer {'training' if args.tokenizer is None else 'loading'} {train_seconds:.1f} s, "
        f"encoding {encode_seconds:.1f} s; wrote train.bin, val.bin, tokenizer.json, meta.json to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
