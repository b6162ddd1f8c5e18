"""`tinygpt eval-suite`: can TinyGPT write the small functions a user asks for? The project's own task suite, run.

    tinygpt eval-suite [--checkpoint PATH] [-n 20] [--max-new-tokens 128] [--temperature 0.8 --top-p 0.95]
                       [--repetition-penalty 1.2] [--timeout 5] [--json OUT] [--verbose]
    tinygpt eval-suite --check-contamination DIR [DIR ...]    # does any task occur in this training text?

Each task of `tinygpt/tasks/suite.jsonl` (or `--suite FILE`, any file in HumanEval's format, such as the
unseen-words set `tinygpt/tasks/unseen.jsonl.gz`, whose report also splits the passes by style) is a prompt a user
would write: a signature with a one-line docstring, or a comment followed by the `def` line. The model completes it
with `--complete-function` semantics (greedy unless a sampling option is given); the completed function and the
task's asserts run in the sandbox (`tinygpt/sandbox/`: a separate process with time, memory and file limits).
Reported, each as a share of the tasks (see `task_eval.py` for the exact rules): compiles without trimming, has a body
beyond its docstring, repeats a line 5+ times, passes its tests, and how many completions were trimmed.

`--check-contamination` evaluates nothing: it looks for each task (prompt + reference solution, and long prompts or
tests on their own) in every `.py` file under the directories, prints where, and exits 1 if any task was found.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tinygpt.cli import ArgumentParser, print_stderr, write_text_file
from tinygpt.cli.eval_options import add_common_arguments, eval_config, sandbox_limits
from tinygpt.cli.generate import run_generating_command
from tinygpt.generate import load_generator
from tinygpt.tasks import SUITE_PATH, contamination, load_tasks, python_sources
from tinygpt.tasks.task_eval import describe, report_verified, run_tasks, share, summarize, summary_lines

__all__ = ["main"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt eval-suite", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE_PATH, help="task file, JSON lines (default: the suite)")
    parser.add_argument("-n", "--limit", type=int, help="run only the first N tasks")
    parser.add_argument("--verbose", action="store_true", help="one line per task on stderr")
    parser.add_argument("--check-contamination", nargs="+", type=Path, metavar="DIR",
                        help="only check whether any task occurs in the .py files under these directories")
    add_common_arguments(parser, "eval-suite")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"-n must be >= 1, got {args.limit}")
    for directory in args.check_contamination or []:
        if not directory.is_dir():
            parser.error(f"--check-contamination: {directory} is not a directory")
    return args


def check_contamination(suite: Path, tasks: list, directories: list[Path]) -> int:
    found = contamination(tasks, python_sources(directories))
    for task_id, places in found.items():
        print(f"{task_id}: {', '.join(places)}")
    print(f"contamination: {len(found)} of {len(tasks)} tasks of {suite} occur in {', '.join(map(str, directories))}")
    return 1 if found else 0


def by_group(attempts: list) -> dict[str, dict[str, int]]:
    """Counts per group where every task id names one in its middle (`unseen/numpy/3`: the unseen-words set's
    styles); empty otherwise."""
    parts = [attempt.task_id.split("/") for attempt in attempts]
    if not parts or any(len(part) != 3 for part in parts):
        return {}
    groups: dict[str, list] = {}
    for part, attempt in zip(parts, attempts):
        groups.setdefault(part[1], []).append(attempt)
    return {group: summarize(members) for group, members in groups.items()}


def main(argv: list[str] | None = None) -> int:
    """Exit 0 (1 when --check-contamination found a task); 2 with one line for bad input (GenerateError,
    TaskFileError, a setting out of range); 1 for a checkpoint that cannot produce finite logits or output that
    cannot be written."""
    return run_generating_command("tinygpt eval-suite", lambda: run(argv))


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    tasks = load_tasks(args.suite)[:args.limit]
    if args.check_contamination:
        return check_contamination(args.suite, tasks, args.check_contamination)
    config = eval_config(args)
    limits = sandbox_limits(args)
    model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
    attempts = [per_task[0] for per_task in run_tasks(model, tokenizer, tasks, config, limits, "eval-suite")]
    if args.verbose:
        for attempt in attempts:
            print_stderr(f"{attempt.task_id:<14} compiles={attempt.compiles!s:<5} body={attempt.has_body!s:<5} "
                         f"{attempt.status:<7} {attempt.reason}")
    counts = summarize(attempts)
    print(f"eval-suite: {len(tasks)} tasks from {args.suite.name}; {describe(config)}; {args.checkpoint}")
    print("\n".join(summary_lines(counts, f"sandboxed, {limits.timeout_s:g} s per task")))
    groups = by_group(attempts)
    if groups:
        print("  passes, by style:          " + ", ".join(f"{group} {share(c['passed'], c['attempts'])}"
                                                          for group, c in groups.items()))
    verified = report_verified(model, tokenizer, tasks, args.verify, config, limits) if args.verify else None
    if args.json:
        report = {"suite": str(args.suite), "checkpoint": str(args.checkpoint), "config": asdict(config),
                  "summary": counts, "attempts": [asdict(attempt) for attempt in attempts]}
        if groups:
            report["by_style"] = groups
        if verified is not None:
            report["verified"] = verified
        write_text_file(args.json, json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
