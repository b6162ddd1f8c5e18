"""MBPP as tasks (`tinygpt/tasks/mbpp.py`) on a few made-up problems in MBPP's format: the prompt a user would write,
the splits by task_id, problems skipped with a reason, the references passing their tests in the sandbox; and
`tinygpt eval-mbpp` end to end on the tiny random checkpoint. The real file's test split, where it exists."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tinygpt.cli import eval_mbpp
from tinygpt.code_completion import compiles, extract_function
from tinygpt.generate import Completion
from tinygpt.sandbox import STATUSES, SandboxLimits
from tinygpt.tasks import TaskFileError, mbpp
from tinygpt.tasks.task_eval import judge
from tinygpt.tasks.verify import checks_from_prompt

# Invented problems, one in each split (3: prompt, 42 and 12: test, 550: validation, 700: train).
TOY_PROBLEMS = [
    {"task_id": 3, "text": "Write a function to add one to a number.", "code": "def add_one(n):\n    return n + 1",
     "test_setup_code": "", "challenge_test_list": [],
     "test_list": ["assert add_one(1) == 2", "assert add_one(-1) == 0", "assert add_one(9) == 10"]},
    {"task_id": 42, "text": "Write a  function to shout a word.\n",
     "code": "import string\r\nMARK = '!'\r\ndef loud(ch):\r\n\treturn ch.upper()\r\ndef shout(word, times=1): \r\n"
             "\tassert set(word) <= set(string.ascii_letters)\r\n\treturn ''.join(map(loud, word)) + MARK * times",
     "test_setup_code": "", "test_list": ['assert shout("ab") == "AB!"', 'assert shout("x", 2) == "X!!"',
                                          'assert shout("") == "!"'], "challenge_test_list": []},
    {"task_id": 550, "text": "Write a python function to check whether a number is even.",
     "code": "def is_even(n) : # the parity\n    return n % 2 == 0",
     "test_setup_code": "", "test_list": ["assert is_even(4)", "assert not is_even(3)", "assert is_even(0)"],
     "challenge_test_list": []},
    {"task_id": 700, "text": "Write a function to find the distinct halves of the numbers.",
     "code": "def halves(numbers):\n  return {n / 2 for n in numbers}",
     "test_setup_code": "numbers = [2, 4, 4]", "test_list": ["assert halves(numbers) == {1.0, 2.0}",
                                                             "assert halves([1]) == {1 / 2}",
                                                             "assert halves([]) == set()"],
     "challenge_test_list": []},
    {"task_id": 12, "text": "Write a function that the reference forgets.", "code": "def other(x):\n  return x",
     "test_setup_code": "", "test_list": ["assert len(missing(1)) == 1"], "challenge_test_list": []},
]
TINY = ["--max-new-tokens", "6", "--timeout", "10"]


@pytest.fixture
def toy_file(tmp_path) -> Path:
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(problem) + "\n" for problem in TOY_PROBLEMS), encoding="utf-8")
    return path


@pytest.fixture
def toy_tasks(toy_file):
    tasks, skipped = mbpp.mbpp_tasks(mbpp.load_problems(toy_file))
    return {task.task_id: task for task in tasks}, skipped


# ---- problems as tasks ------------------------------------------------------------------------------------------

def test_the_prompt_is_the_signature_the_request_and_the_first_test_as_an_example(toy_tasks):
    tasks, _ = toy_tasks
    assert tasks["MBPP/3"].prompt == ('def add_one(n):\n    """Write a function to add one to a number.\n\n'
                                      '    >>> add_one(1)\n    2\n    """\n')
    # helpers, imports and constants above the tested def are not shown; \r\n, tabs and trailing spaces are gone
    assert tasks["MBPP/42"].prompt == ('def shout(word, times=1):\n    """Write a function to shout a word.\n\n'
                                       '    >>> shout("ab")\n    \'AB!\'\n    """\n')
    # not `==`: the asserted expression, then True; the comment after the colon is dropped
    assert tasks["MBPP/550"].prompt == ('def is_even(n) :\n    """Write a python function to check whether a number is '
                                        'even.\n\n    >>> is_even(4)\n    True\n    """\n')
    # a set's repr depends on hashing: the comparison, then True
    assert tasks["MBPP/700"].prompt == ('def halves(numbers):\n    """Write a function to find the distinct halves of '
                                        'the numbers.\n\n    >>> halves(numbers) == {1.0, 2.0}\n    True\n    """\n')
    assert [tasks[name].entry_point for name in ("MBPP/3", "MBPP/42", "MBPP/550")] == ["add_one", "shout", "is_even"]
    assert checks_from_prompt(tasks["MBPP/42"].prompt) == (
        "assert (_got := repr(shout(\"ab\"))) == \"'AB!'\", 'shout(\"ab\") gave ' + _got + \", expected 'AB!'\"\n")


