"""Streaming: print the text of a sequence while it is being generated.

Tokens do not map one to one onto characters. A byte-level BPE token can hold half of a UTF-8 character, which
decodes to U+FFFD until the next token completes it; and a stop string can arrive spread over several tokens. So
the streamer decodes everything generated so far and prints only the part that can no longer change: it holds back
a trailing incomplete character and any ending that could still grow into a stop string, and it never prints the
stop string or the end-of-text token themselves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from .stopping import truncate_at_stop_string

__all__ = ["TextStreamer"]


def write_flushed(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


class TextStreamer:
    """Writes the growing text of a single sequence (batch of one) to `write` (default: stdout, flushed)."""

    def __init__(self, decode: Callable[[list[int]], str], write: Callable[[str], object] | None = None,
                 stop_strings: Sequence[str] = (), eos_token_id: int | None = None):
        self.decode = decode
        self.write = write or write_flushed
        self.stop_strings = list(stop_strings)
        self.eos_token_id = eos_token_id
        self.token_ids: list[int] = []
        self.printed = 0  # characters of the decoded text already written
        self.finished = False

    def put(self, tokens: np.ndarray) -> None:
        tokens = np.asarray(tokens).reshape(-1)
        if tokens.size != 1:
            raise ValueError(f"TextStreamer shows one sequence; got {tokens.size} per step")
        if self.finished:
            return
        if self.eos_token_id is not None and int(tokens[0]) == self.eos_token_id:
            self.end()  # the text is complete: what was held back is settled now
            return
        self.token_ids.append(int(tokens[0]))
        text, stop = truncate_at_stop_string(self.decode(self.token_ids), self.stop_strings)
        if stop is not None:
            self.finished = True
        else:
            text = self._settled(text)
        self._emit(text)

    def end(self) -> None:
        """Write whatever was held back (the generation is over, nothing can change any more)."""
        if not self.finished:
            text, _ = truncate_at_stop_string(self.decode(self.token_ids), self.stop_strings)
            self._emit(text)
            self.finished = True

    def _settled(self, text: str) -> str:
        """`text` without the ending that may still change: an incomplete character or a stop-string prefix."""
        text = text.rstrip("\ufffd")
        for stop in self.stop_strings:
            for size in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:size]):
                    text = text[:-size]
                    break
        return text

    def _emit(self, text: str) -> None:
        if len(text) > self.printed:
            self.write(text[self.printed:])
            self.printed = len(text)
