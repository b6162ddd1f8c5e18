"""Exact bits per byte of a TinyGPT checkpoint on each source's held-out files and on unseen folders (`--ood`).

The held-out files are each source's validation split of a prepared dataset; an `--ood` folder is any directory of
Python the model never saw, such as numpy's installed source.

    tinygpt evaluate                                   # the shipped model on its dataset's held-out files
    tinygpt evaluate --checkpoint runs/mixture/ckpt.safetensors --data-dir data/mixture \\
        --ood "$(python -c 'import numpy, os; print(os.path.dirname(numpy.__file__))')" --json out/evaluate.json

How it counts:
- Every token is predicted once: the token array is cut into consecutive windows of `block_size` tokens and the
  model's mean loss over all of them is taken (`tinygpt.train.loss.evaluate_split`, the same code that measures a
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

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open

from tinygpt.data.corpus import read_sources
from tinygpt.data.dataset import load_source_arrays, read_meta, source_splits
from tinygpt.data.prepare import encode_split
from tinygpt.model import GPT
from tinygpt.train.loss import evaluate_split
from tinytorch.text import END_OF_TEXT, load_tokenizer

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
