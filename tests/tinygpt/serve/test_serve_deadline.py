"""The playground's POST /api/verify under its deadline: running the candidates in the sandbox counts against
`request_timeout_s` as generating them does. When the deadline passes, the candidate running is killed and no other
is judged, the answer is 504 as documented, and the one worker is free for the next request at once."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tinygpt.code_completion import extract_function
from tinygpt.generate import Completion, load_generator
from tinygpt.sandbox import SandboxLimits, isolation_problem
from tinygpt.serve import Limits, create_app
from tinygpt.tasks import verify as verify_module

SQUARE = 'def square(x):\n    """Return x times x.\n\n    >>> square(3)\n    9\n    """\n'
SLEEPER = "    import time\n    time.sleep(60)\n    return x * x\n"  # each candidate sleeps through its own limit
CANDIDATE_TIMEOUT_S = 8.0
REQUEST_TIMEOUT_S = 2.0
needs_sandbox = pytest.mark.skipif(isolation_problem() is not None, reason="bubblewrap is not available here")


@pytest.fixture
def sandbox_runs(monkeypatch) -> list[float]:
    """Every candidate `verify` draws is SLEEPER; returns the time limit of each sandbox run, as they happen."""
    limits_seen, run_tests = [], verify_module.run_tests

    def fake_generate(model, tokenizer, prompt, config, complete_function=False, stop_strings=()):
        return [Completion(prompt, SLEEPER, [1], "function_end", None,
                           extract_function(prompt, SLEEPER, end_of_file=True))
                for _ in range(config.num_return_sequences or 1)]

    def counted_run_tests(code, tests, limits=None):
        limits_seen.append(limits.timeout_s)
        return run_tests(code, tests, limits)

    monkeypatch.setattr(verify_module, "generate", fake_generate)
    monkeypatch.setattr(verify_module, "run_tests", counted_run_tests)
    return limits_seen


@needs_sandbox
def test_verify_past_its_deadline_is_504_and_the_worker_serves_the_next_request(release, sandbox_runs):
    model, tokenizer = load_generator(release)
    app = create_app(model, tokenizer, Limits(request_timeout_s=REQUEST_TIMEOUT_S),
                     sandbox=SandboxLimits(timeout_s=CANDIDATE_TIMEOUT_S))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        started = time.monotonic()
        response = client.post("/api/verify", json={"prompt": SQUARE, "candidates": 3})
        seconds = time.monotonic() - started
        assert response.status_code == 504, response.text
        assert f"timeout ({REQUEST_TIMEOUT_S:g} s)" in response.json()["detail"]
        assert len(sandbox_runs) == 1 and sandbox_runs[0] <= REQUEST_TIMEOUT_S  # cut at the deadline; none after it
        assert seconds < CANDIDATE_TIMEOUT_S  # without the deadline: 3 candidates x 8 s, then 200
        worker = app.state.worker
        assert worker.wait_idle(timeout=30)
        assert (worker.history[-1].kind, worker.history[-1].outcome) == ("verify", "timeout")
        after = client.post("/api/generate", json={"prompt": "def add(a, b):", "strategy": "greedy",
                                                   "max_new_tokens": 4})
        assert after.status_code == 200 and "event: done" in after.text
        assert worker.wait_idle(timeout=30) and worker.history[-1].kind == "generate"
