"""What the playground's server sends for the page to show, on the tiny `release` checkpoint: tokens streamed as
the characters their bytes complete (never half a character), the completed function saying when it was cut and
`pass` added, the security headers on every response, a waiting request's place in the line, and the trend of the
time per token that the KV cache comparison's verdict states."""

from __future__ import annotations

import pytest

from tests.helpers import read_until, run_events, scripted_generate, serve
from tinygpt.code_completion import extract_function
from tinygpt.generate import Completion, encode_prompt, end_of_text_id, load_generator
from tinygpt.serve import session
from tinygpt.serve.app import SECURITY_HEADERS
from tinygpt.serve.inspection import time_trend
from tinygpt.serve.session import TextSoFar, function_json

GREEDY = {"prompt": "def add(a, b):", "strategy": "greedy", "max_new_tokens": 8}


@pytest.fixture(scope="module")
def loaded(release):
    return load_generator(release)


@pytest.fixture(scope="module")
def client(loaded):
    with serve(loaded) as test_client:
        yield test_client


def byte_tokens(tokenizer, text: str) -> list[int]:
    """`text` as one token per UTF-8 byte (the tokenizer's byte tokens): `ü` becomes two tokens."""
    byte_id = {tokenizer.token_bytes[i]: i for i in range(256)}
    return [byte_id[bytes([byte])] for byte in text.encode("utf-8")]


def test_tokens_stream_the_characters_their_bytes_complete(client, loaded, monkeypatch):
    tokenizer = loaded[1]
    eot = end_of_text_id(tokenizer)
    monkeypatch.setattr(session, "generate", scripted_generate(byte_tokens(tokenizer, "grüß(") + [eot]))
    events = run_events(client, GREEDY)
    streamed = [token["stream_text"] for token in events["token"]]
    assert streamed == ["g", "r", "", "ü", "", "ß", "("]  # the first byte of ü and of ß is held back
    assert "\ufffd" in events["token"][2]["text"]  # the token alone is half a character
    done = events["done"][0]
    assert done["text"] == "grüß(" and done["stream_tail"] == "" and done["finish_reason"] == "end_of_text"

    cut = byte_tokens(tokenizer, "ü")[:1]  # the generation ends inside a character: flushed at the end
    monkeypatch.setattr(session, "generate", scripted_generate(cut))
    events = run_events(client, GREEDY)
    assert [token["stream_text"] for token in events["token"]] == [""]
    assert events["done"][0]["stream_tail"] == "\ufffd"


def test_text_so_far_holds_back_an_incomplete_character(loaded):
    tokenizer = loaded[1]
    text = TextSoFar(tokenizer)
    assert [text.add(token) for token in byte_tokens(tokenizer, "a€")] == ["a", "", "", "€"]
    assert text.flush() == ""
    assert [text.add(token) for token in byte_tokens(tokenizer, "€")[:2]] == ["", ""]
    assert text.flush() == "\ufffd"


@pytest.mark.parametrize("written, added_pass, kept", [
    ('    """Return the n-th Fibonacci number, for n', True, "    pass\n"),  # cut inside the docstring
    ("    a, b = 0, 1\n    for i in range(", False, "    a, b = 0, 1\n"),  # trimmed to the lines that compile
    ("    pass\n    x = (", False, "    pass\n"),  # the model's own `pass`
])
def test_a_cut_function_says_so_and_whether_pass_was_added(written, added_pass, kept):
    prompt = "def fibonacci(n):\n"
    block = function_json(Completion(prompt, written, [], "length", None, extract_function(prompt, written)))
    assert block == {"text": prompt + kept, "compiles": True, "ended": False, "truncated": True,
                     "added_pass": added_pass}


def test_a_generation_cut_in_its_docstring_reports_the_added_pass(client, loaded, monkeypatch):
    tokenizer = loaded[1]
    prompt = "def fibonacci(n):\n"
    written = encode_prompt(tokenizer, prompt).healed + '    """Return the n-th'
    monkeypatch.setattr(session, "generate", scripted_generate(tokenizer.encode(written)))
    done = run_events(client, {**GREEDY, "prompt": prompt, "complete_function": True})["done"][0]
    assert done["function"]["text"] == prompt + "    pass\n"
    assert done["function"]["added_pass"] and done["function"]["truncated"]


def test_every_response_carries_the_security_headers(client):
    responses = [client.get("/"), client.get("/api/info"), client.get("/static/app.js"),
                 client.get("/static/missing.js"), client.post("/api/generate", json=GREEDY),
                 client.post("/api/generate", json={"prompt": 1}), client.post("/api/attention", json={"tokens": [1]}),
                 client.get("/api/info", headers={"host": "evil.example"})]
    assert [r.status_code for r in responses] == [200, 200, 200, 404, 200, 422, 200, 400]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff" and "Referrer-Policy" in SECURITY_HEADERS


def test_a_waiting_request_is_told_its_place_in_line(loaded):
    long = {**GREEDY, "max_new_tokens": 200}
    with serve(loaded) as test_client:
        with test_client.stream("POST", "/api/generate", json={**long, "client_id": "first"}) as first:
            first_lines = first.iter_lines()
            read_until(first_lines, "token")
            waiting = test_client.stream("POST", "/api/generate", json={**GREEDY, "client_id": "second"})
            second = waiting.__enter__()
            second_lines = second.iter_lines()
            start = read_until(second_lines, "start")[-1][1]
            assert start["queue_position"] == 1  # the first one runs
        try:  # the first client left: the second runs
            events = read_until(second_lines, "done")
        finally:
            waiting.__exit__(None, None, None)
        assert [payload["queue_position"] for name, payload in events if name == "queue"] in ([], [0])
        assert len(events[-1][1]["tokens"]) == GREEDY["max_new_tokens"]
        assert run_events(test_client, GREEDY)["start"][0]["queue_position"] == 0  # nothing before it


def test_time_trend_leaves_out_the_prefill_and_calls_growth_only_when_measured():
    flat = time_trend([0.5] + [0.010, 0.011, 0.010, 0.012, 0.010, 0.011, 0.010, 0.011])
    assert flat["prefill_s"] == 0.5 and flat["tokens"] == 8 and not flat["grows"]  # the slow first token is no trend
    rising = time_trend([0.5] + [0.010 + 0.002 * i for i in range(8)])
    assert rising["grows"] and rising["start_s"] == pytest.approx(0.010) and rising["end_s"] == pytest.approx(0.024)
    noisy = time_trend([0.5, 0.010, 0.030, 0.011, 0.009, 0.031, 0.010, 0.012, 0.029])
    assert not noisy["grows"]  # a slope within the scatter is noise
    assert time_trend([0.5, 0.01, 0.01, 0.01]) is None  # too few tokens after the prefill to tell


def test_a_comparison_reports_each_runs_trend(client):
    done = run_events(client, {**GREEDY, "max_new_tokens": 8}, "/api/compare-cache")["done"][0]
    for run in ("with_cache", "without_cache"):
        trend = done["trend"][run]
        assert trend["tokens"] == len(done[run]["tokens"]) - 1 and isinstance(trend["grows"], bool)
        assert trend["prefill_s"] == done[run]["seconds_per_token"][0]
