"""What the playground accepts: the request bodies, the server's limits, and how a request becomes the very
`GenerationConfig` that `tinygpt generate` would build from the same options.

Three layers of checking, each answering HTTP 422 with `detail[i].loc` naming the field (FastAPI's format):

    types        pydantic, strict: a number is a JSON number, a flag is true or false, unknown fields are refused
    caps         the server's `Limits` (prompt length, max_new_tokens, beams, return sequences, stop strings)
    ranges       `GenerationConfig`'s own checks, reached through the one builder, `tinygpt.generate.decoding_config`,
                 as `tinygpt generate` reaches them, so a setting means in the playground exactly what the option
                 means on the command line; the error's `field` names the field ("top_p must be in (0, 1], got 2.0")

A null field is a setting left out: the builder fills in the same defaults as for the command line (the strategy
whose settings are given, else sample; sample: temperature 0.8, top_p 0.95; beam: num_beams 4), at the playground's
door (DOOR_DEFAULTS: fewer tokens by default, to stay responsive).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from tinygpt.generate import DOOR_DEFAULTS, decoding_config
from tinytorch.generation import STRATEGIES, GenerationConfig, GenerationConfigError

__all__ = ["DOOR", "VERIFY_DOOR", "AttentionRequest", "GenerateRequest", "Limits", "VerifyRequest", "check_caps",
           "check_verify_caps", "field_error", "generation_config", "request_defaults", "strategy_defaults"]

DOOR, VERIFY_DOOR = "playground", "verify"  # the doors of /api/generate and /api/verify in generate.DOOR_DEFAULTS


@dataclass(frozen=True)
class Limits:
    """What one request may ask of this server; `tinygpt serve` sets the first three from its options."""

    max_new_tokens: int = 512
    max_prompt_chars: int = 8000
    request_timeout_s: float = 60.0  # from the moment the request is accepted, waiting in the queue included
    max_num_beams: int = 8
    max_return_sequences: int = 8
    max_stop_strings: int = 8
    max_stop_chars: int = 64  # per stop string
    max_verify_candidates: int = 16  # completions one /api/verify request may try
    max_uncached_tokens: int = 64  # tokens a request may generate without the KV cache (see `check_caps`)
    explain_top: int = 10  # candidates per processor stage in each token event
    max_queue: int = 16  # requests that may wait while another runs; beyond that, 503

    def __post_init__(self):
        for limit in fields(self):
            value = getattr(self, limit.name)
            least = 0 if limit.name == "max_queue" else 1
            if limit.name == "request_timeout_s":
                if not (math.isfinite(value) and value > 0):
                    raise ValueError(f"Limits: request_timeout_s must be a finite number > 0, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"Limits: {limit.name} must be an integer >= {least}, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class GenerateRequest(BaseModel):
    """POST /api/generate (and /api/compare-cache). null = the option left out of `tinygpt generate`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str
    strategy: Literal[STRATEGIES] | None = None
    max_new_tokens: int = DOOR_DEFAULTS[DOOR].max_new_tokens
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    no_repeat_ngram_size: int | None = None
    num_beams: int | None = None
    length_penalty: float | None = None
    early_stopping: Literal[True, False, "never"] | None = None
    num_return_sequences: int | None = None
    seed: int | None = None
    complete_function: bool = False
    stop: list[str] = Field(default_factory=list)
    use_cache: bool = True
    client_id: str | None = Field(default=None, max_length=200)


class VerifyRequest(BaseModel):
    """POST /api/verify: `tinygpt generate --verify CANDIDATES [--tests FILE]` for one function. `tests` are asserts
    (null: the `>>>` examples in the prompt's docstring; without any, the structural checks of
    `tinygpt.tasks.verify`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str
    candidates: int = Field(default=10, ge=1)
    tests: str | None = None
    max_new_tokens: int = Field(default=DOOR_DEFAULTS[VERIFY_DOOR].max_new_tokens, ge=1)
    seed: int = 0
    client_id: str | None = Field(default=None, max_length=200)


class AttentionRequest(BaseModel):
    """POST /api/attention: the token ids to run through the model (1 to block_size of them)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tokens: list[int]


def field_error(message: str, *loc: str | int) -> RequestValidationError:
    """A 422 in FastAPI's own format, naming the field at `loc` (under the request body)."""
    return RequestValidationError([{"loc": ("body", *loc), "msg": message, "type": "value_error"}])


