"""The files a TinyGPT dataset is made of: where they come from, how they are read, which are dropped and which are
held out.

- A *source* is a directory of Python files with a name and a mixture weight: `stdlib=STDLIB:1.0`,
  `algorithms=../shared/corpora/thealgorithms-python:2.0`. The weight is the share of training batch rows drawn from
  the source (relative to the other weights), whatever its size.
- Reading: every `.py` file under the directory, sorted by relative path; empty, oversized, unreadable (no
  permission, an I/O error) and non-UTF-8 files are skipped and counted, and so is each directory that cannot be
  read (as one unreadable entry: what it holds is unknown). A file name that is not UTF-8 is kept as it is.
- Quality filters drop generated or minified files, the way Codex and StarCoder filtered GitHub: a line longer than
  1,000 characters, lines longer than 100 characters on average, or less than 25 % letters and digits.
- Exact duplicates (same content, byte for byte) are kept once, by the first source in the order given and, within
  a source, by the first path in sorted order.
- The held-out split is a pure function of a file's relative path, so it is the same on every run and never mixes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sysconfig
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__"})
SKIP_REASONS = ("not_utf8", "empty", "too_large", "unreadable")
REMOVAL_REASONS = ("long_line", "long_mean_line", "low_alphanumeric", "duplicate", "benchmark")
STDLIB = "STDLIB"  # stands for this Python's standard library in a source spec
SOURCE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class SourceSpecError(ValueError):
    """A source spec or sources file that cannot be used; the message names it and says what was expected."""


@dataclass(frozen=True)
class SourceSpec:
    name: str
    path: Path
    weight: float = 1.0


@dataclass
class SourceFile:
    relative_path: str  # POSIX form, the same on every OS: it decides the split
    text: str
    prompt_chars: int = 0  # an exercise: text[:prompt_chars] is the request, not a training target


@dataclass(frozen=True)
class QualityThresholds:
    """Files beyond any of these are generated or minified rather than written by a person."""

    max_line_chars: int = 1000
    max_mean_line_chars: float = 100.0
    min_alphanumeric: float = 0.25


# ---- sources --------------------------------------------------------------------------------------------------------


def stdlib_path() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def make_source(name: str, path: str, weight: float) -> SourceSpec:
    """A checked SourceSpec; `path` may be `STDLIB`."""
    if not SOURCE_NAME.fullmatch(name):
        raise SourceSpecError(f"the source name {name!r} must be letters, digits, '_', '.' or '-' (NAME=DIR:WEIGHT)")
    if isinstance(weight, bool) or not (isinstance(weight, int | float) and math.isfinite(weight) and weight > 0):
        raise SourceSpecError(f"the weight of source {name!r} must be a positive number, got {weight!r}")
    directory = stdlib_path() if path == STDLIB else Path(path)
    if not directory.is_dir():
        raise SourceSpecError(f"{path} is not a directory (source {name!r})")
    return SourceSpec(name, directory, float(weight))


def parse_source_spec(spec: str) -> SourceSpec:
    """`NAME=DIR:WEIGHT`, `NAME=DIR` (weight 1) or `DIR` (named after the directory, weight 1). A `:` in DIR is
    part of the path unless a number follows the last one."""
    name, separator, location = spec.partition("=")
    if not separator or not SOURCE_NAME.fullmatch(name):
        name, location = "", spec
    path, colon, weight_text = location.rpartition(":")
    try:
        weight = float(weight_text)
    except ValueError:
        colon = ""
    if not colon:
        path, weight = location, 1.0
    if not name:
        name = "stdlib" if path == STDLIB else re.sub(r"[^A-Za-z0-9_.-]", "_", Path(path).resolve().name) or "source"
    return make_source(name, path, weight)


def load_sources_file(path: Path) -> list[SourceSpec]:
    """Sources from a JSON file `{"sources": [{"name": ..., "path": ..., "weight": ...}, ...]}`; relative paths are
    read from the current directory, like `--out`."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["sources"]
        return [make_source(entry["name"], entry["path"], entry.get("weight", 1.0)) for entry in entries]
    except SourceSpecError as err:
        raise SourceSpecError(f"--sources {path}: {err}") from None
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise SourceSpecError(f"--sources {path}: expected {{\"sources\": [{{\"name\", \"path\", \"weight\"}}]}} "
                              f"({type(err).__name__}: {err})") from None


