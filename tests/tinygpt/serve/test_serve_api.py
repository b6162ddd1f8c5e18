"""The playground's HTTP API (`tinygpt serve`) with FastAPI's test client on the tiny `release` checkpoint: every
control reaches the same code path as `tinygpt generate` (same tokens for the same options), tokens stream while
the generation runs, attention maps are the model's own, and the limits hold (422 naming the field, caps, 429 per
client, 503 for a full line, the request timeout, a client that disconnects stops its generation)."""

from __future__ import annotations

import base64
import socket
from collections import deque

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.helpers import parse_events, read_until, run_events, serve
from tinygpt import cli
from tinygpt import sandbox as sandbox_module
from tinygpt.cli import generate as generate_command
from tinygpt.cli.generate import build_parser, config_from_args
from tinygpt.code_completion import extract_function
from tinygpt.generate import Completion, generate, load_generator
from tinygpt.sandbox import isolation_problem
from tinygpt.serve import Limits, create_app, inspection
from tinygpt.serve.app import STATIC, is_loopback_host
from tinygpt.serve.session import EVENTS_AHEAD
from tinygpt.serve.worker import TimedOut
from tinygpt.tasks import verify as verify_module
from tinytorch import threads
from tinytorch.generation import STRATEGIES, DecodingTrace, GenerationConfig, GenerationConfigError

PROMPT = "def add(a, b):"
NOT_OPTIONS = ("prompt", "stop", "complete_function", "use_cache", "client_id")


@pytest.fixture(scope="module")
def loaded(release):
    return load_generator(release)


@pytest.fixture(scope="module")
def client(loaded):
    with serve(loaded) as test_client:
        yield test_client


def cli_completions(loaded, body: dict, trace: DecodingTrace | None = None):
    """What `tinygpt generate` computes for the same options: its own parser and config_from_args, then generate."""
    argv = ["--prompt", PROMPT]
    for name, value in body.items():
        if name not in NOT_OPTIONS:
            argv += ["--" + name.replace("_", "-"), str(value).lower() if isinstance(value, bool) else str(value)]
    config = config_from_args(build_parser().parse_args(argv))
    model, tokenizer = loaded
    return generate(model, tokenizer, PROMPT, config, stop_strings=body.get("stop", ()),
                    complete_function=body.get("complete_function", False), use_cache=body.get("use_cache", True),
                    trace=trace)


def field_named(response, *loc) -> str:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    matching = [d["msg"] for d in detail if tuple(d["loc"][:len(loc) + 1]) == ("body", *loc)]
    assert matching, detail
    return matching[0]


# ---- the same code path as `tinygpt generate` -------------------------------------------------------------------

SETTINGS = [
    {"strategy": "greedy", "max_new_tokens": 12},
    {"strategy": "greedy", "max_new_tokens": 12, "use_cache": False},
    {"max_new_tokens": 12, "seed": 5},  # sample with the command line's defaults (temperature 0.8, top_p 0.95)
    {"strategy": "sample", "max_new_tokens": 14, "seed": 3, "temperature": 0.7, "top_k": 40, "top_p": 0.9,
     "min_p": 0.01, "repetition_penalty": 1.3, "no_repeat_ngram_size": 2},
    {"strategy": "sample", "max_new_tokens": 20, "seed": 1, "temperature": 1.5, "stop": ["a", "e"]},
    {"strategy": "greedy", "max_new_tokens": 16, "complete_function": True},
    {"strategy": "beam", "max_new_tokens": 8, "num_beams": 3, "length_penalty": 0.5, "num_return_sequences": 2,
     "early_stopping": True},
    {"strategy": "beam", "max_new_tokens": 6, "complete_function": True},
    {"max_new_tokens": 6, "num_beams": 2},  # beam search, as on the command line: the setting names the strategy
]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_every_control_gives_the_tokens_of_tinygpt_generate(client, loaded, settings):
    events = run_events(client, {"prompt": PROMPT, **settings})
    expected = cli_completions(loaded, settings)
    done = events["done"][0]
    assert done["tokens"] == expected[0].tokens and done["text"] == expected[0].text
    assert done["finish_reason"] == expected[0].finish_reason
    assert events["start"][0]["prompt"] == expected[0].prompt
    assert done["all_tokens"][-len(done["tokens"]):] == done["tokens"]
    if settings.get("strategy") == "beam" or "num_beams" in settings:
        hypotheses = events["beam"][0]["hypotheses"]
        assert [h["tokens"] for h in hypotheses] == [c.tokens for c in expected]
        assert [h["score"] for h in hypotheses] == pytest.approx([c.score for c in expected])
        assert "token" not in events
    else:
        eot = loaded[1].special_tokens["<|endoftext|>"]
        assert [t["id"] for t in events.get("token", [])] == [t for t in done["tokens"] if t != eot]
        assert done["time_to_first_token_s"] is not None and done["tokens_per_second"] > 0
    if settings.get("stop"):
        assert done["finish_reason"] == "stop_string" and not any(stop in done["text"] for stop in settings["stop"])
    if settings.get("complete_function"):
        function = expected[0].function
        assert done["function"] == (None if function is None else {
            "text": function.text, "compiles": function.compiles, "ended": function.ended,
            "truncated": function.truncated, "added_pass": done["function"]["added_pass"]})