def surrogate_problem(text: str) -> str | None:
    """Why `text` is not text the tokenizer can encode, or None: JSON can carry a lone surrogate (`"\\ud800"`),
    which has no UTF-8 form."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return (f"holds a lone surrogate (U+{ord(text[err.start]):04X} at character {err.start}), which is not text; "
                "send valid Unicode")
    return None


def check_caps(request: GenerateRequest, limits: Limits, comparing: bool = False) -> None:
    """Refuse what is over this server's limits or is not text, every field at once; raises
    RequestValidationError.

    The work of one request is bounded so that nobody waits long behind it: without the KV cache every token
    re-reads the whole window (a full forward pass per token instead of one position), so a request with
    `use_cache` false, and a cache comparison (`comparing`: its second run has no cache), may ask for at most
    `limits.max_uncached_tokens` tokens."""
    errors = []

    def refuse(message: str, *loc: str | int) -> None:
        errors.append({"loc": ("body", *loc), "msg": message, "type": "value_error"})

    for text, loc in [(request.prompt, ("prompt",)), *((stop, ("stop", i)) for i, stop in enumerate(request.stop))]:
        if problem := surrogate_problem(text):
            refuse(f"{loc[0]} {problem}", *loc)
    if len(request.prompt) > limits.max_prompt_chars:
        refuse(f"prompt has {len(request.prompt):,} characters; this server takes at most "
               f"{limits.max_prompt_chars:,} (tinygpt serve --max-prompt-chars)", "prompt")
    for name, cap, option in (("max_new_tokens", limits.max_new_tokens, " (tinygpt serve --max-new-tokens-cap)"),
                              ("num_beams", limits.max_num_beams, ""),
                              ("num_return_sequences", limits.max_return_sequences, "")):
        value = getattr(request, name)
        if value is not None and value > cap:
            refuse(f"{name} {value:,} is over this server's cap of {cap:,}{option}", name)
    uncached = comparing or not request.use_cache
    if uncached and request.max_new_tokens > limits.max_uncached_tokens:
        what = "a comparison runs once without the KV cache" if comparing else "use_cache is false"
        refuse(f"max_new_tokens {request.max_new_tokens:,} is over this server's cap of {limits.max_uncached_tokens} "
               f"tokens without the KV cache ({what}; each such token re-runs the whole window)", "max_new_tokens")
    if len(request.stop) > limits.max_stop_strings:
        refuse(f"{len(request.stop)} stop strings; this server takes at most {limits.max_stop_strings}", "stop")
    for index, stop in enumerate(request.stop):
        if not stop:
            refuse("stop strings must not be empty", "stop", index)
        elif len(stop) > limits.max_stop_chars:
            refuse(f"stop string of {len(stop)} characters; at most {limits.max_stop_chars}", "stop", index)
    if errors:
        raise RequestValidationError(errors)


def check_verify_caps(request: VerifyRequest, limits: Limits) -> None:
    """Refuse a verify request over this server's limits, every field at once; raises RequestValidationError."""
    errors = []
    for name, value, cap in (("prompt", len(request.prompt), limits.max_prompt_chars),
                             ("tests", len(request.tests or ""), limits.max_prompt_chars),
                             ("max_new_tokens", request.max_new_tokens, limits.max_new_tokens),
                             ("candidates", request.candidates, limits.max_verify_candidates)):
        if value > cap:
            unit = " characters" if name in ("prompt", "tests") else ""
            errors.append({"loc": ("body", name), "msg": f"{name} is {value:,}{unit}; this server takes at most "
                                                         f"{cap:,}", "type": "value_error"})
    for name, text in (("prompt", request.prompt), ("tests", request.tests or "")):
        if problem := surrogate_problem(text):
            errors.append({"loc": ("body", name), "msg": f"{name} {problem}", "type": "value_error"})
    if errors:
        raise RequestValidationError(errors)


def generation_config(request: GenerateRequest) -> GenerationConfig:
    """The GenerationConfig of `tinygpt generate` with the same options (`tinygpt.generate.decoding_config`, at the
    playground's door). Raises RequestValidationError naming the field when a setting is out of range."""
    names = ("max_new_tokens", "strategy", "temperature", "top_k", "top_p", "min_p", "seed", "repetition_penalty",
             "no_repeat_ngram_size", "num_beams", "length_penalty", "num_return_sequences", "early_stopping")
    try:
        return decoding_config(**{name: getattr(request, name) for name in names}, door=DOOR)
    except GenerationConfigError as err:
        raise field_error(str(err), *([err.field] if err.field in names else [])) from None


def request_defaults() -> dict:
    """The value of every optional field of a generate request when it is left out; the strategy is the one a
    request that gives no strategy's settings decodes with."""
    defaults = {name: field.get_default(call_default_factory=True)
                for name, field in GenerateRequest.model_fields.items() if not field.is_required()}
    return {**defaults, "strategy": DOOR_DEFAULTS[DOOR].strategy}


def strategy_defaults() -> dict:
    """For each strategy, the settings a request that leaves everything out decodes with (from decoding_config)."""
    result = {}
    for strategy in STRATEGIES:
        config = generation_config(GenerateRequest(prompt="", strategy=strategy))
        result[strategy] = {name: value for name, value in asdict(config).items() if name != "eos_token_id"}
    return result
