"""Complete function-completion tasks with TinyGPT and run every completion against the task's tests in the sandbox:
the engine that `tinygpt eval-suite` and `tinygpt eval-humaneval` share (their common options: `eval_options.py`).

One attempt = one completion of one task, judged five ways:
- compiles: the block that `--complete-function` returned compiles as generated, without trimming it back to the last
  complete statement (a block cut by `max_new_tokens` does not count, however it was repaired);
- has_body: it compiles and holds a statement besides its docstring and `pass` (`code_completion.has_body`);
- repeats: how often its most repeated line occurs (5 or more: a repetition loop);
- truncated: `max_new_tokens` ran out inside the body;
- status: what the sandbox said when the prompt's preamble and the block ran as the candidate and the task's tests
  ran against it (`sandbox.run_tests`: the verdict comes from the tests' own process). The block runs as
  `--complete-function` returned it (a trimmed block that compiles is run and may pass: it is the code a user gets);
  a block that does not compile is not run ("error").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from tinygpt.code_completion import REPEATED_LINE_LIMIT, has_body, most_repeated_line
from tinygpt.console import progress_bar
from tinygpt.generate import Completion, generate
from tinygpt.sandbox import SandboxLimits, run_tests
from tinygpt.tasks import Task
from tinygpt.tasks.verify import first_candidate_config, verify
from tinytorch.generation import GenerationConfig

__all__ = ["Attempt", "attempt_task", "describe", "judge", "report_verified", "run_tasks", "run_verified", "share",
           "summarize", "summary_lines"]


@dataclass
class Attempt:
    task_id: str
    code: str  # what ran before the tests: the prompt's text above the block, then the block
    finish_reason: str
    compiles: bool
    has_body: bool
    repeats: int
    truncated: bool
    status: str  # passed, failed, timeout or error (sandbox.STATUSES)
    reason: str


def judge(task: Task, completion: Completion, limits: SandboxLimits) -> Attempt:
    """One completion of `task`, checked for shape and run against the task's tests."""
    block = completion.function
    if block is None:
        return Attempt(task.task_id, completion.prompt + completion.text, completion.finish_reason, False, False, 0,
                       False, "error", "no def was written")
    code = (completion.prompt + completion.text)[:block.start] + block.text
    if block.compiles:
        result = run_tests(code, task.test_program(), limits)
        status, reason = result.status, result.reason
    else:
        status, reason = "error", "the completed function does not compile"
    return Attempt(task.task_id, code, completion.finish_reason, block.compiles and not block.truncated,
                   has_body(block.text), most_repeated_line(block.text), block.truncated, status, reason)


def attempt_task(model, tokenizer, task: Task, config: GenerationConfig, limits: SandboxLimits) -> list[Attempt]:
    """`config.num_return_sequences` completions of one task, each judged."""
    completions = generate(model, tokenizer, task.prompt, config, complete_function=True)
    return [judge(task, completion, limits) for completion in completions]


def run_tasks(model, tokenizer, tasks: Sequence[Task], config: GenerationConfig, limits: SandboxLimits,
              description: str) -> list[list[Attempt]]:
    """Attempts per task, in task order, with a progress bar on stderr."""
    return [attempt_task(model, tokenizer, task, config, limits) for task in progress_bar(tasks, description, "task")]


def run_verified(model, tokenizer, tasks: Sequence[Task], candidates: int, config: GenerationConfig,
                 limits: SandboxLimits) -> tuple[list[Attempt], dict[str, int]]:
    """One attempt per task: the completion `tinygpt.tasks.verify` chose from `candidates` (never by the task's
    tests), then judged by the task's tests. Where the prompt has `>>>` examples it chose the first candidate that
    passes them; where it has none, the first that compiles, defines the function and runs (a structural pass,
    which says nothing of behaviour and is never counted as a pass: only the task's tests decide that); where none
    passed, the first candidate. Also returns how many tasks were chosen each way: prompts with examples where a
    candidate passed them ("examples") or none did ("examples_none"); prompts without, where a candidate passed the
    structural checks ("runs") or none did ("runs_none")."""
    attempts, chosen = [], {"examples": 0, "examples_none": 0, "runs": 0, "runs_none": 0}
    for task in progress_bar(tasks, f"verify {candidates}", "task"):
        result = verify(model, tokenizer, task.prompt, candidates, config, None, limits)
        way = "examples" if result.level == "examples" else "runs"
        chosen[way if result.verified else f"{way}_none"] += 1
        attempts.append(judge(task, result.completion, limits))
    return attempts, chosen


