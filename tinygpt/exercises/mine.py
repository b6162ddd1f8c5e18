"""Mine exercises from the corpora: functions whose docstrings carry doctests that pass when run alone.

    tinygpt mine-exercises --source ../shared/corpora/thealgorithms-python --source ... --out data/mined

For every top-level function of every `.py` file (sorted by path) whose docstring holds `>>>` examples and whose
body is at most `--max-body-lines` lines:
1. extract it as a standalone exercise: the module's imports that the function uses, its signature and docstring
   (the prompt, a docstring with examples: the third prompt style users write) and the rest of its body (the
   completion);
2. run its doctests in the sandbox (`tinygpt.sandbox`), imports and function alone; keep it only if every example
   passes (a function that needs another function of its module, a file or the network fails here and is dropped);
3. drop exact duplicates, functions named like an evaluation task and any that shares a 13-gram of words with the
   project's task suite or HumanEval (as `tinygpt exercises` does).

A function goes to val.jsonl when its file is held out by `tinygpt prepare`'s split rule (the hash of its relative
path, `--val-fraction`), so no held-out file of the corpora reaches training through here. `report.json` says how
many were found, run and kept, and why the rest were dropped.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..cli import ArgumentParser, progress_bar
from ..corpus import is_held_out, read_sources
from ..outputs import OutputError, atomic_directory
from ..sandbox import SandboxLimits, SandboxUnavailable, check_isolation, run_program
from .build import NGRAM, evaluation_sets, ngrams, normalized

OUTPUT_FILES = ("train.jsonl", "val.jsonl", "report.json")
DOCTEST_RUNNER = """
import doctest as _doctest
_finder, _runner = _doctest.DocTestFinder(recurse=False), _doctest.DocTestRunner(verbose=False)
for _test in _finder.find({name}, {name!r}, globs=dict(globals())):
    _runner.run(_test)
assert _runner.tries > 0 and _runner.failures == 0, f"{{_runner.failures}} of {{_runner.tries}} examples failed"
"""


def used_imports(tree: ast.Module, function: ast.FunctionDef, source: str) -> list[str]:
    """The module-level import statements that bind a name the function uses."""
    used = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    used |= {node.value.id for node in ast.walk(function)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)}
    lines = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
            bound = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            if bound & used:
                lines.append(ast.get_source_segment(source, node))
    return lines


def extract(relative_path: str, source: str, max_body_lines: int) -> tuple[list[dict], Counter]:
    """The candidate exercises of one file, and what was passed over (by reason)."""
    skipped: Counter = Counter()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return [], Counter({"file does not parse": 1})
    lines = source.splitlines(keepends=True)
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if not docstring or ">>>" not in docstring:
            continue
        skipped["found"] += 1
        first_statement, last = node.body[1] if len(node.body) > 1 else None, node.end_lineno
        if node.decorator_list or first_statement is None:
            skipped["decorated or no body"] += 1
            continue
        if last - first_statement.lineno + 1 > max_body_lines:
            skipped[f"body over {max_body_lines} lines"] += 1
            continue
        docstring_end = node.body[0].end_lineno
        if lines[docstring_end - 1].rstrip("\n").rstrip().endswith(('"""', "'''")) is False:
            skipped["docstring shares a line with code"] += 1
            continue
        imports = used_imports(tree, node, source)
        prefix = "".join(line + "\n" for line in imports) + ("\n\n" if imports else "")
        prompt = prefix + "".join(lines[node.lineno - 1:docstring_end])
        completion = "".join(lines[docstring_end:last])
        if not completion.endswith("\n"):
            completion += "\n"
        found.append({"prompt": prompt, "completion": completion, "name": node.name, "file": relative_path})
    return found, skipped


def verify(exercise: dict, limits: SandboxLimits) -> tuple[bool, str]:
    program = exercise["prompt"] + exercise["completion"] + DOCTEST_RUNNER.format(name=exercise["name"])
    result = run_program(program, limits)
    return result.status == "passed", result.status if result.status != "passed" else ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt mine-exercises", description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", type=Path, required=True, help="a folder of .py files "
                        "(repeatable)")
    parser.add_argument("--out", type=Path, default=Path("data/mined"), help="output folder")
    parser.add_argument("--max-body-lines", type=int, default=25, help="longest body kept, in lines")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="as `tinygpt prepare`: held-out files")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per function's doctests")
    parser.add_argument("--jobs", type=int, default=2, help="functions verified at once")
    parser.add_argument("--allow-unconfined", action="store_true",
                        help="run the doctests even where bubblewrap is missing (no isolation)")
    args = parser.parse_args(argv)
    for folder in args.source:
        if not folder.is_dir():
            parser.error(f"--source {folder} is not a directory")
    if args.max_body_lines < 1 or args.jobs < 1 or not 0 < args.timeout < 600 or not 0 < args.val_fraction < 1:
        parser.error("--max-body-lines and --jobs must be >= 1, --timeout in (0, 600), --val-fraction in (0, 1)")
    try:
        check_isolation(SandboxLimits(allow_unconfined=args.allow_unconfined))
    except SandboxUnavailable as err:
        parser.error(f"{err} (or pass --allow-unconfined)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    forbidden, grams = evaluation_sets()
    report: Counter = Counter()
    candidates = []
    for folder in args.source:
        files, _ = read_sources(folder, 1_000_000)
        for source_file in files:
            found, skipped = extract(f"{folder.name}/{source_file.relative_path}", source_file.text,
                                     args.max_body_lines)
            report.update(skipped)
            for exercise in found:
                exercise["split"] = "val" if is_held_out(source_file.relative_path, args.val_fraction) else "train"
            candidates += found
    seen, unique = set(), []
    for exercise in candidates:
        key = normalized(exercise["prompt"] + exercise["completion"])
        text = exercise["prompt"] + exercise["completion"]
        reason = ("exact duplicate" if key in seen else "the name of an evaluation task" if exercise["name"] in
                  forbidden else f"shares a {NGRAM}-gram of words with an evaluation task" if ngrams(text) & grams
                  else "")
        seen.add(key)
        if reason:
            report[reason] += 1
        else:
            unique.append(exercise)
    report["run"] = len(unique)
    limits = SandboxLimits(timeout_s=args.timeout, memory_mb=1024, allow_unconfined=args.allow_unconfined)
    with ThreadPoolExecutor(args.jobs) as pool:
        verdicts = list(progress_bar(pool.map(lambda e: verify(e, limits), unique), "doctests", "function"))
    splits: dict[str, list[dict]] = {"train": [], "val": []}
    for exercise, (passed, status) in zip(unique, verdicts):
        if passed:
            splits[exercise.pop("split")].append(exercise)
        else:
            report[f"doctests {status}"] += 1
    summary = {"found": report.pop("found"), "run": report.pop("run"),
               "kept": {split: len(members) for split, members in splits.items()},
               "dropped": dict(sorted(report.items())), "sources": [str(folder) for folder in args.source]}
    try:
        with atomic_directory(args.out, "--out", OUTPUT_FILES, "exercise set") as staging:
            for split, members in splits.items():
                with open(staging / f"{split}.jsonl", "w", encoding="utf-8") as file:
                    file.writelines(json.dumps(e, sort_keys=True) + "\n" for e in members)
            (staging / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    except OutputError as err:
        print(f"mine-exercises: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
