"""Stopping criteria: when is a generated sequence finished?

A criterion is called as `criterion(generated) -> done`, where `generated` (N, t) holds the tokens generated so far
(the prompt left out) and `done` (N,) is a boolean array. The decoding loops add the length limit themselves
(`max_new_tokens`); these criteria cover the rest:

- `EndOfText`: the last token is the end-of-text token, the model's own way of saying "this file is done".
- `StopStrings`: the decoded text contains one of some strings (`"\\n\\n"`, `"\\nclass "`). Strings are matched on
  text, not tokens, because one string can be spelled by many different token sequences.
- any callable with the same signature, e.g. the end of a function body in `tinygpt.code_completion`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["EndOfText", "StopStrings", "StoppingCriteria", "any_done", "truncate_at_stop_string"]

StoppingCriteria = Callable[[np.ndarray], np.ndarray]


class EndOfText:
    """Done when the last generated token is `eos_token_id`."""

    def __init__(self, eos_token_id: int):
        self.eos_token_id = eos_token_id

    def __call__(self, generated: np.ndarray) -> np.ndarray:
        if generated.shape[1] == 0:
            return np.zeros(generated.shape[0], dtype=bool)
        return generated[:, -1] == self.eos_token_id

    def __repr__(self) -> str:
        return f"EndOfText({self.eos_token_id})"


class StopStrings:
    """Done when the decoded generated text contains any of `stop_strings`. `decode` maps token ids to text."""

    def __init__(self, stop_strings: Sequence[str], decode: Callable[[list[int]], str]):
        if any(not stop for stop in stop_strings):
            raise ValueError(f"stop strings must be non-empty, got {list(stop_strings)!r}")
        self.stop_strings = list(stop_strings)
        self.decode = decode

    def __call__(self, generated: np.ndarray) -> np.ndarray:
        texts = [self.decode(row.tolist()) for row in generated]
        return np.array([any(stop in text for stop in self.stop_strings) for text in texts], dtype=bool)

    def __repr__(self) -> str:
        return f"StopStrings({self.stop_strings!r})"


def any_done(criteria: Sequence[StoppingCriteria], generated: np.ndarray) -> np.ndarray:
    """(N,) True where any criterion says the row is finished."""
    done = np.zeros(generated.shape[0], dtype=bool)
    for criterion in criteria:
        done |= criterion(generated)
    return done


def truncate_at_stop_string(text: str, stop_strings: Sequence[str]) -> tuple[str, str | None]:
    """Cut `text` before the earliest stop string; returns (text, the stop string found or None)."""
    found = [(text.find(stop), stop) for stop in stop_strings if stop in text]
    if not found:
        return text, None
    position, stop = min(found)
    return text[:position], stop
