"""The decoding loop for greedy search and sampling.

One step of the loop, for every row of the batch at once:

    logits (B, V) -> logits processors -> pick a token (argmax, or a draw from softmax) -> append it
    -> mark rows that are finished (end-of-text, stop string, ...) -> feed the new tokens to the model

A finished row keeps receiving the pad token (the end-of-text token) so the batch stays rectangular, exactly as
Hugging Face's `generate` does; its output ends at the token that finished it.

Before a token is picked, the scores of every open row must offer a choice: no NaN, and at least one token not ruled
out (-inf). Otherwise argmax and the sampler would both return token 0 whatever the model meant, so the loop stops
with a `GenerationError` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .config import GenerationConfig
from .decoder import Decoder, GenerationError
from .explain import BeamTrace, DecodingTrace
from .logits_process import LogitsProcessorList, softmax
from .stopping import StoppingCriteria, any_done

__all__ = ["GenerationOutput", "Streamer", "check_scores", "run_search", "sample_or_greedy", "sample_tokens"]


class Streamer(Protocol):
    """Receives each step's tokens as soon as they are chosen: `put(tokens (N,))`, then `end()` once."""

    def put(self, tokens: np.ndarray) -> None: ...

    def end(self) -> None: ...


@dataclass
class GenerationOutput:
    """What a decoding loop produced, one entry per returned sequence (prompt i's sequences are consecutive).

    tokens: the generated tokens, prompt excluded, up to and including the token that finished the sequence.
    finish_reasons: "stop" (end-of-text or a stopping criterion) or "length" (max_new_tokens ran out).
    scores: beam search only: sum of token log-probabilities / (generated tokens) ** length_penalty.
    """

    tokens: list[list[int]]
    finish_reasons: list[str]
    scores: list[float] | None = None


def sample_tokens(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row drawn from `probs` (N, V) by inverting the cumulative distribution."""
    cumulative = np.cumsum(probs, axis=-1, dtype=np.float64)
    draws = (1.0 - rng.random(probs.shape[0])) * cumulative[:, -1]  # in (0, total]: never a zero-probability token
    return np.minimum((cumulative < draws[:, None]).sum(axis=-1), probs.shape[-1] - 1)


def check_scores(scores: np.ndarray, step: int) -> None:
    """Raise GenerationError unless every row of `scores` (N, V) is free of NaN and +inf and rules out (-inf) fewer
    than all tokens. `step` counts generated tokens, for the message."""
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise GenerationError(f"the scores for generated token {step + 1} hold NaN or +inf after the logits "
                              "processors; the model's logits were finite, so a processor's setting is to blame")
    if np.isneginf(scores).all(axis=-1).any():
        raise GenerationError(f"every token is ruled out for generated token {step + 1}: the constraints and "
                              "filters leave nothing to choose")


def sample_or_greedy(decoder: Decoder, prompts: np.ndarray, config: GenerationConfig,
                     processors: LogitsProcessorList, criteria: Sequence[StoppingCriteria],
                     streamer: Streamer | None = None) -> GenerationOutput:
    """Greedy search (`config.strategy == "greedy"`) or sampling, `num_return_sequences` rows per prompt."""
    rows = np.repeat(prompts, config.num_return_sequences, axis=0)  # (N, T), copies of a prompt side by side
    rng = np.random.default_rng(config.seed)
    pad = config.eos_token_id if config.eos_token_id is not None else 0
    sequences = rows
    unfinished = np.ones(len(rows), dtype=bool)
    lengths = np.full(len(rows), config.max_new_tokens)
    logits = decoder.start(rows) if config.max_new_tokens > 0 else None
    for step in range(config.max_new_tokens):
        scores = processors(sequences, logits)
        check_scores(scores[unfinished], step)
        if config.strategy == "sample":
            next_tokens = sample_tokens(softmax(scores), rng)
        else:
            next_tokens = scores.argmax(axis=-1)
        next_tokens = np.where(unfinished, next_tokens, pad)
        sequences = np.concatenate([sequences, next_tokens[:, None]], axis=1)
        open_rows = np.flatnonzero(unfinished)
        just_finished = open_rows[any_done(criteria, sequences[open_rows, prompts.shape[1]:])]
        unfinished[just_finished] = False
        lengths[just_finished] = step + 1
        if streamer is not None:
            streamer.put(next_tokens)
        if not unfinished.any() or step + 1 == config.max_new_tokens:
            break
        logits = decoder.advance(next_tokens)
    if streamer is not None:
        streamer.end()
    generated = sequences[:, prompts.shape[1]:]
    return GenerationOutput(
        tokens=[row[:length].tolist() for row, length in zip(generated, lengths)],
        finish_reasons=["length" if still_open else "stop" for still_open in unfinished],
    )


def run_search(decoder: Decoder, prompts: np.ndarray, config: GenerationConfig, processors: LogitsProcessorList,
               criteria: Sequence[StoppingCriteria], streamer: Streamer | None,
               trace: DecodingTrace | BeamTrace | None) -> GenerationOutput:
    """`generate`'s loop for greedy search and sampling: `sample_or_greedy`, followed step by step by a DecodingTrace
    (it sees the scores after each processor) when one is given."""
    if isinstance(trace, BeamTrace):
        raise ValueError("a BeamTrace follows beam search; greedy search and sampling take a DecodingTrace")
    if trace is None:
        return sample_or_greedy(decoder, prompts, config, processors, criteria, streamer)
    output = sample_or_greedy(decoder, prompts, config, trace.wrap(processors), criteria, streamer)
    trace.finish(output.tokens[trace.row])
    return output
