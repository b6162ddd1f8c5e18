"""Code that checks itself (`tinygpt.eval.verify`, `tinygpt generate --verify`, `eval-suite --verify`): the checks come
from the prompt's examples or the user's tests, the first passing candidate is returned, else the greedy one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygpt.cli.eval_suite import main as eval_suite_main
from tinygpt.cli.generate import main as generate_main
from tinygpt.code_completion import extract_function
from tinygpt.eval import verify as verify_module
from tinygpt.eval.sandbox import isolation_problem
from tinygpt.generate import Completion, load_generator

needs_sandbox = pytest.mark.skipif(isolation_problem() is not None, reason="bubblewrap is not available here")

PROMPT = 'def square(x):\n    """Return x times x.\n\n    >>> square(3)\n    9\n    >>> square(-2)\n    4\n    """\n'


def completion_of(body: str) -> Completion:
    text = body + "\n"
    return Completion(PROMPT, text, [], "function_end", None, extract_function(PROMPT, text, end_of_file=True))


def test_checks_come_from_the_prompts_examples() -> None:
    checks = verify_module.checks_from_prompt(PROMPT)
    assert checks == "assert repr(square(3)) == '9', 'square(3)'\nassert repr(square(-2)) == '4', 'square(-2)'\n"
    assert verify_module.checks_from_prompt('def f(x):\n    """No examples."""\n') == ""
    statement = verify_module.checks_from_prompt('def f():\n    """\n    >>> x = 2\n    >>> x\n    2\n    """\n')
    assert statement == "x = 2\nassert repr(x) == '2', 'x'\n"


@pytest.fixture
def candidates(monkeypatch):
    """The greedy completion is wrong; of the samples, the second is right."""
    bodies = {"greedy": ["    return x + x"], "sample": ["    return x ** 3", "    return x * x", "    return 0"]}

    def fake_generate(model, tokenizer, prompt, config, complete_function=False):
        return [completion_of(body) for body in bodies[config.strategy]][:config.num_return_sequences or 1]

    monkeypatch.setattr(verify_module, "generate", fake_generate)
    return bodies


@needs_sandbox
def test_the_first_candidate_that_passes_is_returned(candidates) -> None:
    result = verify_module.verify(None, None, PROMPT, 4)
    assert result.verified and result.tried == 3 and "x * x" in result.completion.text
    assert [r.status for r in result.results] == ["failed", "failed", "passed"]


@needs_sandbox
def test_when_none_passes_the_greedy_one_is_returned(candidates) -> None:
    result = verify_module.verify(None, None, PROMPT, 2)  # greedy and one sample: neither passes
    assert not result.verified and result.tried == 2 and "x + x" in result.completion.text


@needs_sandbox
def test_user_tests_replace_the_examples(candidates) -> None:
    result = verify_module.verify(None, None, PROMPT, 4, tests="assert square(5) == 10\n")
    assert result.verified and result.tried == 1 and "x + x" in result.completion.text  # 5 + 5 == 10


def test_a_prompt_without_checks_returns_greedy_without_running_anything(candidates) -> None:
    result = verify_module.verify(None, None, 'def f(x):\n    """Do it."""\n', 5)
    assert not result.verified and result.tried == 0 and result.results == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--verify", "0"], "--verify must be between 1 and 100"),
    (["--tests", "t.py"], "--tests needs --verify K"),
    (["--verify", "2", "--prompt", "def g():"], "--verify checks one prompt"),
    (["--verify", "2", "--tests", "/no/such/file.py"], "cannot use --tests /no/such/file.py"),
])
def test_bad_verify_options_exit_2_naming_the_option(release, capsys, argv, message) -> None:
    code = generate_main(["--checkpoint", str(release), "--prompt", "def f():", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@needs_sandbox
def test_generate_verify_says_what_happened(release, capsys, tmp_path: Path) -> None:
    tests = tmp_path / "tests.py"
    tests.write_text("assert True\n")
    code = generate_main(["--checkpoint", str(release), "--prompt", "def f(x):\n", "--verify", "3", "--tests",
                          str(tests), "--max-new-tokens", "8"])
    captured = capsys.readouterr()
    assert code == 0 and captured.err.startswith(("verified: ", "not verified: none of 3"))


@needs_sandbox
def test_eval_suite_reports_verified_apart(release, capsys) -> None:
    code = eval_suite_main(["--checkpoint", str(release), "-n", "2", "--verify", "2", "--max-new-tokens", "8"])
    out = capsys.readouterr().out
    assert code == 0 and "pass@1, verified from 2:" in out and "verified from 2 (greedy, then samples" in out


def test_verify_loads_a_model_once(release) -> None:
    model, tokenizer = load_generator(release)
    result = verify_module.verify(model, tokenizer, 'def f(x):\n    """Nothing to check."""\n', 3)
    assert result.tried == 0 and isinstance(result.completion, Completion)