def test_the_command_line_prints_what_the_api_streams(client, release, capsys):
    options = {"strategy": "sample", "seed": 11, "top_k": 30, "max_new_tokens": 10}
    events = run_events(client, {"prompt": PROMPT, **options})
    argv = ["--checkpoint", str(release), "--prompt", PROMPT]
    for name, value in options.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    capsys.readouterr()
    assert generate_command.main(argv) == 0
    assert capsys.readouterr().out == events["start"][0]["prompt"] + events["done"][0]["text"] + "\n"


@pytest.fixture
def checks(monkeypatch) -> list[GenerationConfig]:
    """Every full check of a GenerationConfig's settings, in order."""
    seen, check = [], GenerationConfig._check_all

    def counted(config: GenerationConfig) -> None:
        seen.append(config)
        check(config)

    monkeypatch.setattr(GenerationConfig, "_check_all", counted)
    return seen


@pytest.mark.parametrize("options", [{"strategy": "sample", "seed": 3, "top_p": 0.9},
                                     {"strategy": "beam", "num_beams": 2}, {"strategy": "greedy"}])
def test_a_request_is_checked_once_from_the_command_line_and_the_playground(client, release, capsys, checks, options):
    argv = ["--checkpoint", str(release), "--prompt", PROMPT, "--max-new-tokens", "4", "--no-stream"]
    for name, value in options.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    assert generate_command.main(argv) == 0
    assert len(checks) == 1  # built from the options (decoding_config), then trusted by every layer below
    checks.clear()
    run_events(client, {"prompt": PROMPT, "max_new_tokens": 4, **options})
    assert len(checks) == 1


def test_a_config_changed_after_it_was_built_is_checked_again(loaded, checks):
    config = GenerationConfig(strategy="sample", seed=0)
    config.top_p = 2.0
    with pytest.raises(GenerationConfigError, match="top_p must be in"):
        generate(*loaded, PROMPT, config)
    assert len(checks) == 2