def report_verified(model, tokenizer, tasks: Sequence[Task], candidates: int, config: GenerationConfig,
                    limits: SandboxLimits) -> dict:
    """Run `run_verified`, print its lines, and return its part of the JSON report."""
    attempts, chosen = run_verified(model, tokenizer, tasks, candidates, config, limits)
    counts = summarize(attempts)
    first = first_candidate_config(config).strategy
    with_examples = chosen["examples"] + chosen["examples_none"]
    print(f"verified from {candidates} ({first}, then samples at temperature 0.8, top_p 0.95; never by the tests): "
          f"{with_examples} prompts with >>> examples, {chosen['examples']} chosen by a candidate passing them; "
          f"{len(tasks) - with_examples} without, {chosen['runs']} chosen by the first candidate that compiles, "
          f"defines the function and runs; the {first} one where none passed "
          f"({chosen['examples_none'] + chosen['runs_none']}):")
    print("\n".join(summary_lines(counts, "judged by the tests", f"pass@1, verified from {candidates}")))
    return {"candidates": candidates, "prompts_with_examples": with_examples, "chosen": chosen, "summary": counts,
            f"pass@1_verified_{candidates}": counts["passed"] / max(len(tasks), 1),
            "attempts": [dataclasses.asdict(attempt) for attempt in attempts]}


def describe(config: GenerationConfig) -> str:
    """The decoding settings in a few words: "greedy, max_new_tokens 128" or the sampling knobs that are on."""
    knobs = []
    if config.strategy == "sample":
        knobs += [f"temperature {config.temperature:g}", f"top_p {config.top_p:g}"]
        knobs += [f"top_k {config.top_k}"] if config.top_k else []
        knobs += [f"min_p {config.min_p:g}"] if config.min_p else []
        knobs += [f"seed {config.seed}"]
    if config.strategy == "beam":
        knobs += [f"num_beams {config.num_beams}", f"length_penalty {config.length_penalty:g}"]
    knobs += [f"repetition_penalty {config.repetition_penalty:g}"] if config.repetition_penalty != 1 else []
    knobs += [f"no_repeat_ngram_size {config.no_repeat_ngram_size}"] if config.no_repeat_ngram_size else []
    return ", ".join([config.strategy, *knobs, f"max_new_tokens {config.max_new_tokens}"])


def share(count: int, total: int) -> str:
    return f"{count}/{total} ({100 * count / max(total, 1):.1f}%)"


def summarize(attempts: Sequence[Attempt]) -> dict[str, int]:
    """Counts over attempts: how many parse, have a body, repeat a line, were trimmed, and end in each status."""
    counts = {"attempts": len(attempts), "compiles": sum(a.compiles for a in attempts),
              "has_body": sum(a.has_body for a in attempts),
              "repeats_a_line": sum(a.repeats >= REPEATED_LINE_LIMIT for a in attempts),
              "truncated": sum(a.truncated for a in attempts)}
    for status in ("passed", "failed", "timeout", "error"):
        counts[status] = sum(a.status == status for a in attempts)
    return counts


def summary_lines(counts: dict[str, int], sandbox_note: str, passed_label: str = "passes its tests") -> list[str]:
    """The report's lines, one figure each, aligned."""
    total = counts["attempts"]
    rows = [("compiles without trimming", counts["compiles"], ""),
            ("has a body", counts["has_body"], "a statement beyond the docstring and pass"),
            (f"repeats a line {REPEATED_LINE_LIMIT}+ times", counts["repeats_a_line"], ""),
            (passed_label, counts["passed"], sandbox_note),
            ("trimmed at max_new_tokens", counts["truncated"], "")]
    lines = [f"  {label + ':':<28}{share(count, total)}" + (f"  ({note})" if note else "")
             for label, count, note in rows]
    return lines + [f"  not passed: {counts['failed']} failed, {counts['timeout']} timed out, {counts['error']} errors"]
