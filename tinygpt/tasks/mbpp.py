"""MBPP (Mostly Basic Python Problems, Austin et al. 2021): 974 small problems written by people, each a request in
one sentence, a reference solution and three asserts, turned into the project's `Task`s so that the engine of
`tinygpt eval-suite` and `tinygpt eval-humaneval` (`task_eval.py`) runs them unchanged.

    problems = load_problems()                       # ../shared/benchmarks/mbpp/mbpp.jsonl beside this checkout
    tasks, skipped = mbpp_tasks(select_split(problems, "test"))

Splits, by task_id, as the authors define them: 1-10 few-shot prompts, 11-510 test, 511-600 validation, 601-974
train. The test split is for evaluation only and never enters training.

The prompt is what a user would write: the tested function's signature, taken from the `def` line of the reference
solution (the tested function is the one the first assert calls), then the request as a one-line docstring and the
first assert as a `>>>` example, for `assert min_cost([[1, 2, 3], [4, 8, 2], [1, 5, 3]], 2, 2) == 8`:

    def min_cost(cost, m, n):
        \"\"\"Write a function to find the minimum cost path to reach (m, n) from (0, 0) for the given cost matrix ...

        >>> min_cost([[1, 2, 3], [4, 8, 2], [1, 5, 3]], 2, 2)
        8
        \"\"\"

The example's value is the repr of the assert's literal, as doctest compares it (`"abc"` shows as `'abc'`). Where
the repr would not be a fair check (an assert other than `==`, a value that is not a literal, or a set, whose repr
depends on hashing), the asserted expression itself is shown with `True`. All three asserts (after the problem's
`test_setup_code`) decide pass or fail; only the first is shown. The reference solution is the task's
`canonical_solution`: `check_references` runs it against the tests, and it is never shown to a model. A problem
whose reference has no top-level `def` of the tested function is skipped, with the reason.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import tokenize
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinygpt.console import progress_bar
from tinygpt.sandbox import SandboxLimits, SandboxResult, run_tests
from tinygpt.tasks import Task, TaskFileError

__all__ = ["DEFAULT_PROBLEMS", "SPLITS", "MBPPProblem", "Request", "Skipped", "check_references", "load_problems",
           "mbpp_tasks", "requests", "select_split", "to_task"]

DEFAULT_PROBLEMS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "mbpp" / "mbpp.jsonl"
SPLITS = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}  # inclusive ids
REQUIRED = {"task_id": int, "text": str, "code": str, "test_list": list}
BRACKETS = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


@dataclass(frozen=True)
class MBPPProblem:
    """One line of mbpp.jsonl; line endings of the code and the tests are normalised to `\\n`."""

    task_id: int
    text: str  # the request, one sentence
    code: str  # the reference solution: may define imports, constants and helpers before the tested function
    test_setup_code: str
    test_list: tuple[str, ...]  # three `assert` lines
    challenge_test_list: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"MBPP/{self.task_id}"


@dataclass(frozen=True)
class Skipped:
    task_id: str
    reason: str


@dataclass(frozen=True)
class Request:
    """What a user asks for in a problem: the sentence and the tested function's parameter names (empty when the
    reference has no such def). Decontamination looks for these in training text."""

    task_id: int
    text: str
    parameters: tuple[str, ...]


class Unusable(ValueError):
    """A problem that cannot become a task; the message says why."""


def load_problems(path: str | Path | None = None) -> list[MBPPProblem]:
    """The problems of an MBPP-format JSON-lines file (default: `DEFAULT_PROBLEMS`), in file order. A file that is
    missing or not MBPP raises TaskFileError, one line naming the file."""
    path = Path(path) if path is not None else DEFAULT_PROBLEMS
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        reason = "no such file" if isinstance(err, FileNotFoundError) else err
        raise TaskFileError(f"cannot read MBPP problems {path} ({reason}); pass --problems FILE") from None
    problems = [problem_of(json_line, path, number) for number, json_line in enumerate(lines, 1) if json_line.strip()]
    if not problems:
        raise TaskFileError(f"MBPP problems file {path} holds no problems; pass --problems FILE")
    return problems


def problem_of(json_line: str, path: Path, number: int) -> MBPPProblem:
    where = f"{path}:{number}: not an MBPP problem"
    try:
        record = json.loads(json_line)
    except json.JSONDecodeError as err:
        raise TaskFileError(f"{where} ({err}); pass --problems FILE") from None
    tests = record.get("test_list") if isinstance(record, dict) else None
    if not isinstance(record, dict) or any(type(record.get(field)) is not kind for field, kind in REQUIRED.items()) \
            or not tests or not all(isinstance(test, str) for test in tests):
        needs = ", ".join(f"{field} ({kind.__name__})" for field, kind in REQUIRED.items())
        raise TaskFileError(f"{where}: needs {needs}, test_list holding assert lines; pass --problems FILE")
    return MBPPProblem(record["task_id"], " ".join(record["text"].split()), unix_lines(record["code"]),
                       unix_lines(record.get("test_setup_code")), tuple(map(unix_lines, tests)),
                       tuple(map(unix_lines, record.get("challenge_test_list") or ())))


def unix_lines(text: str | None) -> str:
    return str(text or "").replace("\r\n", "\n").replace("\r", "\n")


def select_split(problems: Sequence[MBPPProblem], split: str) -> list[MBPPProblem]:
    """The problems whose task_id falls in `split` ("test", "validation", "train" or "prompt"), in file order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    first, last = SPLITS[split]
    return [problem for problem in problems if first <= problem.task_id <= last]