def test_beam_search_is_shown_step_by_step_with_what_was_kept_and_pruned(client, loaded):
    settings = {"strategy": "beam", "max_new_tokens": 6, "num_beams": 3}
    beam = run_events(client, {"prompt": PROMPT, **settings})["beam"][0]
    assert beam["scored"] and all(h["score"] is not None for h in beam["hypotheses"])
    steps, tokenizer = beam["steps"], loaded[1]
    assert [step["step"] for step in steps] == list(range(len(steps))) and 1 <= len(steps) <= 6
    assert len(steps[0]["beams"]) == 1 and steps[0]["beams"][0]["score"] == 0  # all beams start as the prompt
    for step, after in zip(steps, steps[1:]):
        continuing = [c for c in step["candidates"] if c["status"] == "continues"]
        assert sorted(c["new_beam"] for c in continuing) == list(range(len(after["beams"])))
        for candidate in continuing:  # the next step's beams are exactly the candidates that continued
            parent = step["beams"][candidate["beam"]]
            assert after["beams"][candidate["new_beam"]]["score"] == pytest.approx(candidate["score"])
            assert after["beams"][candidate["new_beam"]]["text"].startswith(parent["text"])
    for step in steps:
        assert {c["status"] for c in step["candidates"]} <= {"continues", "finished", "pruned"}
        assert len(step["candidates"]) <= 2 * 3 and all(c["text"] == tokenizer.decode([c["id"]])
                                                        for c in step["candidates"])
        scores = [c["score"] for c in step["candidates"]]
        assert scores == sorted(scores, reverse=True)  # cumulative log-probabilities, best first
    assert any(c["status"] == "pruned" for step in steps for c in step["candidates"])
    sampled = run_events(client, {"prompt": PROMPT, "strategy": "sample", "seed": 1, "max_new_tokens": 4,
                                  "num_return_sequences": 2})["beam"][0]
    assert sampled["scored"] is False and sampled["steps"] == []
    assert [h["score"] for h in sampled["hypotheses"]] == [None, None]  # independent draws: no beam score


def test_every_processor_says_in_plain_words_what_it_did(client):
    settings = {"strategy": "sample", "seed": 3, "max_new_tokens": 3, "temperature": 0.5, "top_k": 20,
                "top_p": 0.9, "min_p": 0.01, "repetition_penalty": 1.2, "no_repeat_ngram_size": 3}
    events = run_events(client, {"prompt": "def ad", **settings})
    first = events["token"][0]["stages"]
    assert first[0]["explanation"] == "" and all(stage["explanation"] for stage in first[1:])
    healing = [stage for stage in first if stage["name"].startswith("FirstTokenPrefix")]
    assert healing and "token healing" in healing[0]["explanation"]  # the prompt's last token handed back
    assert not any(stage["name"].startswith("FirstTokenPrefix") for stage in events["token"][1]["stages"])
    words = " ".join(stage["explanation"] for stage in first)
    for phrase in ("divided by 0.5", "20 most likely", "add up to 0.9", "0.01 x the top token", "repeats itself"):
        assert phrase in words, words


def test_an_empty_prompt_starts_a_new_file_from_end_of_text(client, loaded):
    events = run_events(client, {"prompt": "", "strategy": "greedy", "max_new_tokens": 4})
    assert events["start"][0]["prompt"] == "" and events["start"][0]["prompt_tokens"] == [
        {"id": loaded[1].special_tokens["<|endoftext|>"], "text": "<|endoftext|>"}]
    assert events["done"][0]["tokens"] == generate(*loaded, "", GenerationConfig(max_new_tokens=4))[0].tokens


def test_token_events_carry_the_decoding_trace(client, loaded):
    settings = SETTINGS[3]
    events = run_events(client, {"prompt": PROMPT, **settings})
    trace = DecodingTrace(top=10)
    cli_completions(loaded, settings, trace)
    tokenizer = loaded[1]
    assert len(events["token"]) == len(trace.steps)
    for event, step in zip(events["token"], trace.steps, strict=True):
        assert event["id"] == step.chosen and event["text"] == tokenizer.decode([step.chosen])
        assert event["model_prob"] == pytest.approx(step.chosen_probs[0]) and event["prob"] == step.chosen_probs[-1]
        assert [s["name"] for s in event["stages"]] == [s.name for s in step.stages]
        assert event["stages"][0]["name"] == "model" and len(event["stages"]) >= 6  # 5 processors after the model
        for sent, recorded in zip(event["stages"], step.stages, strict=True):
            assert [c["id"] for c in sent["candidates"]] == recorded.token_ids and sent["kept"] == recorded.kept
            assert [c["prob"] for c in sent["candidates"]] == pytest.approx(recorded.probs)


