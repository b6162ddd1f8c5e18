"""The capability timeline of a training run: at fixed intervals, what the model writes for a fixed set of prompts,
whether that compiles, and (optionally) how it does on the project's task suite, the unseen-words set and MBPP's
validation split — so that a run's log shows when the model learned to close brackets, indent and return values,
and whether it generalises to requests in other words or memorises the generator's sentences.

    records = [timeline.record(model, tokenizer, step, tokens, suite=True), ...]  -> OUT/timeline.jsonl

Everything is greedy and deterministic: the same weights always give the same record. The suite counts come from the
engine `tinygpt eval-suite` runs (`tinygpt.tasks.task_eval`), which lies in a floor below training (the floors:
`tinygpt/__init__.py`), so a run counts exactly what the command counts, and training never reaches up into `eval`.
"""

from __future__ import annotations

from tinygpt.code_completion import compiles
from tinygpt.generate import decoding_config, generate
from tinygpt.model import GPT
from tinygpt.sandbox import SandboxLimits
from tinygpt.tasks import UNSEEN_PATH, TaskFileError, load_tasks, mbpp
from tinygpt.tasks.task_eval import run_tasks, summarize
from tinytorch.generation import GenerationConfig

# The seed's three prompts and two natural-language ones (a comment, and a signature with its docstring).
PROMPTS = ("def", "class", "for i in", "# return the sum of the squares of a list of numbers\ndef",
           'def is_palindrome(s):\n    """Return True if s reads the same forwards and backwards."""\n')
NEW_TOKENS = 64


def completions(model: GPT, tokenizer) -> list[dict]:
    """Greedy completions of PROMPTS: the natural-language ones as one function, the others as 64 free tokens."""
    rows = []
    for prompt in PROMPTS:
        as_function = "\n" in prompt
        config = GenerationConfig(strategy="greedy", max_new_tokens=2 * NEW_TOKENS if as_function else NEW_TOKENS)
        done = generate(model, tokenizer, prompt, config, complete_function=as_function)[0]
        text = done.function.text if as_function and done.function is not None else done.prompt + done.text
        rows.append({"prompt": prompt, "text": text, "compiles": compiles(text), "finish": done.finish_reason})
    return rows


def task_sets() -> dict[str, list]:
    """The task sets a timeline runs, greedy: the project's suite, the unseen-words set (the same kinds of task in
    words training never sees: the gap between the two is recall), and MBPP's validation split (problems written by
    people; left out when MBPP's file is not beside the checkout)."""
    sets = {"suite": load_tasks(), "unseen": load_tasks(UNSEEN_PATH)}
    try:
        sets["mbpp_validation"] = mbpp.mbpp_tasks(mbpp.select_split(mbpp.load_problems(), "validation"))[0]
    except TaskFileError:
        pass
    return sets


def task_counts(model: GPT, tokenizer) -> dict[str, dict[str, int]]:
    """Each of `task_sets()`, greedy, as `tinygpt eval-suite` runs it: counts of compiles, bodies, passes."""
    config = decoding_config(door="eval-suite")  # the command's own defaults: greedy, its token limit
    counts = {}
    for name, tasks in task_sets().items():
        attempts = run_tasks(model, tokenizer, tasks, config, SandboxLimits(), f"timeline {name}")
        counts[name] = summarize([attempt for task in attempts for attempt in task])
    return counts


def record(model: GPT, tokenizer, step: int, tokens: int, suite: bool = False) -> dict:
    """One timeline entry at `step` after `tokens` training tokens; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        entry = {"step": step, "tokens": tokens, "completions": completions(model, tokenizer)}
        if suite:
            entry |= task_counts(model, tokenizer)
        return entry
    finally:
        model.train(was_training)