def test_a_signature_over_several_lines_keeps_them_and_drops_comments():
    code = "X = 1\nif X:\n    def pair(a,   # first\n             b=(1, 2)) -> tuple:  # note\n        return a, b\n"
    function = next(node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.FunctionDef))
    assert mbpp.signature(code, function) == "def pair(a,\n         b=(1, 2)) -> tuple:"


def test_every_test_and_the_setup_decide_and_the_reference_is_kept_whole(toy_tasks):
    tasks, _ = toy_tasks
    assert tasks["MBPP/700"].test == ("numbers = [2, 4, 4]\nassert halves(numbers) == {1.0, 2.0}\n"
                                      "assert halves([1]) == {1 / 2}\nassert halves([]) == set()\n")
    assert tasks["MBPP/42"].canonical_solution.startswith("import string\nMARK = '!'\ndef loud(ch):\n\treturn")
    assert "\r" not in tasks["MBPP/42"].canonical_solution + tasks["MBPP/42"].test


def test_a_problem_whose_reference_lacks_the_tested_def_is_skipped_with_a_reason(toy_tasks):
    tasks, skipped = toy_tasks
    assert "MBPP/12" not in tasks
    assert skipped == [mbpp.Skipped("MBPP/12", "its reference solution has no top-level def of `missing`, which the "
                                               "first test calls")]


def test_splits_go_by_task_id(toy_file):
    problems = mbpp.load_problems(toy_file)
    chosen = {split: [p.task_id for p in mbpp.select_split(problems, split)] for split in mbpp.SPLITS}
    assert chosen == {"prompt": [3], "test": [42, 12], "validation": [550], "train": [700]}
    with pytest.raises(ValueError, match="split must be one of prompt, test, validation, train, got 'dev'"):
        mbpp.select_split(problems, "dev")


def test_requests_give_the_sentence_and_the_parameter_names(toy_file):
    found = mbpp.requests(mbpp.load_problems(toy_file))
    assert found[1] == mbpp.Request(42, "Write a function to shout a word.", ("word", "times"))
    assert found[4] == mbpp.Request(12, "Write a function that the reference forgets.", ())


def test_the_references_pass_their_tests_in_the_sandbox(toy_tasks):
    tasks, _ = toy_tasks
    results = mbpp.check_references(list(tasks.values()), SandboxLimits(timeout_s=10))
    assert [result.status for result in results] == ["passed"] * 4, [result.reason for result in results]


@pytest.mark.parametrize("body, status", [("    return n % 2 == 0\n", "passed"), ("    return True\n", "failed")])
def test_the_engine_judges_a_completion_by_all_three_tests(toy_tasks, body, status):
    task = toy_tasks[0]["MBPP/550"]
    generated = body + "\n\nprint(1)\n"
    completion = Completion(task.prompt, generated, [], "function_end", None, extract_function(task.prompt, generated))
    attempt = judge(task, completion, SandboxLimits(timeout_s=10))
    assert attempt.status == status and attempt.compiles, attempt.reason


