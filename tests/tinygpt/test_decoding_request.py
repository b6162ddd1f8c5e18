"""One decoding request, one GenerationConfig, whichever door it comes in by: `tinygpt generate`'s options, the
playground's request body, the evaluation commands' options and verify all reach the one builder
(`tinygpt.generate.decoding_config`), and where a door's defaults differ, they are the ones its row of DOOR_DEFAULTS
names. A GenerationConfigError carries the field it is about, which every door names in its own terms."""

from __future__ import annotations

import pytest

from tinygpt.cli import eval_functions, eval_humaneval, eval_mbpp, eval_suite
from tinygpt.cli.eval_options import eval_config
from tinygpt.cli.generate import build_parser, config_from_args, option_message
from tinygpt.generate import DOOR_DEFAULTS, STRATEGY_DEFAULTS, decoding_config
from tinygpt.serve.schema import VERIFY_DOOR, GenerateRequest, VerifyRequest, generation_config, request_defaults
from tinygpt.tasks import verify as verify_module
from tinytorch.generation import LOOPS, STRATEGIES, GenerationConfig, GenerationConfigError

SAMPLING_ONLY = ("temperature", "top_k", "top_p", "min_p", "seed")


def argv_of(request: dict) -> list[str]:
    return [part for name, value in request.items() for part in ("--" + name.replace("_", "-"), str(value))]


def generate_door(request: dict) -> GenerationConfig:
    return config_from_args(build_parser().parse_args(["--prompt", "x", *argv_of(request)]))


def playground_door(request: dict) -> GenerationConfig:
    return generation_config(GenerateRequest(prompt="x", **request))


def eval_door(command) -> callable:
    return lambda request: eval_config(command.parse_args(argv_of(request)))


def humaneval_door(request: dict) -> GenerationConfig:
    """The pass@1 run (greedy, or beam search with --num-beams), or with sampling options the sampled run."""
    sampled = bool(request.keys() & set(SAMPLING_ONLY))
    args = eval_humaneval.parse_args([*argv_of(request), *(["--samples", "1"] if sampled else [])])
    return eval_config(args, "sample") if sampled else eval_config(args, sampling_options=False)


def functions_door(request: dict) -> GenerationConfig:
    return eval_functions.decoding(eval_functions.parse_args(argv_of(request)))


DOORS = {"generate": generate_door, "playground": playground_door, "eval-suite": eval_door(eval_suite),
         "eval-mbpp": eval_door(eval_mbpp), "eval-humaneval": humaneval_door, "eval-functions": functions_door}
# Each request, with max_new_tokens (and for sampling a seed) given, since those are where doors differ by design;
# the doors each request can be said at (eval-humaneval has no --strategy, eval-functions only --strategy and --seed).
REQUESTS = [
    ({"strategy": "beam", "num_beams": 3}, ("generate", "playground", "eval-suite", "eval-mbpp")),
    ({"num_beams": 3}, ("generate", "playground", "eval-suite", "eval-mbpp", "eval-humaneval")),
    ({"length_penalty": 0.5}, ("generate", "playground", "eval-suite", "eval-mbpp")),
    ({"temperature": 0.7, "seed": 5}, ("generate", "playground", "eval-suite", "eval-mbpp", "eval-humaneval")),
    ({"top_p": 0.9, "top_k": 20, "min_p": 0.05, "seed": 1}, ("generate", "playground", "eval-suite", "eval-mbpp")),
    ({"strategy": "sample", "seed": 2}, ("generate", "playground", "eval-suite", "eval-mbpp", "eval-functions")),
    ({"strategy": "greedy", "repetition_penalty": 1.1, "no_repeat_ngram_size": 3},
     ("generate", "playground", "eval-suite", "eval-mbpp")),
    ({"strategy": "greedy"}, tuple(door for door in DOORS if door != "eval-humaneval")),
]


@pytest.mark.parametrize("request_, doors", REQUESTS, ids=[" ".join(argv_of(r)) for r, _ in REQUESTS])
def test_one_request_gets_the_same_config_from_every_door(request_, doors):
    request_ = {**request_, "max_new_tokens": 32}
    expected = decoding_config(**request_)
    for door in doors:
        assert DOORS[door](request_) == expected, door