def tested_function(problem: MBPPProblem) -> tuple[ast.Assert, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The first assert and the reference's top-level def of the function it calls (the first call, in the
    assert's own order, of a function the reference defines). Raises Unusable, saying why, when there is none."""
    try:
        first_test = ast.parse(problem.test_list[0]).body[0]
    except (SyntaxError, IndexError):
        raise Unusable("its first test is not Python") from None
    if not isinstance(first_test, ast.Assert):
        raise Unusable("its first test is not an assert")
    try:
        with warnings.catch_warnings():  # references write regexes as '\w+': an invalid escape, only a warning
            warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
            reference = ast.parse(problem.code)
    except (SyntaxError, ValueError):
        raise Unusable("its reference solution is not Python") from None
    defs = {node.name: node for node in reference.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    called = [node.func.id for node in ast.walk(first_test.test)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    for name in called:
        if name in defs:
            return first_test, defs[name]
    own = [name for name in called if not hasattr(builtins, name)] or called
    if not own:
        raise Unusable("its first test calls no function by name")
    raise Unusable(f"its reference solution has no top-level def of `{own[0]}`, which the first test calls")


def signature(code: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The `def` header of `function` as written in `code`, up to its colon, at column 0: comments, trailing spaces
    and whatever follows the colon dropped, continuation lines kept."""
    source = "\n".join(code.splitlines()[function.lineno - 1:]) + "\n"
    depth, pieces, row, end_column = 0, [], 1, 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT):
                continue
            if pieces and token.start[0] > row:
                pieces.append("\n" + " " * max(token.start[1] - function.col_offset, 0))
            elif pieces:
                pieces.append(" " * (token.start[1] - end_column))
            pieces.append(token.string)
            row, end_column = token.end
            depth += BRACKETS.get(token.string, 0)
            if token.string == ":" and depth == 0:
                return "".join(pieces)
    except (tokenize.TokenError, SyntaxError):
        pass
    raise Unusable(f"the header of `{function.name}` in its reference solution does not end")


def contains_set(value) -> bool:
    if isinstance(value, set | frozenset):
        return True
    if isinstance(value, dict):
        return any(map(contains_set, value)) or any(map(contains_set, value.values()))
    return isinstance(value, list | tuple) and any(map(contains_set, value))


def one_line(source: str, node: ast.expr) -> str:
    """The expression as written in `source`, or unparsed where it spans lines."""
    text = (ast.get_source_segment(source, node) or ast.unparse(node)).strip()
    return text if "\n" not in text else ast.unparse(node)


def example(test_source: str, first_test: ast.Assert) -> tuple[str, str]:
    """The first assert as a doctest example: (the expression after `>>>`, the line it should print)."""
    check = first_test.test
    if isinstance(check, ast.Compare) and len(check.ops) == 1 and isinstance(check.ops[0], ast.Eq):
        try:
            value = ast.literal_eval(check.comparators[0])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = None
        else:
            if not contains_set(value):
                return one_line(test_source, check.left), repr(value)
    return one_line(test_source, check), "True"


def prompt_of(problem: MBPPProblem, first_test: ast.Assert, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    expression, shows = example(problem.test_list[0], first_test)
    return (f'{signature(problem.code, function)}\n    """{problem.text}\n\n    >>> {expression}\n    {shows}\n'
            f'    """\n')


def to_task(problem: MBPPProblem) -> Task:
    """The problem as a Task (see the module docstring); raises Unusable, saying why, for a problem to skip."""
    first_test, function = tested_function(problem)
    tests = "\n".join([problem.test_setup_code.strip(), *(test.strip() for test in problem.test_list)]).strip()
    return Task(problem.name, prompt_of(problem, first_test, function), problem.code.rstrip() + "\n", tests + "\n",
                function.name)


def mbpp_tasks(problems: Sequence[MBPPProblem]) -> tuple[list[Task], list[Skipped]]:
    """The problems that can be tasks, as tasks, and the others with the reason each was skipped."""
    tasks, skipped = [], []
    for problem in problems:
        try:
            tasks.append(to_task(problem))
        except Unusable as why:
            skipped.append(Skipped(problem.name, str(why)))
    return tasks, skipped


def requests(problems: Sequence[MBPPProblem]) -> list[Request]:
    """Each problem's request sentence and the tested function's parameter names, for decontamination."""
    found = []
    for problem in problems:
        try:
            arguments = tested_function(problem)[1].args
        except Unusable:
            found.append(Request(problem.task_id, problem.text, ()))
            continue
        named = [*arguments.posonlyargs, *arguments.args, arguments.vararg, *arguments.kwonlyargs, arguments.kwarg]
        found.append(Request(problem.task_id, problem.text, tuple(arg.arg for arg in named if arg is not None)))
    return found


def check_references(tasks: Sequence[Task], limits: SandboxLimits | None = None) -> list[SandboxResult]:
    """Each task's reference solution run against its tests in the sandbox, in task order. Train and validation
    references are used for training only where theirs passed."""
    return [run_tests(task.canonical_solution, task.test_program(), limits)
            for task in progress_bar(tasks, "mbpp references", "task")]
