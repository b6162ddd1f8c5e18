"""Generate Python with a trained TinyGPT: the `generate(model, tokenizer, prompt, ...)` API.

    model, tokenizer = load_generator("models/tinygpt-finish/model.safetensors")
    completion = generate(model, tokenizer, "def fibonacci(n):", GenerationConfig(strategy="greedy"))[0]
    print(completion.prompt + completion.text)

The command line around it, `tinygpt generate`, is `tinygpt/cli/generate.py`.

How a prompt is read:
- It starts after an end-of-text token, which is what the model saw at the start of each training file, so the
  prompt reads as the beginning of a file. An empty prompt is therefore allowed in the API (and with
  `--unconditional` on the command line): the model starts a new file from end-of-text alone.
- A prompt whose last line is a comment or a docstring gets a newline, so the model answers it with code
  (`# return the largest of three numbers`).
- Token healing: the prompt's last token is given back to the model, which regenerates it under the constraint
  that it spell the same text (or more). Without this, a prompt ending in a newline would end in a bare newline
  token, which in training only ever preceded an unindented line (indentation is merged into the newline token),
  and the model could never write an indented body after `def f(x):\n`. `Completion.prompt` is the prompt without
  that last token; `prompt + text` is the whole document.

A decoding request becomes a GenerationConfig in one builder, `decoding_config`, whichever door it comes in by (the
command line, the playground, the evaluations, verify): it owns the defaults (STRATEGY_DEFAULTS for every door,
DOOR_DEFAULTS where a door differs, and why) and checks the request once.

The decoding itself (processors, greedy, sampling, beam search, KV cache) lives in `tinytorch.generation`; this
module connects it to a GPT and a tokenizer and adds code-aware stopping (`complete_function`, see
`code_completion.py`). Bad input raises `GenerateError` (a checkpoint or tokenizer that cannot be read) or
`tinytorch.generation.GenerationConfigError` (a setting out of range), each with a one-line message for a person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinytorch as tt
from tinygpt.checkpoint import CheckpointError, load_model
from tinygpt.code_completion import FunctionBlock, FunctionEnd, extract_function, prepare_prompt
from tinygpt.model import GPT
from tinytorch.generation import (
    STRATEGY_SETTINGS,
    BeamTrace,
    Decoder,
    DecodingTrace,
    FirstTokenPrefix,
    GenerationConfig,
    GenerationConfigError,
    GenerationError,
    StopStrings,
    TextStreamer,
    VocabularyLimit,
    truncate_at_stop_string,
)
from tinytorch.generation import generate as generate_ids
from tinytorch.text import END_OF_TEXT, load_tokenizer

__all__ = ["DEFAULT_CHECKPOINT", "DOOR_DEFAULTS", "STRATEGY_DEFAULTS", "Completion", "DoorDefaults", "GenerateError",
           "chosen_strategy", "decoding_config", "encode_prompt", "end_of_text_id", "generate", "gpt_decoder",
           "load_generator", "make_completion"]

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPOSITORY / "models" / "tinygpt-finish" / "model.safetensors"  # the shipped model, any cwd


class GenerateError(ValueError):
    """Bad input to generation (checkpoint, tokenizer, prompt, settings); the message is one line for a person."""


# ---- the decoding request: one builder for every door a request comes in by -------------------------------------
# A strategy's settings left out, the same at every door: sampling is top-p 0.95 at temperature 0.8, beam search
# keeps 4 beams; every other setting left out is GenerationConfig's own (off).
STRATEGY_DEFAULTS = {"greedy": {}, "sample": {"temperature": 0.8, "top_p": 0.95}, "beam": {"num_beams": 4}}


@dataclass(frozen=True)
class DoorDefaults:
    """What a request that leaves a setting out gets at one door."""

    strategy: str  # when the request names none and gives no setting that only one strategy reads
    max_new_tokens: int
    seed: int | None = None  # sampling's seed when none is given; None draws afresh each time


# Where a door's defaults differ from another's, the comment says why.
DOOR_DEFAULTS = {
    "api": DoorDefaults("greedy", 64),  # `generate` without a config: GenerationConfig's own defaults
    "generate": DoorDefaults("sample", 128),  # `tinygpt generate`: a person reads varied completions, a screenful
    "playground": DoorDefaults("sample", 64),  # streamed to a browser: 64 tokens keep the page responsive
    "verify": DoorDefaults("greedy", 128),  # the first candidate is deterministic; verify draws the samples after it
    "eval-suite": DoorDefaults("greedy", 128, seed=0),  # a measurement repeats exactly; suite bodies are short
    "eval-mbpp": DoorDefaults("greedy", 256, seed=0),  # MBPP's solutions run longer than the suite's
    "eval-humaneval": DoorDefaults("greedy", 256, seed=0),  # and so do HumanEval's
    "eval-functions": DoorDefaults("greedy", 256, seed=0),  # a held-out function's whole body
}


def chosen_strategy(strategy: str | None, settings: dict, door: str = "generate") -> str:
    """The strategy a request decodes with: the one it names, else the one whose own settings it gives
    (`STRATEGY_SETTINGS`, sampling's first; None is a setting left out), else its door's."""
    if strategy is not None:
        return strategy
    given = {name for name, value in settings.items() if value is not None}
    owner = next((name for name, own in STRATEGY_SETTINGS.items() if given & own.keys()), None)
    return owner or door_defaults(door).strategy


def door_defaults(door: str) -> DoorDefaults:
    if door not in DOOR_DEFAULTS:
        raise ValueError(f"unknown door {door!r}; expected one of {', '.join(DOOR_DEFAULTS)}")
    return DOOR_DEFAULTS[door]


def decoding_config(strategy: str | None = None, max_new_tokens: int | None = None, *, door: str = "generate",
                    **settings) -> GenerationConfig:
    """The GenerationConfig a request asks for, whichever door (a key of DOOR_DEFAULTS) it came in by: `settings` are
    GenerationConfig fields, None meaning left out. The strategy is `chosen_strategy`'s; a setting left out is the
    strategy's default (STRATEGY_DEFAULTS), the door's token limit and, where the strategy reads a seed, the door's
    seed. Checked here, once: GenerationConfigError names the setting that is out of range (its `field`)."""
    defaults = door_defaults(door)
    strategy = chosen_strategy(strategy, settings, door)
    max_new_tokens = defaults.max_new_tokens if max_new_tokens is None else max_new_tokens
    if isinstance(max_new_tokens, int) and not isinstance(max_new_tokens, bool) and max_new_tokens < 1:
        # 0 would give back the prompt without the last token, which token healing took to regenerate it
        raise GenerationConfigError(f"max_new_tokens must be >= 1, got {max_new_tokens}", "max_new_tokens")
    given = {name: value for name, value in settings.items() if value is not None}
    if "seed" in STRATEGY_SETTINGS.get(strategy, {}) and "seed" not in given and defaults.seed is not None:
        given["seed"] = defaults.seed
    return GenerationConfig(**{"strategy": strategy, "max_new_tokens": max_new_tokens,
                               **STRATEGY_DEFAULTS.get(strategy, {}), **given})


@dataclass
class Completion:
    """One generated continuation.

    prompt: the prompt as the model read it (see token healing above); text: what the model added, without
    end-of-text or stop string;
    finish_reason: "end_of_text", "stop_string", "function_end" or "length"; score: beam search only;
    function: with complete_function, the completed block (None if the model wrote no def or class).
    """

    prompt: str
    text: str
    tokens: list[int]
    finish_reason: str
    score: float | None = None
    function: FunctionBlock | None = None


@dataclass
class EncodedPrompt:
    text: str  # the prompt the model continues: without the healed token
    ids: list[int]  # end-of-text, then the tokens of `text`
    healed: str  # the text of the last token, which the model regenerates ("" if none)


def end_of_text_id(tokenizer) -> int:
    return tokenizer.special_tokens[END_OF_TEXT]


def encode_prompt(tokenizer, prompt: str) -> EncodedPrompt:
    """Encode a prompt after end-of-text and take its last token back for healing (unless it is not plain text)."""
    ids = [end_of_text_id(tokenizer)] + tokenizer.encode(prompt, allow_special=False)
    last = tokenizer.decode(ids[-1:]) if len(ids) > 1 else ""
    if not last or "\ufffd" in last or not prompt.endswith(last):
        return EncodedPrompt(prompt, ids, "")
    return EncodedPrompt(prompt[:-len(last)], ids[:-1], last)


def healing_constraint(tokenizer, encoded: EncodedPrompt) -> list[FirstTokenPrefix]:
    """The first generated token must spell the healed text, possibly followed by more."""
    if not encoded.healed:
        return []
    special = set(tokenizer.special_tokens.values())
    allowed = [token for token in range(tokenizer.vocab_size)
               if token not in special and tokenizer.decode([token]).startswith(encoded.healed)]
    return [FirstTokenPrefix(np.array(allowed), len(encoded.ids))]


def load_generator(checkpoint: str | Path, tokenizer_path: str | Path | None = None):
    """(model in eval mode, tokenizer). The tokenizer defaults to `tokenizer.json` next to the checkpoint, then to
    the file the checkpoint's metadata names; one given explicitly must be the one the checkpoint records (its
    SHA-256). Raises GenerateError naming the file and the problem."""
    checkpoint = Path(checkpoint)
    try:
        model, document, _ = load_model(checkpoint, tokenizer_path)
    except CheckpointError as err:
        hint = ""
        if not checkpoint.exists():
            hint = "; train one with `python train.py configs/mixture.json` or pass --checkpoint PATH"
        raise GenerateError(f"{err}{hint}") from None
    model.eval()
    check_finite_weights(model, checkpoint)
    candidates = [Path(tokenizer_path)] if tokenizer_path else [checkpoint.with_name("tokenizer.json")]
    named = document.get("tokenizer")
    if tokenizer_path is None and isinstance(named, str):
        candidates.append(Path(named))
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise GenerateError(f"no tokenizer found (looked for {', '.join(map(str, candidates))}); pass --tokenizer")
    try:
        tokenizer = load_tokenizer(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise GenerateError(f"cannot read tokenizer {path}: {err}") from None
    if tokenizer.vocab_size > model.config.vocab_size or END_OF_TEXT not in tokenizer.special_tokens:
        raise GenerateError(f"tokenizer {path} ({tokenizer.vocab_size} tokens) does not fit the checkpoint "
                            f"({model.config.vocab_size} tokens) or lacks {END_OF_TEXT}")
    return model, tokenizer


def check_finite_weights(model: GPT, checkpoint: Path) -> None:
    """A diverged training run can leave NaN or infinite weights; such a model's logits are NaN from the first
    token, so refuse it at once, naming the first broken tensor."""
    for name, parameter in model.named_parameters():
        if not np.isfinite(parameter.data).all():
            raise GenerationError(f"checkpoint {checkpoint}: weight {name} holds NaN or infinity (the training run "
                                  "that wrote it diverged); use an earlier checkpoint")


def decoding_row_bytes(model: GPT) -> int:
    """Memory one sequence costs while `model` decodes it, an upper bound in bytes (float32): its KV cache at full
    context (2 x n_layer x block_size x n_embd), one layer's attention scores and MLP activations when a full window
    is prefilled (n_head x block_size^2 + 8 x block_size x n_embd), and the copies of its next-token scores that the
    search loops make (about 8 x vocab_size)."""
    c = model.config
    kv_cache = 2 * c.n_layer * c.block_size * c.n_embd
    prefill = c.n_head * c.block_size ** 2 + 8 * c.block_size * c.n_embd
    return 4 * (kv_cache + prefill + 8 * c.vocab_size)


def gpt_decoder(model: GPT, use_cache: bool = True) -> Decoder:
    """A `tinytorch.generation.Decoder` stepping `model`: last-position logits, KV cache on by default."""

    def step(tokens: np.ndarray, kv_caches: list | None) -> np.ndarray:
        with tt.no_grad():
            if kv_caches is None:  # the whole window again, as training reads it
                return model(tokens, last_only=True)[0].data[:, -1, :]
            return model.decode(tokens, kv_caches, last_only=True)[:, -1, :]

    return Decoder(step, model.config.block_size, model.new_kv_caches, use_cache=use_cache,
                   vocab_size=model.config.vocab_size, row_bytes=decoding_row_bytes(model))


def generate(model: GPT, tokenizer, prompts: str | Sequence[str], config: GenerationConfig | None = None, *,
             stop_strings: Sequence[str] = (), complete_function: bool = False,
             stream: Callable[[str], object] | None = None, use_cache: bool = True,
             trace: DecodingTrace | BeamTrace | None = None,
             on_token: Callable[[int], object] | None = None) -> list[Completion]:
    """Continue each prompt; returns `config.num_return_sequences` completions per prompt, prompt by prompt. Without
    a config: the "api" door's defaults (greedy, 64 tokens).

    Prompts with the same number of tokens run as one batch (rows of a batch must line up position by position);
    with `complete_function` each prompt runs alone, because the end of a function depends on its own prompt.
    `stream` (one prompt, one sequence, not beam search, not complete_function) receives text as it is generated;
    `trace` (one prompt) records every step: a DecodingTrace the candidates after each logits processor, a
    BeamTrace (beam search) the beams, their extensions, which were kept and which pruned.
    `on_token` (one prompt, one sequence, not beam search) is called with each token id as soon as it is chosen,
    the end-of-text that may finish the sequence included, after `trace` has recorded its step; an exception it
    raises stops the generation and propagates (a web client that went away).
    Invalid settings raise `tinytorch.generation.GenerationConfigError`; a model whose logits are not finite,
    `tinytorch.generation.GenerationError`. Ids beyond the tokenizer's vocabulary (a padded embedding table) are
    never generated.
    """
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    encoded = [encode_prompt(tokenizer, prepare_prompt(prompt)) for prompt in prompts]
    eot = end_of_text_id(tokenizer)
    config = (config or decoding_config(door="api")).with_eos(eot)  # checked when it was built
    if stream is not None and (len(encoded) != 1 or config.num_return_sequences != 1 or complete_function):
        raise ValueError("streaming shows a single sequence: one prompt, one return sequence, no complete_function")
    if trace is not None and len(encoded) != 1:
        raise ValueError("a decoding trace follows a single prompt")
    if on_token is not None and (len(encoded) != 1 or config.num_return_sequences != 1):
        raise ValueError("on_token follows a single sequence: one prompt, one return sequence")
    groups: dict[object, list[int]] = {}  # prompts that can share a batch: same length, same healed token
    for index, prompt in enumerate(encoded):
        groups.setdefault(index if complete_function else (len(prompt.ids), prompt.healed), []).append(index)

    decoder = gpt_decoder(model, use_cache)
    decodable = [VocabularyLimit(tokenizer.vocab_size)] if tokenizer.vocab_size < model.config.vocab_size else []
    results: list[list[Completion]] = [[] for _ in encoded]
    for indices in groups.values():
        first = encoded[indices[0]]
        criteria = [StopStrings(stop_strings, tokenizer.decode)] if stop_strings else []
        if complete_function:
            criteria.append(FunctionEnd(first.text, tokenizer.decode))
        streamer = None if stream is None else TextStreamer(tokenizer.decode, stream, stop_strings, eot)
        if on_token is not None:
            streamer = TokenCallback(on_token, trace, streamer)
        prompt_ids = np.array([encoded[i].ids for i in indices], dtype=np.int64)
        constraints = decodable + healing_constraint(tokenizer, first)
        output = generate_ids(decoder, prompt_ids, config, criteria, streamer, constraints, trace)
        for row, tokens in enumerate(output.tokens):
            index = indices[row // config.num_return_sequences]
            score = None if output.scores is None else output.scores[row]
            results[index].append(
                make_completion(encoded[index].text, tokens, tokenizer, eot, stop_strings, complete_function, score))
    return [completion for per_prompt in results for completion in per_prompt]


class TokenCallback:
    """A streamer that settles the trace's step, calls `on_token` with the chosen token, then feeds `inner`."""

    def __init__(self, on_token: Callable[[int], object], trace: DecodingTrace | None, inner: TextStreamer | None):
        self.on_token, self.trace, self.inner = on_token, trace, inner

    def put(self, tokens: np.ndarray) -> None:
        token = int(np.asarray(tokens).reshape(-1)[0])
        if self.trace is not None:
            self.trace.settle(token)
        self.on_token(token)
        if self.inner is not None:
            self.inner.put(tokens)

    def end(self) -> None:
        if self.inner is not None:
            self.inner.end()


def make_completion(prompt: str, tokens: list[int], tokenizer, eot: int, stop_strings: Sequence[str],
                    complete_function: bool, score: float | None) -> Completion:
    """Decode a generated token list, cut it at a stop string, and extract the function if asked."""
    ended_by_eot = bool(tokens) and tokens[-1] == eot
    text, stop = truncate_at_stop_string(tokenizer.decode(tokens[:-1] if ended_by_eot else tokens), stop_strings)
    reason = "end_of_text" if ended_by_eot else "stop_string" if stop is not None else "length"
    function = None
    if complete_function:
        function = extract_function(prompt, text, end_of_file=ended_by_eot or stop is not None)
        if function is not None and function.ended and reason == "length":
            reason = "function_end"
    return Completion(prompt, text, tokens, reason, score, function)