def test_a_request_that_leaves_everything_out_gets_its_doors_defaults():
    left_out = {door: make({}) for door, make in DOORS.items()}
    left_out["api"] = decoding_config(door="api")
    for door, config in left_out.items():
        defaults = DOOR_DEFAULTS[door]
        assert (config.strategy, config.max_new_tokens) == (defaults.strategy, defaults.max_new_tokens), door
        assert config == decoding_config(door=door), door
    assert decoding_config(door="api") == GenerationConfig()  # the API without a config: GenerationConfig's own
    assert left_out["generate"] == GenerationConfig(strategy="sample", max_new_tokens=128, temperature=0.8, top_p=0.95)
    assert request_defaults()["strategy"] == DOOR_DEFAULTS["playground"].strategy
    assert VerifyRequest(prompt="x").max_new_tokens == DOOR_DEFAULTS[VERIFY_DOOR].max_new_tokens


class Asked(Exception):
    pass


def test_verify_draws_its_candidates_from_the_builder(monkeypatch):
    asked = []

    def fake_generate(model, tokenizer, prompt, config, **options):
        asked.append(config)
        if len(asked) == 2:
            raise Asked
        return []  # no first candidate: the samples follow

    monkeypatch.setattr(verify_module, "generate", fake_generate)
    with pytest.raises(Asked):
        verify_module.verify(None, None, "def f(x):\n", 3, seed=7, run_code=False)
    first, sampled = asked
    assert first == decoding_config(door=VERIFY_DOOR)
    assert (first.strategy, first.max_new_tokens) == (DOOR_DEFAULTS[VERIFY_DOOR].strategy,
                                                      DOOR_DEFAULTS[VERIFY_DOOR].max_new_tokens)
    assert sampled == decoding_config("sample", first.max_new_tokens, num_return_sequences=2, seed=7)


def test_sampling_is_reproducible_by_default_only_where_a_door_says_so():
    request = {"temperature": 0.7}
    seeds = {door: DOORS[door](request).seed for door in ("generate", "playground", "eval-suite", "eval-mbpp")}
    assert seeds == {door: DOOR_DEFAULTS[door].seed for door in seeds} == {
        "generate": None, "playground": None, "eval-suite": 0, "eval-mbpp": 0}


def test_the_help_states_the_builders_defaults():
    text = " ".join(build_parser().format_help().split())
    for name, value in STRATEGY_DEFAULTS["sample"].items():
        assert f"--{name.replace('_', '-')} {name.upper()} sample:" in text and f"(default {value:g})" in text
    assert f"beams kept per prompt (default {STRATEGY_DEFAULTS['beam']['num_beams']})" in text
    for command, door in ((eval_suite, "eval-suite"), (eval_mbpp, "eval-mbpp"), (eval_humaneval, "eval-humaneval"),
                          (eval_functions, "eval-functions")):
        assert command.parse_args([]).max_new_tokens == DOOR_DEFAULTS[door].max_new_tokens, door
    assert build_parser().parse_args([]).max_new_tokens == DOOR_DEFAULTS["generate"].max_new_tokens


def test_every_strategy_has_its_loop():
    assert tuple(LOOPS) == STRATEGIES and set(STRATEGY_DEFAULTS) == set(STRATEGIES)


@pytest.mark.parametrize("settings, field", [
    (dict(strategy="sample", top_p=2.0), "top_p"),
    (dict(strategy="greedy", temperature=0.5), "temperature"),
    (dict(strategy="nucleus"), "strategy"),
    (dict(top_k=1.5), "top_k"),
    (dict(num_return_sequences=2), "num_return_sequences"),
])
def test_a_config_error_carries_its_field(settings, field):
    with pytest.raises(GenerationConfigError) as error:
        GenerationConfig(**settings)
    assert error.value.field == field


def test_each_door_names_the_field_from_the_error_not_its_message():
    with pytest.raises(GenerationConfigError) as error:
        decoding_config(max_new_tokens=0)
    assert error.value.field == "max_new_tokens"
    assert option_message(error.value) == "--max-new-tokens must be >= 1, got 0"
    assert option_message(GenerationConfigError("unknown strategy 'x'", "strategy")) == "unknown strategy 'x'"
    assert option_message(GenerationConfigError("top_p looks odd")) == "top_p looks odd"  # no field: as it is
    with pytest.raises(GenerationConfigError) as error:
        GenerationConfig(strategy="beam", num_beams=5000).check_memory(1, 2**20, 2**30)
    assert error.value.field == "num_beams" and option_message(error.value).startswith("--num-beams 5000 needs")
    with pytest.raises(GenerationConfigError) as error:
        GenerationConfig().check_memory(5000, 2**20, 2**30)
    assert error.value.field is None and str(error.value).startswith("a batch of 5000 prompts")