def check_distinct_names(specs: list[SourceSpec]) -> None:
    repeated = sorted(name for name, count in Counter(spec.name for spec in specs).items() if count > 1)
    if repeated:
        raise SourceSpecError(f"source names must be distinct; {repeated} given more than once (--source NAME=DIR)")


# ---- reading --------------------------------------------------------------------------------------------------------


def find_python_files(source: Path) -> tuple[list[Path], int]:
    """Every `.py` file under `source`, outside SKIPPED_DIRS, sorted by relative path, and how many directories
    could not be listed (no permission, an I/O error)."""
    paths, unreadable = [], []
    for directory, subdirectories, names in os.walk(source, onerror=unreadable.append):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
        paths += [Path(directory) / name for name in names if name.endswith(".py")]
    paths = [path for path in paths if path.is_file()]
    return sorted(paths, key=lambda path: path.relative_to(source).as_posix()), len(unreadable)


def read_sources(source: Path, max_file_bytes: int) -> tuple[list[SourceFile], Counter[str]]:
    """The readable source files and, by reason, how many were skipped (an unreadable directory counts as one
    unreadable entry)."""
    files, skipped = [], Counter({reason: 0 for reason in SKIP_REASONS})
    paths, skipped["unreadable"] = find_python_files(source)
    for path in tqdm(paths, desc=f"reading {source.name}", unit="file"):
        try:
            size = path.stat().st_size
            if size == 0:
                skipped["empty"] += 1
            elif size > max_file_bytes:
                skipped["too_large"] += 1
            else:
                files.append(SourceFile(path.relative_to(source).as_posix(), path.read_bytes().decode("utf-8")))
        except UnicodeDecodeError:
            skipped["not_utf8"] += 1
        except OSError:
            skipped["unreadable"] += 1
    return files, skipped


def split_position(relative_path: str) -> float:
    """A file's place on the split line: its path's hash, read as a number in [0, 1)."""
    digest = hashlib.blake2b(relative_path.encode("utf-8", "surrogateescape"), digest_size=8).digest()  # any name
    return int.from_bytes(digest, "big") / 2**64


def is_held_out(relative_path: str, val_fraction: float) -> bool:
    """Whether a file belongs to the validation split: its `split_position` is below `val_fraction`."""
    return split_position(relative_path) < val_fraction


# ---- filtering ------------------------------------------------------------------------------------------------------


def quality_problem(text: str, thresholds: QualityThresholds) -> str | None:
    """The first quality filter `text` fails (a REMOVAL_REASONS name), or None for a file a person wrote."""
    line_lengths = [len(line) for line in text.splitlines()] or [0]
    if max(line_lengths) > thresholds.max_line_chars:
        return "long_line"
    if sum(line_lengths) / len(line_lengths) > thresholds.max_mean_line_chars:
        return "long_mean_line"
    if sum(map(str.isalnum, text)) < thresholds.min_alphanumeric * len(text):
        return "low_alphanumeric"
    return None


def content_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def keep_clean_files(
    files: list[SourceFile], thresholds: QualityThresholds, seen_hashes: set[bytes]
) -> tuple[list[SourceFile], Counter[str]]:
    """The files that pass the quality filters and whose content was not seen before (in `seen_hashes`, which this
    extends), with the count of the others by reason."""
    kept, removed = [], Counter({reason: 0 for reason in REMOVAL_REASONS})
    for source_file in files:
        problem = quality_problem(source_file.text, thresholds)
        digest = content_hash(source_file.text)
        if problem is None and digest in seen_hashes:
            problem = "duplicate"
        if problem is not None:
            removed[problem] += 1
            continue
        seen_hashes.add(digest)
        kept.append(source_file)
    return kept, removed
