"""Mine exercises from the corpora: functions whose docstrings carry doctests that pass when run alone.

`tinygpt mine-exercises`: the options; how functions are found and checked is `tinygpt.data.exercises.mine`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tinygpt.cli import ArgumentParser, progress_bar
from tinygpt.cli.eval_options import MAX_TIMEOUT_S, timeout_problem
from tinygpt.data.corpus import is_held_out, read_sources
from tinygpt.data.exercises.build import evaluation_sets, normalized
from tinygpt.data.exercises.mine import OUTPUT_FILES, extract, verify
from tinygpt.outputs import OutputError, atomic_directory
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, check_isolation


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt mine-exercises", description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", type=Path, required=True, help="a folder of .py files "
                        "(repeatable)")
    parser.add_argument("--out", type=Path, default=Path("data/mined"), help="output folder")
    parser.add_argument("--max-body-lines", type=int, default=25, help="longest body kept, in lines")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="as `tinygpt prepare`: held-out files")
    parser.add_argument("--timeout", type=float, default=5.0,
                        help=f"seconds per function's doctests, at most {MAX_TIMEOUT_S}")
    parser.add_argument("--jobs", type=int, default=2, help="functions verified at once")
    parser.add_argument("--allow-unconfined", action="store_true",
                        help="run the doctests even where bubblewrap is missing (no isolation)")
    args = parser.parse_args(argv)
    for folder in args.source:
        if not folder.is_dir():
            parser.error(f"--source {folder} is not a directory")
    if args.max_body_lines < 1 or args.jobs < 1 or not 0 < args.val_fraction < 1:
        parser.error("--max-body-lines and --jobs must be >= 1, --val-fraction in (0, 1)")
    if problem := timeout_problem(args.timeout):
        parser.error(problem)
    try:
        check_isolation(SandboxLimits(allow_unconfined=args.allow_unconfined))
    except SandboxUnavailable as err:
        parser.error(f"{err} (or pass --allow-unconfined)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    evaluation = evaluation_sets()
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
        reason = "exact duplicate" if key in seen else evaluation.reason(exercise)
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