@pytest.mark.parametrize("content, message", [
    (None, "cannot read MBPP problems {path} (no such file); pass --problems FILE"),
    ("{not json\n", "{path}:1: not an MBPP problem (Expecting property name"),
    ('{"task_id": "11", "text": "t", "code": "c", "test_list": ["assert f()"]}\n', "{path}:1: not an MBPP problem: "),
    ("\n\n", "MBPP problems file {path} holds no problems; pass --problems FILE"),
])
def test_a_missing_or_corrupt_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "mbpp.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(TaskFileError) as error:
        mbpp.load_problems(path)
    assert message.format(path=path) in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).endswith("pass --problems FILE")


# ---- tinygpt eval-mbpp end to end ------------------------------------------------------------------------------

def test_eval_mbpp_reports_pass_at_1_verified_and_skipped(capsys, release, toy_file, tmp_path):
    report = tmp_path / "out" / "mbpp.json"
    code = eval_mbpp.main(["--checkpoint", str(release), "--problems", str(toy_file), *TINY, "--verify", "2",
                           "--json", str(report), "--verbose"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith("eval-mbpp: 2 problems of the test split (ids 11-510) from mbpp.jsonl; greedy, "
                                   "max_new_tokens 6; ")
    for label in ("compiles without trimming:", "pass@1 (passes tests):", "pass@1, verified from 2:", "not passed:",
                  "skipped: 1 of 2 problems\n  MBPP/12: its reference solution has no top-level def of `missing`"):
        assert label in captured.out
    assert "MBPP/42" in captured.err  # --verbose: one line per problem
    results = json.loads(report.read_text())
    assert [attempt["task_id"] for attempt in results["attempts"]] == ["MBPP/42"]
    assert results["attempts"][0]["status"] in STATUSES and results["config"]["strategy"] == "greedy"
    assert results["split"] == "test" and [skip["task_id"] for skip in results["skipped"]] == ["MBPP/12"]
    assert results["verified"]["candidates"] == 2 and results["verified"]["prompts_with_examples"] == 1
    assert 0 <= results["pass@1"] <= 1


def test_eval_mbpp_checks_the_references_without_a_model(capsys, toy_file, tmp_path):
    report = tmp_path / "references.json"
    code = eval_mbpp.main(["--problems", str(toy_file), "--split", "train", "--check-references", "--timeout", "10",
                           "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0 and "references passing their tests: 1/1 (100.0%)" in out and "skipped: 0 of 1" in out, out
    assert json.loads(report.read_text())["references"] == {"passed": 1, "total": 1, "failing": []}


@pytest.mark.parametrize("argv, message", [
    (["--limit", "0"], "--limit must be >= 1, got 0"),
    (["--split", "dev"], "argument --split: invalid choice: 'dev'"),
    (["--timeout", "0"], "--timeout must be > 0 seconds"),
    (["--timeout", "1e300"], "--timeout must be > 0 seconds and at most 600"),
    (["--verify", "0"], "--verify must be between 1 and 100"),
    (["--problems", "no/such.jsonl"], "cannot read MBPP problems no/such.jsonl (no such file); pass --problems FILE"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, release, toy_file, argv, message):
    code = eval_mbpp.main(["--checkpoint", str(release), "--problems", str(toy_file), *TINY, *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("tinygpt eval-mbpp: error: ") and message in err, err


# ---- the real file ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(not mbpp.DEFAULT_PROBLEMS.is_file(), reason=f"MBPP is not at {mbpp.DEFAULT_PROBLEMS}")
def test_the_real_test_split_has_500_problems_whose_prompts_compile():
    problems = mbpp.select_split(mbpp.load_problems(), "test")
    assert [problem.task_id for problem in problems] == list(range(11, 511))
    tasks, skipped = mbpp.mbpp_tasks(problems)
    assert skipped == [] and len(tasks) == 500
    assert [task.task_id for task in tasks if not compiles(task.prompt + "    pass\n")] == []
    assert all(">>> " in task.prompt and task.test.count("assert") >= 3 for task in tasks)
