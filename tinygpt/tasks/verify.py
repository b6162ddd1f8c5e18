"""Code that checks itself: try several completions of a prompt and keep the first that passes the best checks the
request allows.

    result = verify(model, tokenizer, prompt, candidates=10)
    result.completion   # the completion to show
    result.verified     # True: it passed the checks; False: none did, the first candidate is shown
    result.level        # which checks: "tests", "examples", "runs" or "compiles"

A small model that writes the right body one time in ten is useful if the right one can be recognised. The checks
come from the request, never from hidden tests, the strongest the request allows:
- "tests": asserts the user writes (`tinygpt generate --verify 10 --tests tests.py`);
- "examples": the examples in the prompt's docstring (`>>> f(3)` followed by `9`), each turned into an assert on the
  repr of its value, as doctest compares them (an example without an expected value runs as a statement);
- "runs", where there is neither: what can be checked without knowing what the code should do. The candidate
  compiles as written (`compile()`, which refuses `def f(n, n)` and a module-level `return`; a candidate cut at the
  token limit is unfinished and does not count, however it was trimmed), it defines the function or class the prompt
  starts (the name on the prompt's last top-level `def`/`class` line; where the prompt names none, as `def` alone,
  the block the model wrote, by its name; a prompt that is not a function, `for i in`, checks no name), and its
  module-level code runs to its end in the sandbox without an error;
- "compiles": the same without running anything, for a caller that has no sandbox (`run_code=False`).
A pass at "runs" or "compiles" says the code is valid Python (that runs), not that it does what was asked: the
evaluations use it to choose a candidate, never count it as a pass of a task (`task_eval.run_verified`).

The candidates: the first follows `config` where it is deterministic (greedy or beam search), greedy where `config`
samples; it is the one returned when nothing passes. If it fails, `candidates - 1` samples follow (sampling's defaults
from the one builder, `tinygpt.generate.decoding_config`, seeded). Each runs in the sandbox (`tinygpt.sandbox`),
which decides pass or fail from outside the candidate's reach; the first to pass is returned. Evaluations report the
result apart from their plain run, as "pass@1, verified from K samples".
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tinygpt.code_completion import BLOCK_HEADER, compile_error
from tinygpt.generate import Completion, decoding_config, generate
from tinygpt.sandbox import SandboxLimits, SandboxResult, check_isolation, run_tests
from tinytorch.generation import GenerationConfig

__all__ = ["LEVELS", "VerifiedCompletion", "candidate_code", "checks_from_prompt", "completed_code",
           "first_candidate_config", "has_statement", "name_the_prompt_starts", "structural_checks", "verify"]

DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)
LEVELS = ("tests", "examples", "runs", "compiles")  # the request's own checks first, then the structural ones
NAMED_HEADER = re.compile(r"(?:async[ \t]+def|def|class)[ \t]+([^\W\d]\w*)[ \t]*[(:]")  # a name the prompt finished
BLOCK_NAME = re.compile(r"(?:async[ \t]+def|def|class)[ \t]+([^\W\d]\w*)")


@dataclass
class VerifiedCompletion:
    completion: Completion  # the one to show: the first that passed, else the first candidate
    verified: bool  # it passed the checks of `level`
    tried: int  # candidates checked, in order
    checks: str  # what it was checked against, in words, to follow "passed"
    results: list[SandboxResult]  # each tried candidate's result, in order
    level: str  # one of LEVELS: "tests" and "examples" test behaviour; "runs" and "compiles" do not
    name: str | None = None  # runs and compiles: the function or class it had to define (None: no name checked)
    candidates: list[Completion] = field(default_factory=list)  # each tried candidate, in order (as `results`)


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
            # a failed example says what it gave against what the docstring expects: "square(3) gave 10, expected 9"
            lines.append(f"assert (_got := repr({source})) == {want!r}, {source + ' gave '!r} + _got + "
                         f"{', expected ' + want!r}" if want else source)
    return "\n".join(lines) + "\n" if lines else ""


def candidate_code(completion: Completion, complete_function: bool = True) -> str | None:
    """The code a candidate amounts to: the text above the completed block, then the block (`complete_function`;
    None if the model wrote no block), else the whole text."""
    if not complete_function:
        return completion.prompt + completion.text
    block = completion.function
    if block is None:
        return None
    return (completion.prompt + completion.text)[:block.start] + block.text


def completed_code(completion: Completion, complete_function: bool = True) -> str | None:
    """The code to run (`candidate_code`); None if there is none or it does not compile."""
    code = candidate_code(completion, complete_function)
    return code if code is not None and compile_error(code) is None else None


def name_the_prompt_starts(prompt: str) -> str | None:
    """The name on the prompt's last top-level `def`/`class` line (a method below it belongs to it); None where the
    prompt starts no block or has not finished its name (`def`, `def squ`)."""
    headers = [match for match in BLOCK_HEADER.finditer(prompt) if not match.group(1)]
    named = NAMED_HEADER.match(prompt, headers[-1].start()) if headers else None
    return named.group(1) if named else None


def name_to_define(prompt: str, completion: Completion, complete_function: bool) -> str | None:
    """The function or class a candidate must define: the one the prompt starts, else the block the model wrote."""
    named = name_the_prompt_starts(prompt)
    if named is not None or not complete_function or completion.function is None:
        return named
    match = BLOCK_NAME.search(completion.function.text)
    return match.group(1) if match else None


def structural_checks(name: str | None, ran: bool, block: bool = False) -> str:
    """The structural checks in words: "compiles, defines `foo` and its module-level code runs". `block`: a name is
    checked but not known yet (the model names the block)."""
    parts = ["compiles"]
    parts += [f"defines `{name}`"] if name else ["defines the function or class it writes"] if block else []
    parts += ["its module-level code runs"] if ran else []
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def top_level_definitions(code: str) -> set[str]:
    return {node.name for node in ast.parse(code).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def structural_problem(completion: Completion, name: str | None, complete_function: bool) -> str | None:
    """Why a candidate fails the checks that need no run; None if it passes them."""
    code = candidate_code(completion, complete_function)
    if code is None:
        return "no def or class was written"
    if completion.finish_reason == "length":
        return "cut at the token limit: unfinished code"
    error = compile_error(code)
    if error is not None:
        return f"does not compile: {error}"
    if name is not None and name not in top_level_definitions(code):
        return f"does not define `{name}`"
    return None


def rejected(reason: str) -> SandboxResult:
    """The result of a candidate refused before anything ran."""
    return SandboxResult("error", reason, "", None)


def check_candidate(completion: Completion, level: str, checks: str, name: str | None, complete_function: bool,
                    limits: SandboxLimits | None) -> SandboxResult:
    """One candidate against the checks of `level` (see the module docstring)."""
    if level in ("tests", "examples"):
        code = completed_code(completion, complete_function)
        what = "the completed function" if complete_function else "the code"
        return rejected(f"{what} does not compile") if code is None else run_tests(code, checks, limits)
    problem = structural_problem(completion, name, complete_function)
    if problem is not None:
        return rejected(problem)
    if level == "compiles":
        return SandboxResult("passed", f"{structural_checks(name, False)} (not run)", "", None, confined=False)
    return run_tests(completed_code(completion, complete_function), f"{name}\n" if name else "", limits)


def first_candidate_config(config: GenerationConfig) -> GenerationConfig:
    """The first candidate's settings: `config` itself where it is deterministic (greedy, beam), else greedy with its
    token limit and penalties; one sequence."""
    if config.strategy in ("greedy", "beam"):
        return dataclasses.replace(config, num_return_sequences=1)
    return GenerationConfig(strategy="greedy", **shared_settings(config))


def shared_settings(config: GenerationConfig) -> dict:
    """What every candidate keeps of `config`: the token limit and the penalties."""
    return dict(max_new_tokens=config.max_new_tokens, repetition_penalty=config.repetition_penalty,
                no_repeat_ngram_size=config.no_repeat_ngram_size)


def has_statement(tests: str) -> bool:
    """Whether `tests` holds anything to run (a file of comments does not); text that does not parse does, and fails
    in the sandbox with its SyntaxError."""
    try:
        return bool(ast.parse(tests).body)
    except (SyntaxError, ValueError):
        return True


def choose_checks(prompt: str, tests: str | None, run_code: bool) -> tuple[str, str, str]:
    """(level, the test program, why the structural checks) for a request."""
    if not run_code:
        if tests is not None:
            raise ValueError("tests run only in the sandbox: verify with run_code=False checks no tests")
        return "compiles", "", "nothing run: no sandbox"
    if tests is not None:
        return ("tests", tests, "") if has_statement(tests) else ("runs", "", "the tests given hold no statement")
    examples = checks_from_prompt(prompt)
    return ("examples", examples, "") if examples else ("runs", "", "no examples to test against")


def verify(model, tokenizer, prompt: str, candidates: int, config: GenerationConfig | None = None,
           tests: str | None = None, limits: SandboxLimits | None = None, seed: int = 0, *,
           complete_function: bool = True, stop_strings: Sequence[str] = (),
           run_code: bool = True, time_left: Callable[[], float] | None = None) -> VerifiedCompletion:
    """Up to `candidates` completions of `prompt` (the first by `config` where it is deterministic, else greedy; then
    samples seeded by `seed`), the first that passes `tests`, else the prompt's examples, else the structural checks
    (the module docstring), returned; the first candidate when none passes. `config` gives the strategy of the first
    candidate, max_new_tokens and the penalties; `complete_function` and `stop_strings` go to `generate` (a prompt
    that is not a function: `complete_function=False`, stopped at a blank line). `run_code=False`: compile-only
    checks, for a caller without a sandbox. Running raises SandboxUnavailable where the sandbox cannot run.
    `time_left`, for a caller with a deadline (the playground): called before each candidate runs and after a run
    that timed out, it returns the seconds left (> 0) or raises to stop; each run is killed once they are spent."""
    if candidates < 1:
        raise ValueError(f"--verify needs at least 1 candidate, got {candidates}")
    config = config or decoding_config(door="verify")
    level, checks, why = choose_checks(prompt, tests, run_code)
    if run_code:
        check_isolation(limits or SandboxLimits())  # refuse at once, not only once a candidate compiles
    structural = level in ("runs", "compiles")
    options = dict(complete_function=complete_function, stop_strings=list(stop_strings))
    completions = generate(model, tokenizer, prompt, first_candidate_config(config), **options)[:1]
    results = []
    for index in range(candidates):
        if index == len(completions):  # the first did not pass: draw the samples
            sampled = decoding_config("sample", num_return_sequences=candidates - 1, seed=seed, door="verify",
                                      **shared_settings(config))
            completions += generate(model, tokenizer, prompt, sampled, **options)
        name = name_to_define(prompt, completions[index], complete_function) if structural else None
        run_limits = limits if time_left is None else within(limits or SandboxLimits(), time_left())
        results.append(check_candidate(completions[index], level, checks, name, complete_function, run_limits))
        if time_left is not None and results[-1].status == "timeout":
            time_left()  # raises if it was the deadline that cut the run, not the candidate's own limit
        if results[-1].status == "passed":
            return VerifiedCompletion(completions[index], True, len(results), describe_checks(level, checks, name, why),
                                      results, level, name, completions[:len(results)])
    name = name_the_prompt_starts(prompt) if structural else None
    unnamed_block = structural and complete_function and name is None  # each candidate names its own block
    return VerifiedCompletion(completions[0], False, len(results),
                              describe_checks(level, checks, name, why, unnamed_block), results, level, name,
                              completions[:len(results)])


def within(limits: SandboxLimits, seconds: float) -> SandboxLimits:
    """`limits` with a time limit of at most `seconds`."""
    return dataclasses.replace(limits, timeout_s=min(limits.timeout_s, seconds))


def describe_checks(level: str, checks: str, name: str | None, why: str, unnamed_block: bool = False) -> str:
    """What a candidate was checked against, in words that follow "passed"."""
    if level == "tests":
        return "the tests given"
    if level == "examples":
        return f"{checks.count(chr(10))} example(s) in the prompt"
    return f"the structural checks: it {structural_checks(name, level == 'runs', unnamed_block)} ({why})"
