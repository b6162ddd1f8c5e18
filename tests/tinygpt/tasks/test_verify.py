"""Code that checks itself (`tinygpt.tasks.verify`, `tinygpt generate --verify`, `eval-suite --verify`): the checks come
from the prompt's examples or the user's tests, else the structural checks (compiles, defines what the prompt starts,
its module-level code runs); the first passing candidate is returned, else the first one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygpt.cli.eval_suite import main as eval_suite_main
from tinygpt.cli.generate import main as generate_main
from tinygpt.code_completion import FunctionBlock, extract_function
from tinygpt.generate import Completion, load_generator
from tinygpt.sandbox import isolation_problem
from tinygpt.tasks import verify as verify_module
from tinytorch.generation import GenerationConfig

needs_sandbox = pytest.mark.skipif(isolation_problem() is not None, reason="bubblewrap is not available here")

PROMPT = 'def square(x):\n    """Return x times x.\n\n    >>> square(3)\n    9\n    >>> square(-2)\n    4\n    """\n'


def completion_of(body: str) -> Completion:
    text = body + "\n"
    return Completion(PROMPT, text, [], "function_end", None, extract_function(PROMPT, text, end_of_file=True))


def test_checks_come_from_the_prompts_examples() -> None:
    checks = verify_module.checks_from_prompt(PROMPT)
    assert checks == ("assert (_got := repr(square(3))) == '9', 'square(3) gave ' + _got + ', expected 9'\n"
                      "assert (_got := repr(square(-2))) == '4', 'square(-2) gave ' + _got + ', expected 4'\n")
    assert verify_module.checks_from_prompt('def f(x):\n    """No examples."""\n') == ""
    statement = verify_module.checks_from_prompt('def f():\n    """\n    >>> x = 2\n    >>> x\n    2\n    """\n')
    assert statement == "x = 2\nassert (_got := repr(x)) == '2', 'x gave ' + _got + ', expected 2'\n"


def test_a_failed_example_says_what_it_gave_against_what_was_expected() -> None:
    namespace = {"square": lambda x: x * x + 1}
    checks = verify_module.checks_from_prompt(PROMPT)
    with pytest.raises(AssertionError, match=r"^square\(3\) gave 10, expected 9$"):
        exec(checks, namespace)
    namespace["square"] = lambda x: x * x
    exec(checks, namespace)  # right: nothing raised


@pytest.fixture
def candidates(monkeypatch):
    """The greedy completion is wrong; of the samples, the second is right."""
    bodies = {"greedy": ["    return x + x"], "sample": ["    return x ** 3", "    return x * x", "    return 0"]}

    def fake_generate(model, tokenizer, prompt, config, complete_function=False, stop_strings=()):
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


# ---- without examples: the structural checks ------------------------------------------------------------------

def made(prompt: str, text: str, complete_function: bool, finish_reason: str = "function_end") -> Completion:
    """A completion as `generate` returns it, from a fixed text."""
    block = extract_function(prompt, text, end_of_file=finish_reason != "length") if complete_function else None
    return Completion(prompt, text, [], finish_reason, None, block)


def fake_candidates(monkeypatch, first: str, samples: list[str], finish_reason: str = "function_end") -> list:
    """`generate` in verify returns `first`, then `samples`; returns the configs it was asked for."""
    asked = []

    def fake_generate(model, tokenizer, prompt, config, complete_function=False, stop_strings=()):
        asked.append(config)
        texts = samples[:config.num_return_sequences] if config.strategy == "sample" else [first]
        return [made(prompt, text, complete_function, finish_reason) for text in texts]

    monkeypatch.setattr(verify_module, "generate", fake_generate)
    return asked


@needs_sandbox
def test_structural_checks_reject_a_duplicate_argument_raising_module_code_and_a_wrong_name(monkeypatch) -> None:
    prompt = "def scale(x, factor):\n"
    fake_candidates(monkeypatch, "    return x * factor\n", [])
    ok = verify_module.verify(None, None, prompt, 1)
    assert ok.verified and ok.level == "runs" and ok.name == "scale" and ok.results[0].status == "passed"

    samples = [" g(n=1 / 0):\n    return n\n", " h(n):\n    return n\n"]
    fake_candidates(monkeypatch, " f(n, n):\n    return n\n", samples)
    result = verify_module.verify(None, None, "def", 3)  # the prompt names nothing: each block by its own name
    assert result.verified and result.tried == 3 and result.name == "h" and "h(n)" in result.completion.text
    assert "duplicate argument 'n'" in result.results[0].reason
    assert result.results[1].reason.startswith("ZeroDivisionError")  # its default ran at module level

    wrong = Completion(prompt, "    return x\n", [], "function_end", None,
                       FunctionBlock("def cube(x):\n    return x\n", True, False, True, start=0))
    monkeypatch.setattr(verify_module, "generate", lambda *args, **options: [wrong])
    refused = verify_module.verify(None, None, prompt, 1)
    assert not refused.verified and refused.results[0].reason == "does not define `scale`"


@needs_sandbox
def test_a_loop_that_runs_passes_and_one_that_cannot_is_refused(monkeypatch) -> None:
    fake_candidates(monkeypatch, " range(3):\n    return i\n",
                    [" range(3):\n    print(1 / i)\n", " range(1, 3):\n    print(1 / i)\n"], "stop_string")
    result = verify_module.verify(None, None, "for i in", 3, complete_function=False, stop_strings=["\n\n"])
    assert result.verified and result.tried == 3 and result.level == "runs" and result.name is None
    assert [r.status for r in result.results] == ["error", "error", "passed"]
    assert "'return' outside function" in result.results[0].reason
    assert result.results[1].reason.startswith("ZeroDivisionError")
    assert result.checks == ("the structural checks: it compiles and its module-level code runs (no examples to "
                             "test against)")


@needs_sandbox
def test_structural_checks_say_which_level_and_which_checks(monkeypatch) -> None:
    fake_candidates(monkeypatch, "    return x\n", ["    return x\n"], "length")  # cut: unfinished code
    result = verify_module.verify(None, None, "def f(x):\n", 2)
    assert not result.verified and result.level == "runs" and result.tried == 2
    assert result.results[0].reason == "cut at the token limit: unfinished code"
    assert result.checks == ("the structural checks: it compiles, defines `f` and its module-level code runs (no "
                             "examples to test against)")
    fake_candidates(monkeypatch, "    return x\n", [])
    empty = verify_module.verify(None, None, "def f(x):\n", 1, tests="# nothing yet\n")
    assert empty.verified and empty.level == "runs" and "(the tests given hold no statement)" in empty.checks


def test_compile_only_checks_run_nothing(monkeypatch) -> None:
    fake_candidates(monkeypatch, " f(n, n):\n    return n\n", [" g(n):\n    return n\n"])
    result = verify_module.verify(None, None, "def", 2, run_code=False)
    assert result.verified and result.level == "compiles" and not result.results[1].confined
    assert result.checks == "the structural checks: it compiles and defines `g` (nothing run: no sandbox)"
    with pytest.raises(ValueError, match="tests run only in the sandbox"):
        verify_module.verify(None, None, "def", 2, tests="assert g(1) == 1\n", run_code=False)


def test_the_first_candidate_follows_a_deterministic_config_and_samples_only_if_it_fails(monkeypatch) -> None:
    asked = fake_candidates(monkeypatch, " g(n):\n    return n\n", [" g(n):\n    return n\n"])
    verify_module.verify(None, None, "def", 5, GenerationConfig(strategy="beam", num_beams=3), run_code=False)
    assert [(c.strategy, c.num_beams) for c in asked] == [("beam", 3)]  # it passed: no samples drawn
    asked.clear()
    verify_module.verify(None, None, "def", 5, GenerationConfig(strategy="sample", seed=4), run_code=False)
    assert [c.strategy for c in asked] == ["greedy"]
    asked = fake_candidates(monkeypatch, " f(n, n):\n    return n\n", [" g(n):\n    return n\n"] * 4)
    verify_module.verify(None, None, "def", 5, GenerationConfig(strategy="greedy"), seed=7, run_code=False)
    assert [(c.strategy, c.num_return_sequences, c.seed) for c in asked] == [("greedy", 1, None), ("sample", 4, 7)]


def test_the_name_the_prompt_starts() -> None:
    starts = verify_module.name_the_prompt_starts
    assert starts("def square(x):\n") == "square" and starts("class Stack:\n") == "Stack"
    assert starts("class Stack:\n    def push(self, item):\n") == "Stack"  # the method belongs to the class
    assert starts("def") is None and starts("def squ") is None and starts("for i in") is None


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
def test_generate_verify_without_examples_says_it_passed_the_structural_checks(release, capsys, tmp_path) -> None:
    code = generate_main(["--checkpoint", str(release), "--prompt", "def f(x):\n", "--verify", "2",
                          "--max-new-tokens", "8"])
    err = capsys.readouterr().err
    assert code == 0 and len(err.strip().splitlines()) == 1
    assert err.startswith(("verified: candidate ", "not verified: none of 2 candidates passed "))
    assert "the structural checks: it compiles, defines `f` and its module-level code runs (no examples" in err


@pytest.mark.parametrize("text", ["", "# nothing yet\n\n"])
def test_generate_verify_refuses_a_tests_file_with_nothing_to_run(release, capsys, tmp_path, text) -> None:
    """An empty --tests file is a mistake (unsaved, the wrong file): refused at once, not run as no tests."""
    empty = tmp_path / "empty.py"
    empty.write_text(text)
    code = generate_main(["--checkpoint", str(release), "--prompt", PROMPT, "--verify", "2", "--tests", str(empty)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--tests {empty} holds no statement to run" in err and "leave --tests out" in err and ">>> examples" in err


@needs_sandbox
def test_eval_suite_reports_verified_apart(release, capsys) -> None:
    code = eval_suite_main(["--checkpoint", str(release), "-n", "2", "--verify", "2", "--max-new-tokens", "8"])
    out = capsys.readouterr().out
    assert code == 0 and "pass@1, verified from 2:" in out and "verified from 2 (greedy, then samples" in out


def test_verify_loads_a_model_once(release) -> None:
    model, tokenizer = load_generator(release)
    result = verify_module.verify(model, tokenizer, 'def f(x):\n    """Nothing to check."""\n', 3, run_code=False)
    assert result.level == "compiles" and 1 <= result.tried <= 3 and isinstance(result.completion, Completion)
