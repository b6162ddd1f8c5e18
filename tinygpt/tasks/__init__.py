"""Function-completion tasks: the project's own suite, the file format it shares with HumanEval, and the check that
keeps evaluation tasks out of training data.

`suite.jsonl` (next to this file) holds small tasks written for this project, one JSON object a line, in HumanEval's
schema, so that one loader and one runner serve both; `unseen.jsonl.gz` holds the unseen-words set, the generator's
kinds of function asked for in words training never sees (`tinygpt.data.exercises.unseen`), in the same schema:

    task_id             "tinygpt/0"
    prompt              a signature and a one-line docstring, or a comment followed by the `def` line
    canonical_solution  the body: used only to check the suite itself (tests/tinygpt/tasks/test_tasks.py), never
                        shown to a model
    test                assert lines (HumanEval: a `def check(candidate)` that the program then calls)
    entry_point         the function's name

Contamination: a task measures writing code the model has not seen only if the model has not seen it. `contamination`
looks for each task's prompt + solution (and its prompt and its tests on their own, when they are long enough to be
distinctive) in training text, verbatim as a run of whole lines once indentation and blank lines are dropped.
`suite_contamination(task, source_dirs)` checks one task against every `.py` file under some directories: the
corpora, the standard library, or a prepared training split.

Beside the format, this package holds MBPP's problems as tasks (`mbpp.py`), code that checks itself (`verify.py`) and
the runner (`task_eval.py`) that `tinygpt eval-suite`, `eval-mbpp`, `eval-humaneval` and the training timeline share.
It lies below `tinygpt.data` and `tinygpt.train` (`tinygpt.LAYERS`): data keeps these tasks out of training, and the
timeline runs them, so neither needs to reach up into `tinygpt.eval`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SUITE_PATH", "UNSEEN_PATH", "Task", "TaskFileError", "contamination", "load_tasks", "normalized_lines",
           "python_sources", "suite_contamination"]

SUITE_PATH = Path(__file__).with_name("suite.jsonl")
UNSEEN_PATH = Path(__file__).with_name("unseen.jsonl.gz")  # the unseen-words set: `tinygpt exercises --unseen`
FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
MIN_PIECE_CHARS = 80  # a prompt or a test alone is checked only when it is at least this long (normalized)


class TaskFileError(ValueError):
    """A task file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Task:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str

    def test_program(self) -> str:
        """The tests as a program that raises if one fails. HumanEval's tests define `check(candidate)`, which is then
        called on the entry point."""
        calls_check = "def check(" in self.test
        return f"{self.test}\n" + (f"\ncheck({self.entry_point})\n" if calls_check else "")

    def program(self, code: str) -> str:
        """`code` (the completed function, with whatever the prompt put before it) followed by the tests."""
        return f"{code}\n\n{self.test_program()}"


def load_tasks(path: str | Path = SUITE_PATH) -> list[Task]:
    """Tasks from a JSON-lines file (`.jsonl`, or `.jsonl.gz` as HumanEval ships); extra fields are ignored."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise TaskFileError(f"cannot read task file {path}: {err}") from None
    tasks = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            tasks.append(Task(**{field: record[field] for field in FIELDS}))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise TaskFileError(f"{path}:{number}: not a task with fields {', '.join(FIELDS)} ({err!r})") from None
        wrong = [field for field in FIELDS if not isinstance(record[field], str)]
        if wrong:
            raise TaskFileError(f"{path}:{number}: {', '.join(wrong)} must be text, got "
                                f"{', '.join(type(record[field]).__name__ for field in wrong)}")
    if not tasks:
        raise TaskFileError(f"task file {path} holds no tasks")
    return tasks


def normalized_lines(code: str) -> list[str]:
    """The lines of `code` stripped of indentation, blank lines dropped: the same text however deeply nested."""
    return [line.strip() for line in code.splitlines() if line.strip()]


def task_pieces(task: Task) -> dict[str, list[str]]:
    """What must not occur in training text: prompt + solution always; prompt and test alone when distinctive."""
    pieces = {"prompt+solution": normalized_lines(task.prompt + task.canonical_solution)}
    for name, text in (("prompt", task.prompt), ("test", task.test)):
        lines = normalized_lines(text)
        if len("\n".join(lines)) >= MIN_PIECE_CHARS:
            pieces[name] = lines
    return pieces


def python_sources(directories: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
    """(path, text) of every readable UTF-8 `.py` file under each directory, in sorted order."""
    for directory in directories:
        for path in sorted(Path(directory).rglob("*.py")):
            try:
                yield str(path), path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue


def contamination(tasks: Sequence[Task], sources: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """For each task found in `sources` ((name, text) pairs, read once), the places: "name (piece)". Tasks found
    nowhere are absent from the result.

    Each piece is a run of normalized lines; a source line equal to a piece's first line is checked for the rest
    of the run, so the cost is one pass over the sources whatever the number of tasks."""
    by_first_line: dict[str, list[tuple[str, str, list[str]]]] = {}
    for task in tasks:
        for piece_name, lines in task_pieces(task).items():
            by_first_line.setdefault(lines[0], []).append((task.task_id, piece_name, lines))
    found: dict[str, list[str]] = {}
    for source_name, text in sources:
        lines = normalized_lines(text)
        for index, line in enumerate(lines):
            for task_id, piece_name, piece in by_first_line.get(line, ()):
                if lines[index:index + len(piece)] == piece:
                    place = f"{source_name} ({piece_name})"
                    if place not in found.setdefault(task_id, []):
                        found[task_id].append(place)
    return found


def suite_contamination(task: Task, source_dirs: Iterable[str | Path]) -> list[str]:
    """Where `task` occurs verbatim in the `.py` files under `source_dirs` (empty: nowhere)."""
    return contamination([task], python_sources(source_dirs)).get(task.task_id, [])
