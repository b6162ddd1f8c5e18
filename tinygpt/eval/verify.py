"""Code that checks itself: try several completions of a function and keep the first that passes the checks the
request itself gives.

    result = verify(model, tokenizer, prompt, candidates=10)
    result.completion   # the completion to show
    result.verified     # True: it passed the checks; False: none did (or there were none), the greedy one is shown

A small model that writes the right body one time in ten is useful if the right one can be recognised. The checks
come from the user, never from hidden tests:
- the examples in the prompt's docstring (`>>> f(3)` followed by `9`), each turned into an assert on the repr of
  its value, as doctest compares them (an example without an expected value runs as a statement);
- or asserts the user writes (`tinygpt generate --verify 10 --tests tests.py`).

The candidates are the greedy completion (the most likely one, returned when nothing passes), then `candidates - 1`
samples (temperature 0.8, top-p 0.95, seeded). Each runs against the checks in the sandbox (`tinygpt.eval.sandbox`),
which decides pass or fail from outside the candidate's reach; the first to pass is returned. Evaluations report
the result apart from greedy, as "pass@1, verified from K samples".
"""

from __future__ import annotations

import doctest
import re
from dataclasses import dataclass

from tinygpt.eval.sandbox import SandboxLimits, SandboxResult, run_tests
from tinygpt.generate import STRATEGY_DEFAULTS, Completion, generate
from tinytorch.generation import GenerationConfig

__all__ = ["VerifiedCompletion", "checks_from_prompt", "completed_code", "verify"]

DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)
SAMPLING = STRATEGY_DEFAULTS["sample"]  # the samples after the greedy candidate: `tinygpt generate`'s sampling


@dataclass
class VerifiedCompletion:
    completion: Completion  # the one to show: the first that passed, else the greedy one
    verified: bool  # it passed the checks
    tried: int  # candidates run against the checks (0 when there were no checks)
    checks: str  # what it was checked against, in words
    results: list[SandboxResult]  # each tried candidate's result, in order


def checks_from_prompt(prompt: str) -> str:
    """Asserts from the `>>>` examples in the prompt's docstrings ("" if there are none)."""
    lines = []
    parser = doctest.DocTestParser()
    for match in DOCSTRING.finditer(prompt):
        try:
            examples = parser.get_examples(match.group(2))
        except ValueError:  # a malformed example: the docstring gives no usable checks
            continue
        for example in examples:
            source = example.source.strip()
            want = example.want.strip()
            lines.append(f"assert repr({source}) == {want!r}, {source!r}" if want else source)
    return "\n".join(lines) + "\n" if lines else ""


def completed_code(completion: Completion) -> str | None:
    """The code to run: the text above the completed block, then the block; None if no block compiles."""
    block = completion.function
    if block is None or not block.compiles:
        return None
    return (completion.prompt + completion.text)[:block.start] + block.text


def verify(model, tokenizer, prompt: str, candidates: int, config: GenerationConfig | None = None,
           tests: str | None = None, limits: SandboxLimits | None = None, seed: int = 0) -> VerifiedCompletion:
    """Up to `candidates` completions of `prompt` (greedy, then samples), the first that passes `tests` (or the
    prompt's own examples) returned; the greedy one when none passes or there is nothing to check against.
    `config` gives max_new_tokens and the penalties; the strategy is greedy, then sampling as above."""
    if candidates < 1:
        raise ValueError(f"--verify needs at least 1 candidate, got {candidates}")
    config = config or GenerationConfig(max_new_tokens=128)
    checks = tests if tests is not None else checks_from_prompt(prompt)
    what = "the tests given" if tests is not None else f"{checks.count(chr(10))} example(s) in the prompt"
    shared = dict(max_new_tokens=config.max_new_tokens, repetition_penalty=config.repetition_penalty,
                  no_repeat_ngram_size=config.no_repeat_ngram_size)
    completions = generate(model, tokenizer, prompt, GenerationConfig(strategy="greedy", **shared),
                           complete_function=True)
    if not checks.strip():
        return VerifiedCompletion(completions[0], False, 0, "nothing (the prompt has no >>> examples)", [])
    if candidates > 1:
        sampled = GenerationConfig(strategy="sample", num_return_sequences=candidates - 1, seed=seed, **SAMPLING,
                                   **shared)
        completions += generate(model, tokenizer, prompt, sampled, complete_function=True)
    results = []
    for completion in completions:
        code = completed_code(completion)
        if code is None:
            results.append(SandboxResult("error", "the completed function does not compile", "", None))
            continue
        results.append(run_tests(code, checks, limits))
        if results[-1].status == "passed":
            return VerifiedCompletion(completion, True, len(results), what, results)
    return VerifiedCompletion(completions[0], False, len(results), what, results)
