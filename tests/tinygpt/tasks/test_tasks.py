"""The project's task suite checks itself: every reference solution passes its asserts, an empty body fails them,
every prompt has one of the two shapes a user writes, the file ships with the package, and the contamination check
finds a task planted in training text (and none in the small corpora beside the project)."""

from __future__ import annotations

import gzip
import json
import re
import tomllib

import pytest

from tests.helpers import REPO
from tinygpt.sandbox import SandboxLimits, run_program
from tinygpt.tasks import (
    SUITE_PATH,
    Task,
    TaskFileError,
    contamination,
    load_tasks,
    python_sources,
    suite_contamination,
)

CORPORA = REPO.parent / "shared" / "corpora"
SUITE = load_tasks()
DOCSTRING_PROMPT = re.compile(r'def (\w+)\([^)]*\):\n    """[^"\n]+"""\n')
COMMENT_PROMPT = re.compile(r"# [^\n]+\ndef (\w+)\([^)]*\):\n")


def run_in_process(program: str) -> None:
    exec(compile(program, "<task>", "exec"), {"__name__": "__task__"})


def test_the_suite_has_at_least_100_distinct_tasks_of_both_shapes():
    assert len(SUITE) >= 100
    assert len({task.task_id for task in SUITE}) == len({task.entry_point for task in SUITE}) == len(SUITE)
    for task in SUITE:
        shape = DOCSTRING_PROMPT.fullmatch(task.prompt) or COMMENT_PROMPT.fullmatch(task.prompt)
        assert shape and shape.group(1) == task.entry_point, task.prompt
        assert task.test.count("assert ") >= 2, task.task_id
    comment_prompts = sum(bool(COMMENT_PROMPT.fullmatch(task.prompt)) for task in SUITE)
    assert 0.25 * len(SUITE) < comment_prompts < 0.75 * len(SUITE)


@pytest.mark.parametrize("task", SUITE, ids=[task.entry_point for task in SUITE])
def test_the_reference_solution_passes_and_an_empty_body_fails(task):
    run_in_process(task.program(task.prompt + task.canonical_solution))
    with pytest.raises(Exception):  # noqa: B017 - an AssertionError, or a TypeError on None: either way a failure
        run_in_process(task.program(task.prompt + "    pass\n"))


def test_reference_solutions_pass_in_the_sandbox_too():
    limits = SandboxLimits(timeout_s=10)
    for task in SUITE[:3] + SUITE[-3:]:
        result = run_program(task.program(task.prompt + task.canonical_solution), limits)
        assert result.status == "passed", (task.task_id, result.reason)
    wrong = SUITE[0].program(SUITE[0].prompt + "    return 42\n")
    assert run_program(wrong, limits).status == "failed"


def test_the_suite_ships_as_package_data():
    assert SUITE_PATH.is_file() and SUITE_PATH.parent.name == "tasks"
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*.jsonl" in package_data["tinygpt.tasks"]


def test_humaneval_style_tests_call_check():
    task = Task("x/0", "def f():\n", "    return 1\n", "def check(candidate):\n    assert candidate() == 1\n", "f")
    assert task.program("def f():\n    return 1\n").endswith("\ncheck(f)\n")
    run_in_process(task.program("def f():\n    return 1\n"))


def test_a_task_planted_in_training_text_is_found(tmp_path):
    task = next(t for t in SUITE if t.entry_point == "merge_sorted")
    nested = "".join("    " + line if line.strip() else "\n" for line in (task.prompt + task.canonical_solution)
                     .splitlines(keepends=True))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "copied.py").write_text(f"class Helpers:\n{nested}\n\n    x = 1\n", encoding="utf-8")
    (tmp_path / "clean.py").write_text("def merge_sorted(a, b):\n    return sorted(a + b)\n", encoding="utf-8")
    places = suite_contamination(task, [tmp_path])
    assert places == [f"{tmp_path / 'pkg' / 'copied.py'} (prompt+solution)"]
    assert suite_contamination(SUITE[0], [tmp_path]) == []


def test_long_prompts_and_tests_are_checked_on_their_own():
    task = Task("x/1", 'def f(x):\n    """' + "A long and distinctive docstring. " * 4 + '"""\n', "    return x\n",
                "assert f(1) == 1\n", "f")
    found = contamination([task], [("train.py", task.prompt + "    return 2 * x\n")])
    assert found == {"x/1": ["train.py (prompt)"]}
    short = contamination(SUITE[:1], [("train.py", SUITE[0].prompt + "    return 0\n")])
    assert short == {}  # a short prompt alone is not distinctive enough to count


@pytest.mark.skipif(not CORPORA.is_dir(), reason="shared/corpora is not beside the project")
def test_no_task_occurs_in_the_small_corpora():
    directories = [CORPORA / "trekhleb-learn-python", CORPORA / "exercism-python"]
    assert contamination(SUITE, python_sources(directories)) == {}


def test_bad_task_files_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(TaskFileError, match=r"bad.jsonl:1: not a task with fields"):
        load_tasks(bad)
    with pytest.raises(TaskFileError, match="cannot read task file"):
        load_tasks(tmp_path / "missing.jsonl")
    packed = tmp_path / "tasks.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as file:
        file.write(json.dumps({**SUITE[0].__dict__, "extra": 1}) + "\n")
    assert load_tasks(packed) == [SUITE[0]]
