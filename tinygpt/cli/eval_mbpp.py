"""`tinygpt eval-mbpp`: MBPP's 500 test problems, written by people, completed by TinyGPT, tests run sandboxed.

    tinygpt eval-mbpp [--checkpoint PATH] [--split test] [--limit 20] [--max-new-tokens 256] [--json OUT] [--verbose]
    tinygpt eval-mbpp --verify 10                    # also pass@1 verified from 10, chosen by the prompt's example
    tinygpt eval-mbpp --check-references [--split train]    # do the reference solutions pass their own tests?
    tinygpt eval-mbpp --problems mbpp.jsonl          # problems from a file (default: ../shared/benchmarks/mbpp)

Each problem becomes a prompt a user would write (`tinygpt/tasks/mbpp.py`): the tested function's signature, the
request as a one-line docstring and its first assert as a `>>>` example. The model completes it with
`--complete-function` semantics (greedy unless a sampling option is given); the completed function runs against all
three asserts in the sandbox (`tinygpt/sandbox/`). Reported as for `tinygpt eval-suite` (compiles without
trimming, has a body, repeats a line, pass@1, trimmed), with the problems skipped and why. `--check-references`
loads no model: it runs each problem's reference solution against its tests and reports how many pass.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from tinygpt.cli import ArgumentParser, print_stderr, write_text_file
from tinygpt.cli.eval_options import add_common_arguments, eval_config, sandbox_limits
from tinygpt.cli.generate import run_generating_command
from tinygpt.console import printable
from tinygpt.generate import load_generator
from tinygpt.tasks.mbpp import DEFAULT_PROBLEMS, SPLITS, check_references, load_problems, mbpp_tasks, select_split
from tinygpt.tasks.task_eval import describe, report_verified, run_tasks, share, summarize, summary_lines

__all__ = ["main"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt eval-mbpp", description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, help=f"problems in MBPP's JSON-lines format (default: "
                                                      f"{DEFAULT_PROBLEMS})")
    parser.add_argument("--split", choices=list(SPLITS), default="test",
                        help="by task_id: " + ", ".join(f"{name} {first}-{last}" for name, (first, last)
                                                        in SPLITS.items()) + " (default: test)")
    parser.add_argument("--limit", type=int, help="run only the first N problems of the split")
    parser.add_argument("--verbose", action="store_true", help="one line per problem on stderr")
    parser.add_argument("--check-references", action="store_true",
                        help="load no model: run each reference solution against its tests and count the passes")
    add_common_arguments(parser, "eval-mbpp")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Exit 0; 2 with one line for bad input (GenerateError, TaskFileError, a setting out of range); 1 for a
    checkpoint that cannot produce finite logits or output that cannot be written."""
    return run_generating_command("tinygpt eval-mbpp", lambda: run(argv))


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    problems_file = args.problems or DEFAULT_PROBLEMS
    selected = select_split(load_problems(problems_file), args.split)[:args.limit]
    tasks, skipped = mbpp_tasks(selected)
    first, last = SPLITS[args.split]
    where = f"{len(selected)} problems of the {args.split} split (ids {first}-{last}) from {problems_file.name}"
    report = {"problems": str(problems_file), "split": args.split,
              "skipped": [asdict(problem) for problem in skipped]}
    if args.check_references:
        print(f"eval-mbpp --check-references: {where}")
        report["references"] = report_references(tasks, args)
    else:
        config = eval_config(args)
        limits = sandbox_limits(args)
        model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
        print(f"eval-mbpp: {where}; {describe(config)}; {args.checkpoint}")
        attempts = [per_task[0] for per_task in run_tasks(model, tokenizer, tasks, config, limits, "eval-mbpp")]
        if args.verbose:
            for attempt in attempts:
                print_stderr(f"{attempt.task_id:<10} compiles={attempt.compiles!s:<5} body={attempt.has_body!s:<5} "
                             f"{attempt.status:<7} {attempt.reason}")
        counts = summarize(attempts)
        print("\n".join(summary_lines(counts, f"sandboxed, {limits.timeout_s:g} s per problem",
                                      "pass@1 (passes tests)")))
        report |= {"checkpoint": str(args.checkpoint), "config": asdict(config), "summary": counts,
                   "pass@1": counts["passed"] / max(len(tasks), 1),
                   "attempts": [asdict(attempt) for attempt in attempts]}
        if args.verify:
            report["verified"] = report_verified(model, tokenizer, tasks, args.verify, config, limits)
    print(f"skipped: {len(skipped)} of {len(selected)} problems" + "".join(
        f"\n  {problem.task_id}: {printable(problem.reason)}" for problem in skipped))
    if args.json:
        write_text_file(args.json, json.dumps(report, indent=1) + "\n")
    return 0


def report_references(tasks: list, args: argparse.Namespace) -> dict:
    """Run every reference solution against its tests; print the ones that fail and the count that pass."""
    limits = sandbox_limits(args)
    results = check_references(tasks, limits)
    failing = [{"task_id": task.task_id, "status": result.status, "reason": result.reason}
               for task, result in zip(tasks, results) if result.status != "passed"]
    for failure in failing:
        print(f"  {failure['task_id']}: {failure['status']}, {printable(failure['reason'])}")
    passed = len(tasks) - len(failing)
    print(f"references passing their tests: {share(passed, len(tasks))}  (sandboxed, {limits.timeout_s:g} s each)")
    return {"passed": passed, "total": len(tasks), "failing": failing}