def test_info_describes_the_model_the_limits_and_the_defaults(client, loaded):
    info = client.get("/api/info").json()
    config = loaded[0].config
    assert info["model"] == {"name": "tiny", "n_layer": config.n_layer, "n_head": config.n_head,
                             "n_embd": config.n_embd, "block_size": config.block_size,
                             "vocab_size": config.vocab_size, "parameters": loaded[0].num_parameters()}
    assert info["limits"]["max_new_tokens"] == Limits().max_new_tokens and info["limits"]["explain_top"] == 10
    assert info["defaults"]["strategy"] == "sample" and info["defaults"]["max_new_tokens"] == 64
    assert info["defaults"]["temperature"] is None and info["defaults"]["stop"] == []
    assert info["strategy_defaults"]["sample"]["temperature"] == 0.8
    assert info["strategy_defaults"]["beam"]["num_beams"] == 4
    assert info["strategies"] == list(STRATEGIES)


def test_the_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (STATIC / "index.html").read_text(encoding="utf-8")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path in sorted(p for p in STATIC.iterdir() if p.is_file()):
        assert client.get(f"/static/{path.name}").content == path.read_bytes(), path.name
    assert client.get("/static/%2e%2e/app.py").status_code == 404


# ---- looking inside -------------------------------------------------------------------------------------------

def decode_maps(answer: dict) -> np.ndarray:
    """(n_layer, n_head, T, T) probabilities from the uint8 base64 encoding."""
    length = answer["length"]
    return np.array([[np.frombuffer(base64.b64decode(head), dtype=np.uint8).reshape(length, length) / 255
                      for head in layer] for layer in answer["maps"]])


def test_attention_maps_are_the_models_own_for_a_finished_generation(client, loaded):
    done = run_events(client, {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 10})["done"][0]
    tokens = done["all_tokens"]
    response = client.post("/api/attention", json={"tokens": tokens})
    assert response.status_code == 200, response.text
    answer = response.json()
    model, tokenizer = loaded
    length = len(tokens)
    assert (answer["n_layer"], answer["n_head"], answer["length"]) == (model.config.n_layer, model.config.n_head,
                                                                       length)
    assert answer["encoding"] == "uint8-base64"
    assert answer["tokens"] == [{"id": t, "text": tokenizer.decode([t])} for t in tokens]
    maps = decode_maps(answer)
    assert maps.shape == (model.config.n_layer, model.config.n_head, length, length)
    assert np.all(maps[..., np.triu_indices(length, 1)[0], np.triu_indices(length, 1)[1]] == 0)
    assert np.abs(maps.sum(axis=-1) - 1).max() <= length / 510
    _, attentions = model.forward_with_attentions(np.array([tokens]))
    assert np.abs(maps - np.stack([a[0] for a in attentions])).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("tokens, loc", [([], ("tokens",)), ([1] * 49, ("tokens",)), ([1, 2, 300], ("tokens", 2)),
                                         ([1, -1], ("tokens", 1)), ([1, 2.5], ("tokens", 1))])
def test_attention_refuses_tokens_it_cannot_run(client, tokens, loc):
    field_named(client.post("/api/attention", json={"tokens": tokens}), *loc)
    field_named(client.post("/api/attention", json={"tokens": [1], "layer": 0}), "layer")


def test_compare_cache_streams_both_runs_token_by_token_with_one_thread_count(client, loaded, monkeypatch):
    counts = iter([1, 2, 2, 2, 2, 2])  # the free cores change between the runs: both must still use the first count
    monkeypatch.setattr(threads, "free_cores", lambda samples=5: next(counts))
    body = {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 12}
    events = run_events(client, body, "/api/compare-cache")
    done = events["done"][0]
    expected = cli_completions(loaded, body)[0]
    assert done["same_tokens"] is True and done["outcome"] == "done" and done["threads"] == 1
    assert events["start"][0]["runs"] == ["with_cache", "without_cache"]
    for run in ("with_cache", "without_cache"):
        assert done[run]["tokens"] == expected.tokens and done[run]["text"] == expected.text and done[run]["finished"]
        ticks = [tick for tick in events["tick"] if tick["run"] == run]
        assert [tick["index"] for tick in ticks] == list(range(len(expected.tokens)))
        assert [tick["seconds"] for tick in ticks] == done[run]["seconds_per_token"]
        assert done[run]["seconds"] >= sum(done[run]["seconds_per_token"]) > 0
    assert [event["run"] for event in events["run"]] == ["with_cache", "without_cache"]
    sampled = run_events(client, {**body, "strategy": "sample", "seed": 2}, "/api/compare-cache")["done"][0]
    assert sampled["same_tokens"] is True
    assert "beam" in field_named(client.post("/api/compare-cache", json={**body, "strategy": "beam"}), "strategy")


