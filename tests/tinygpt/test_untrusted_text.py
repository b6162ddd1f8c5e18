"""Text that generated code controls (a candidate's exception message, the source line it points at) never reaches a
terminal raw: `printable` escapes control characters as repr does, and every place that shows a candidate's reason
(`tinygpt generate --verify`, `eval-suite --verbose`, `eval-mbpp --check-references`, the demo `python generate.py`,
the playground's JSON) shows it escaped, so a candidate cannot clear the screen or print a fake green PASSED."""

from __future__ import annotations

import importlib.util
import json

import pytest
from fastapi.testclient import TestClient

from tests.helpers import REPO
from tinygpt.cli import eval_mbpp, eval_suite
from tinygpt.cli.generate import main as generate_main
from tinygpt.code_completion import extract_function
from tinygpt.console import printable
from tinygpt.generate import Completion, load_generator
from tinygpt.sandbox import isolation_problem
from tinygpt.serve import create_app
from tinygpt.tasks import task_eval
from tinygpt.tasks import verify as verify_module

ESCAPES = "\x1b[2J\x1b[32mPASSED\x1b[0m\x07"
# A block whose default argument raises when the module runs: the reason quotes its source line, escapes and all.
RAISING_BLOCK = " f(n=1 / 0 if '" + ESCAPES + "' else 0):\n    return n\n"
needs_sandbox = pytest.mark.skipif(isolation_problem() is not None, reason="bubblewrap is not available here")


def made(prompt: str, text: str) -> Completion:
    return Completion(prompt, text, [1], "function_end", None, extract_function(prompt, text, end_of_file=True))


@pytest.fixture
def raising_candidates(monkeypatch):
    """Every candidate `verify` draws is RAISING_BLOCK."""

    def fake_generate(model, tokenizer, prompt, config, complete_function=False, stop_strings=()):
        return [made(prompt, RAISING_BLOCK) for _ in range(config.num_return_sequences or 1)]

    monkeypatch.setattr(verify_module, "generate", fake_generate)


def assert_escaped(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, repr(text)
    assert "\\x1b[2J\\x1b[32mPASSED\\x1b[0m\\x07" in text, text


def test_printable_escapes_control_characters_and_keeps_newlines_tabs_and_letters():
    assert printable("a\tb\nc") == "a\tb\nc"
    assert printable("héllo 世界 🐍 \\n") == "héllo 世界 🐍 \\n"
    assert printable(ESCAPES + "\r") == "\\x1b[2J\\x1b[32mPASSED\\x1b[0m\\x07\\r"
    assert printable("\0\x7f\x9b\u202e\u200b") == "\\x00\\x7f\\x9b\\u202e\\u200b"  # incl. C1 CSI and bidi override


@needs_sandbox
def test_generate_verify_prints_the_reason_escaped(release, capsys, raising_candidates):
    assert generate_main(["--checkpoint", str(release), "--prompt", "def", "--verify", "2"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("not verified: none of 2") and "ZeroDivisionError" in err
    assert_escaped(err)


@needs_sandbox
def test_eval_suite_verbose_prints_the_reason_escaped(release, capsys, tmp_path, monkeypatch):
    task = {"task_id": "escape/0", "prompt": "def", "canonical_solution": "", "entry_point": "f",
            "test": "def check(candidate):\n    assert candidate(1) == 1\n"}
    suite = tmp_path / "suite.jsonl"
    suite.write_text(json.dumps(task) + "\n", encoding="utf-8")
    monkeypatch.setattr(task_eval, "generate", lambda model, tokenizer, prompt, config, complete_function: [
        made(prompt, RAISING_BLOCK)])
    assert eval_suite.main(["--checkpoint", str(release), "--suite", str(suite), "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "escape/0" in err and "ZeroDivisionError" in err
    assert_escaped(err)


@needs_sandbox
def test_eval_mbpp_prints_a_failing_references_reason_escaped(capsys, tmp_path):
    problem = {"task_id": 700, "text": "Write a function that raises.", "test_setup_code": "",
               "code": f"def f(n):\n    raise ValueError({ESCAPES!r})", "test_list": ["assert f(1) == 1"],
               "challenge_test_list": []}
    problems = tmp_path / "mbpp.jsonl"
    problems.write_text(json.dumps(problem) + "\n", encoding="utf-8")
    assert eval_mbpp.main(["--problems", str(problems), "--split", "train", "--check-references"]) == 0
    out = capsys.readouterr().out
    assert "700: error, ValueError" in out or "700: failed, ValueError" in out, out
    assert_escaped(out.split("references passing")[0])


@needs_sandbox
def test_the_demo_prints_why_the_first_fails_escaped(release, capsys, monkeypatch, raising_candidates):
    spec = importlib.util.spec_from_file_location("root_generate", REPO / "generate.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    monkeypatch.setattr(demo, "DEMO", [entry for entry in demo.DEMO if entry[0] == "def"])
    monkeypatch.setattr(demo, "show_request", lambda *args, **kwargs: None)
    assert demo.demo(release) == 0
    why = [line for line in capsys.readouterr().out.splitlines() if line.startswith("why the first fails: ")]
    assert len(why) == 1 and "ZeroDivisionError" in why[0]
    assert_escaped(why[0])


@needs_sandbox
def test_the_playground_sends_the_reason_escaped(release, raising_candidates):
    model, tokenizer = load_generator(release)
    with TestClient(create_app(model, tokenizer), base_url="http://127.0.0.1") as client:
        response = client.post("/api/verify", json={"prompt": "def", "candidates": 2})
    assert response.status_code == 200, response.text
    reasons = [result["reason"] for result in response.json()["results"]]
    assert len(reasons) == 2 and all("ZeroDivisionError" in reason for reason in reasons)
    for reason in reasons:
        assert_escaped(reason)