def test_compare_cache_keeps_the_cached_run_when_the_uncached_one_runs_out_of_time(client, monkeypatch):
    def uncached_times_out(*args, use_cache: bool, on_token, **kwargs):
        if not use_cache:
            for token in (5, 6, 7):
                on_token(token)
            raise TimedOut("the request timed out")
        return generate(*args, use_cache=use_cache, on_token=on_token, **kwargs)

    monkeypatch.setattr(inspection, "generate", uncached_times_out)
    events = run_events(client, {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 12}, "/api/compare-cache")
    done = events["done"][0]
    assert done["outcome"] == "timeout" and done["with_cache"]["finished"] and len(done["with_cache"]["tokens"]) == 12
    assert done["without_cache"]["finished"] is False and done["without_cache"]["tokens"] == [5, 6, 7]
    assert done["without_cache"]["finish_reason"] == "timeout" and len(done["without_cache"]["seconds_per_token"]) == 3


def test_a_comparison_stops_when_its_client_goes_away(loaded):
    with serve(loaded) as test_client:
        worker = test_client.app.state.worker
        body = {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 64, "client_id": "leaver"}
        with test_client.stream("POST", "/api/compare-cache", json=body) as response:
            lines = response.iter_lines()
            assert [name for name, _ in read_until(lines, "tick")] == ["start", "tick"]
        assert worker.wait_idle(timeout=60)
        record = worker.history[-1]
        assert record.kind == "compare-cache" and record.outcome == "disconnected"
        assert record.tokens < 2 + EVENTS_AHEAD + 20  # stopped a few tokens after the client left, far from 128
        assert run_events(test_client, {**body, "max_new_tokens": 2}, "/api/compare-cache")["done"]  # free again


def test_work_without_the_kv_cache_is_bounded_per_request(loaded):
    with serve(loaded, max_uncached_tokens=16) as capped:
        body = {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 17}
        assert "without the KV cache" in field_named(capped.post("/api/compare-cache", json=body), "max_new_tokens")
        refused = capped.post("/api/generate", json={**body, "use_cache": False})
        assert "use_cache is false" in field_named(refused, "max_new_tokens")
        assert capped.post("/api/generate", json=body).status_code == 200  # with the cache, the usual cap
        assert run_events(capped, {**body, "max_new_tokens": 16}, "/api/compare-cache")["done"][0]["outcome"] == "done"
    assert Limits().max_uncached_tokens == 64


def test_the_openapi_schema_is_served(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    assert {"/api/generate", "/api/compare-cache", "/api/attention", "/api/verify", "/api/info"} <= set(paths)


@pytest.mark.parametrize("host, allowed", [("127.0.0.1:8000", True), ("localhost", True), ("[::1]:8000", True),
                                           ("127.0.0.2", True), ("evil.example:8000", False), ("", False),
                                           ("localhost.evil.example", False), ("10.0.0.5", False)])
def test_only_requests_addressed_to_this_machine_are_answered(loaded, host, allowed):
    with serve(loaded) as test_client:
        response = test_client.get("/api/info", headers={"host": host})
        assert response.status_code == (200 if allowed else 400), response.text
        if not allowed:
            assert response.text.count("\n") == 1 and "--host" in response.text
            stream = test_client.post("/api/generate", json={"prompt": PROMPT, "max_new_tokens": 2},
                                      headers={"host": host})
            assert stream.status_code == 400 and test_client.app.state.worker.history == deque()
    model, tokenizer = loaded
    with TestClient(create_app(model, tokenizer, loopback_only=False), base_url="http://evil.example") as anywhere:
        assert anywhere.get("/api/info").status_code == 200  # `tinygpt serve --host 0.0.0.0`: the user's choice


def test_serve_checks_the_host_header_only_on_a_loopback_address():
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("192.168.1.5")


# ---- bad parameters and caps: 422 naming the field ------------------------------------------------------------

@pytest.mark.parametrize("body, field, words", [
    ({"temperature": -1}, "temperature", "> 0"),
    ({"top_p": 2}, "top_p", "(0, 1]"),
    ({"min_p": 1.5}, "min_p", "[0, 1]"),
    ({"top_k": -3}, "top_k", ">= 0"),
    ({"repetition_penalty": 0}, "repetition_penalty", "> 0"),
    ({"max_new_tokens": 0}, "max_new_tokens", ">= 1"),
    ({"strategy": "foo"}, "strategy", "greedy"),
    ({"bogus": 1}, "bogus", "not permitted"),
    ({"top_k": "5"}, "top_k", "integer"),
    ({"seed": 1.5}, "seed", "integer"),
    ({"early_stopping": "maybe"}, "early_stopping", "'never'"),
    ({"strategy": "greedy", "temperature": 0.5}, "temperature", "only to strategy 'sample'"),
    ({"strategy": "sample", "num_beams": 3}, "num_beams", "only to strategy 'beam'"),
    ({"strategy": "beam", "num_beams": 2, "num_return_sequences": 3}, "num_return_sequences", "<= num_beams"),
    ({"strategy": "greedy", "num_return_sequences": 2}, "num_return_sequences", "greedy"),
])
def test_bad_parameters_are_422_naming_the_field(client, body, field, words):
    message = field_named(client.post("/api/generate", json={"prompt": PROMPT, **body}), field)
    assert words in message, message


def test_a_number_json_cannot_carry_is_refused_by_name(client):
    response = client.post("/api/generate", content=b'{"prompt": "x", "temperature": NaN}',
                           headers={"content-type": "application/json"})
    assert "finite" in field_named(response, "temperature")
    assert field_named(client.post("/api/generate", json={"strategy": "greedy"}), "prompt")


def test_caps_are_422_naming_the_field(loaded):
    limits = {"max_new_tokens": 20, "max_prompt_chars": 30, "max_num_beams": 3, "max_return_sequences": 2,
              "max_stop_strings": 2, "max_stop_chars": 5}
    with serve(loaded, **limits) as capped:
        def refused(body: dict, *loc) -> str:
            return field_named(capped.post("/api/generate", json={"prompt": PROMPT, **body}), *loc)

        assert "30" in refused({"prompt": "x" * 31}, "prompt")
        assert "20" in refused({"max_new_tokens": 21}, "max_new_tokens")
        assert "3" in refused({"strategy": "beam", "num_beams": 4}, "num_beams")
        assert "2" in refused({"strategy": "beam", "num_return_sequences": 3}, "num_return_sequences")
        assert "2" in refused({"stop": ["a", "b", "c"]}, "stop")
        assert "5" in refused({"stop": ["a", "toolong"]}, "stop", 1)
        assert "empty" in refused({"stop": [""]}, "stop", 0)
        at_caps = {"prompt": "x" * 30, "strategy": "beam", "num_beams": 3, "num_return_sequences": 2,
                   "max_new_tokens": 20, "stop": ["abcde", "z"]}
        assert capped.post("/api/generate", json=at_caps).status_code == 200
        assert capped.post("/api/compare-cache", json={"prompt": PROMPT, "max_new_tokens": 21}).status_code == 422


def test_settings_over_the_memory_budget_are_refused_by_name(loaded):
    with serve(loaded, max_new_tokens=10**12) as test_client:
        body = {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 10**12}
        assert "without the KV cache" in field_named(test_client.post("/api/compare-cache", json=body),
                                                      "max_new_tokens")
        events = parse_events(test_client.post("/api/generate", json=body).text)
        assert [name for name, _ in events] == ["start", "error"]
        assert events[-1][1]["message"].startswith("max_new_tokens 1000000000000 needs about")


# ---- /api/verify: tinygpt generate --verify in the playground ----------------------------------------------------

SQUARE = 'def square(x):\n    """Return x times x.\n\n    >>> square(3)\n    9\n    """\n'
needs_sandbox = pytest.mark.skipif(isolation_problem() is not None, reason="bubblewrap is not available here")


@pytest.fixture
def square_candidates(monkeypatch):
    """Greedy writes x + x (fails square(3) == 9); the second sample writes x * x."""
    bodies = {"greedy": ["    return x + x"], "sample": ["    return x ** 3", "    return x * x", "    return 0"]}

    def fake_generate(model, tokenizer, prompt, config, complete_function=False, stop_strings=()):
        made = []
        for body in bodies[config.strategy][:config.num_return_sequences or 1]:
            text = body + "\n"
            made.append(Completion(prompt, text, [], "function_end", None,
                                   extract_function(prompt, text, end_of_file=True)))
        return made

    monkeypatch.setattr(verify_module, "generate", fake_generate)


@needs_sandbox
def test_verify_returns_the_first_candidate_that_passes_the_prompts_examples(client, square_candidates):
    response = client.post("/api/verify", json={"prompt": SQUARE, "candidates": 4})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["verified"] and result["tried"] == 3 and "x * x" in result["text"]
    assert [r["status"] for r in result["results"]] == ["failed", "failed", "passed"]
    assert all(r["confined"] for r in result["results"]) and "1 example" in result["checks"]
    assert result["prompt"] + result["text"] == SQUARE + "    return x * x\n" and result["seconds"] > 0
    assert [r["code"].removeprefix(SQUARE) for r in result["results"]] == [
        "    return x + x\n", "    return x ** 3\n", "    return x * x\n"]  # each candidate's code, as it ran
    failing = client.post("/api/verify", json={"prompt": SQUARE, "candidates": 4, "tests": "assert square(2) == 5"})
    assert not failing.json()["verified"] and "x + x" in failing.json()["text"]  # none passes: the greedy one


@needs_sandbox
def test_verify_without_examples_says_it_checked_only_that_the_code_runs(client, square_candidates):
    result = client.post("/api/verify", json={"prompt": "def square(x):\n", "candidates": 2}).json()
    assert result["verified"] and result["tried"] == 1 and result["level"] == "runs"  # x + x compiles and runs
    assert result["checks"] == ("the structural checks: it compiles, defines `square` and its module-level code runs "
                                "(no examples to test against)")


@needs_sandbox
def test_verify_runs_what_tinygpt_verify_runs(client, loaded):
    model, tokenizer = loaded
    body = {"prompt": SQUARE, "candidates": 3, "max_new_tokens": 24, "seed": 5}
    result = client.post("/api/verify", json=body).json()
    direct = verify_module.verify(model, tokenizer, SQUARE, 3, GenerationConfig(max_new_tokens=24), seed=5)
    assert (result["text"], result["verified"], result["tried"]) == (
        direct.completion.text, direct.verified, direct.tried)
    assert [r["status"] for r in result["results"]] == [r.status for r in direct.results]


def test_verify_refuses_what_is_over_the_caps_by_name(loaded):
    with serve(loaded, max_verify_candidates=4, max_prompt_chars=300, max_new_tokens=20) as capped:
        assert "4" in field_named(capped.post("/api/verify", json={"prompt": SQUARE, "candidates": 5}), "candidates")
        assert field_named(capped.post("/api/verify", json={"prompt": SQUARE, "candidates": 0}), "candidates")
        assert "300" in field_named(capped.post("/api/verify", json={"prompt": SQUARE, "tests": "#" * 301}), "tests")
        assert "20" in field_named(capped.post("/api/verify", json={"prompt": SQUARE, "max_new_tokens": 21}),
                                   "max_new_tokens")


def test_verify_without_the_sandbox_is_503_saying_how_to_get_it(client, square_candidates, monkeypatch):
    monkeypatch.setattr(sandbox_module, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    response = client.post("/api/verify", json={"prompt": SQUARE, "candidates": 2})
    assert response.status_code == 503 and "bubblewrap" in response.json()["detail"]
    assert "--allow-unconfined" in response.json()["detail"]


# ---- limits for a shared machine: one at a time per client, a bounded line, a timeout, disconnects -------------

LONG = {"prompt": PROMPT, "strategy": "greedy", "max_new_tokens": 200}  # this model never ends it early (checked)


def test_tokens_stream_while_the_generation_runs_and_a_disconnect_stops_it(loaded):
    with serve(loaded) as test_client:
        worker = test_client.app.state.worker
        complete = run_events(test_client, {**LONG, "client_id": "control"})
        assert complete["done"][0]["finish_reason"] == "length" and len(complete["token"]) == 200
        with test_client.stream("POST", "/api/generate", json={**LONG, "client_id": "leaver"}) as response:
            lines = response.iter_lines()
            events = read_until(lines, "token")
            assert [name for name, _ in events] == ["start", "token"]
            assert [r.client_id for r in worker.history] == ["control"]  # still generating as the token arrived
        assert worker.wait_idle(timeout=60)
        record = worker.history[-1]
        assert record.client_id == "leaver" and record.outcome == "disconnected"
        assert record.tokens < 2 + EVENTS_AHEAD + 20  # stopped a few tokens after the client left, far from 200


def test_one_generation_at_a_time_per_client(loaded):
    with serve(loaded) as test_client:
        with test_client.stream("POST", "/api/generate", json={**LONG, "client_id": "tab-1"}) as first:
            lines = first.iter_lines()
            read_until(lines, "token")
            again = test_client.post("/api/generate", json={**LONG, "client_id": "tab-1"})
            assert again.status_code == 429 and "one request at a time" in again.json()["detail"]
            assert "tab-1" not in again.json()["detail"]  # the page's internal id means nothing to a person
            compare = test_client.post("/api/compare-cache", json={**LONG, "max_new_tokens": 8, "client_id": "tab-1"})
            assert compare.status_code == 429
        assert test_client.app.state.worker.wait_idle(timeout=60)
        after = run_events(test_client, {**LONG, "max_new_tokens": 3, "client_id": "tab-1"})
        assert len(after["done"][0]["tokens"]) == 3
        for _ in range(2):  # `done` frees the client's slot: its next request is never refused
            assert run_events(test_client, {**LONG, "max_new_tokens": 2, "client_id": "tab-1"})["done"]


def test_a_full_line_is_503(loaded):
    with serve(loaded, max_queue=0) as test_client:
        with test_client.stream("POST", "/api/generate", json=LONG) as running:
            lines = running.iter_lines()
            read_until(lines, "token")
            busy = test_client.post("/api/generate", json={**LONG, "client_id": "other"})
            assert busy.status_code == 503 and "busy" in busy.json()["detail"]
            assert test_client.post("/api/attention", json={"tokens": [1, 2]}).status_code == 503


def test_the_request_timeout_stops_a_generation(loaded):
    with serve(loaded, request_timeout_s=1e-9) as test_client:
        events = run_events(test_client, LONG)
        done = events["done"][0]
        assert done["finish_reason"] == "timeout" and done["tokens"] == [] and "token" not in events
        worker = test_client.app.state.worker
        assert worker.wait_idle(timeout=60) and worker.history[-1].outcome == "timeout"
        compare = run_events(test_client, {**LONG, "max_new_tokens": 8}, "/api/compare-cache")["done"][0]
        assert compare["outcome"] == "timeout" and compare["with_cache"]["finished"] is False
        assert compare["without_cache"] is None


# ---- `tinygpt serve` on the command line --------------------------------------------------------------------

def test_serve_refuses_a_missing_checkpoint_in_one_line(capsys, tmp_path):
    assert cli.main(["serve", "--checkpoint", str(tmp_path / "none.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tinygpt serve: error: ") and "none.safetensors" in err


@pytest.mark.parametrize("argv, words", [(["--port", "70000"], "--port"), (["--request-timeout", "0"], "seconds"),
                                         (["--max-new-tokens-cap", "0"], ">= 1"), (["--max-queue", "-1"], ">= 0")])
def test_serve_refuses_bad_options_in_one_line(capsys, argv, words):
    assert cli.main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tinygpt serve: error: ") and words in err, err


def test_serve_refuses_a_port_in_use_in_one_line(capsys, release):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--checkpoint", str(release), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err, err
