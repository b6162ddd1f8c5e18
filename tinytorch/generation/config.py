"""GenerationConfig: every decoding setting in one validated dataclass, and the logits processors it implies.

Three strategies:

    greedy  always the most likely next token (after the repetition processors); deterministic
    sample  draw the next token from the model's distribution, reshaped by temperature, top-k, top-p and min-p;
            reproducible with `seed`
    beam    keep the `num_beams` most likely partial sequences; deterministic; scores finished sequences by
            sum of log-probabilities / (generated tokens) ** length_penalty

Invalid settings raise `GenerationConfigError` naming the setting, its value and what was expected. Every number must
be finite, and the two that scale the logits are bounded (`SCALE_RANGE`): `logits / temperature` and the repetition
penalty's `logits / penalty` are float32, and a factor of 1e-50 turns them into infinities, then softmax into NaN.
Within [1e-4, 1e4] they stay finite for any logit below 1e34 in magnitude; below 1e-4, sampling is greedy decoding in
all but name (a logit gap of 0.01 becomes odds of e^100), above 1e4 every token is about as likely as any other.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields
from numbers import Integral, Real

from .logits_process import (
    LogitsProcessorList,
    MinPFilter,
    NoRepeatNGram,
    RepetitionPenalty,
    Temperature,
    TopKFilter,
    TopPFilter,
)

__all__ = ["SCALE_RANGE", "STRATEGIES", "STRATEGY_SETTINGS", "GenerationConfig", "GenerationConfigError"]

STRATEGIES = ("greedy", "sample", "beam")  # each decoded by its loop in `generate`'s LOOPS
# The settings that only one strategy reads, at their "off" values: set for another strategy, they are refused.
STRATEGY_SETTINGS = {"sample": {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "seed": None},
                     "beam": {"num_beams": 1, "length_penalty": 1.0, "early_stopping": False}}
INTEGERS = ("max_new_tokens", "no_repeat_ngram_size", "top_k", "num_beams", "num_return_sequences")
OPTIONAL_INTEGERS = ("eos_token_id", "seed")
NUMBERS = ("repetition_penalty", "temperature", "top_p", "min_p", "length_penalty")
SCALE_RANGE = (1e-4, 1e4)  # temperature and repetition_penalty (see the module docstring)
FLOAT32_MAX = 3.4028235e38
# Bytes of token bookkeeping per sequence and new token: int64 histories, kept in about 8 copies by beam search (its
# finished list, candidates and their merge) and 2 by greedy search and sampling.
BOOKKEEPING_BYTES = {"beam": 8 * 8, "sample": 2 * 8, "greedy": 2 * 8}


class GenerationConfigError(ValueError):
    """A decoding setting out of range. The message names it, and so does `field`: the GenerationConfig field to
    blame (None where no one setting is), for a caller that names it in its own terms (an option, a form field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class GenerationConfig:
    strategy: str = "greedy"
    max_new_tokens: int = 64
    eos_token_id: int | None = None  # end-of-text: a sequence that emits it is finished
    # repetition control (all strategies)
    repetition_penalty: float = 1.0  # 1 is off
    no_repeat_ngram_size: int = 0  # 0 is off
    # sampling
    temperature: float = 1.0
    top_k: int = 0  # 0 is off
    top_p: float = 1.0  # 1 is off
    min_p: float = 0.0  # 0 is off
    seed: int | None = None  # same seed, same samples
    # beam search
    num_beams: int = 1
    length_penalty: float = 1.0  # > 0 favours longer sequences, < 0 shorter ones
    early_stopping: bool | str = False  # True, False or "never": see beam.py
    num_return_sequences: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value)
        object.__setattr__(self, "_checked", False)  # a changed setting is checked again before it is used

    def validate(self) -> None:
        """Raise GenerationConfigError naming the first setting out of range. A config is checked when it is built,
        and again only after a setting changed: a config handed through several layers (the command line, tinygpt's
        `generate`, the decoding loop) is checked once."""
        if not self.__dict__.get("_checked"):
            self._check_all()
            object.__setattr__(self, "_checked", True)

    def with_eos(self, eos_token_id: int) -> GenerationConfig:
        """A copy that finishes each sequence at `eos_token_id`; the other settings stay as they were checked."""
        if isinstance(eos_token_id, bool) or not isinstance(eos_token_id, Integral) or eos_token_id < 0:
            raise GenerationConfigError(f"eos_token_id must be an integer >= 0, got {eos_token_id!r}", "eos_token_id")
        twin = copy.copy(self)
        object.__setattr__(twin, "eos_token_id", eos_token_id)
        return twin

    def _check_all(self) -> None:
        if self.strategy not in STRATEGIES:
            raise GenerationConfigError(f"unknown strategy {self.strategy!r}; expected one of {', '.join(STRATEGIES)}",
                                        "strategy")
        self._check_types()
        self._check(self.max_new_tokens >= 0, "max_new_tokens", "must be >= 0")
        self._check(self.repetition_penalty > 0, "repetition_penalty", "must be > 0 (1 is off)")
        self._check_scale("repetition_penalty",
                          "1 is off; smaller overflows float32, larger already rules a repeated token out")
        for name in OPTIONAL_INTEGERS:
            self._check(getattr(self, name) is None or getattr(self, name) >= 0, name, "must be >= 0")
        self._check(self.no_repeat_ngram_size >= 0, "no_repeat_ngram_size", "must be >= 0 (0 is off)")
        self._check(self.num_return_sequences >= 1, "num_return_sequences", "must be >= 1")
        for strategy, settings in STRATEGY_SETTINGS.items():
            self._check_only_for(strategy, settings)
        if self.strategy == "sample":
            self._check(self.temperature > 0, "temperature", "must be > 0 for sampling (use strategy greedy for 0)")
            self._check_scale("temperature", "lower is greedy decoding, higher makes every token equally likely")
            self._check(self.top_k >= 0, "top_k", "must be >= 0 (0 is off)")
            self._check(0 < self.top_p <= 1, "top_p", "must be in (0, 1]")
            self._check(0 <= self.min_p <= 1, "min_p", "must be in [0, 1]")
        if self.strategy == "beam":
            self._check(self.num_beams >= 1, "num_beams", "must be >= 1")
            self._check(self.early_stopping in (True, False, "never"), "early_stopping",
                        "must be True, False or 'never'")
            self._check(self.num_return_sequences <= self.num_beams, "num_return_sequences",
                        f"must be <= num_beams ({self.num_beams})")
            if self.max_new_tokens >= 2:  # scores are divided by (generated tokens) ** length_penalty in float32
                bound = math.log(FLOAT32_MAX) / math.log(self.max_new_tokens)
                self._check(abs(self.length_penalty) <= bound, "length_penalty",
                            f"must be within [-{bound:.3g}, {bound:.3g}] so that max_new_tokens ** length_penalty "
                            "stays finite in float32")
        if self.strategy == "greedy" and self.num_return_sequences != 1:
            raise GenerationConfigError(f"num_return_sequences={self.num_return_sequences}: greedy decoding gives "
                                        "one sequence per prompt; use strategy sample or beam for more",
                                        "num_return_sequences")

    def check_memory(self, batch: int, row_bytes: int, budget: int) -> None:
        """Refuse, before anything is allocated, settings whose working memory would exceed `budget` bytes.

        `batch` prompts become `batch * num_beams` sequences in beam search, `batch * num_return_sequences`
        otherwise. Each costs the model `row_bytes` (its KV cache, activations and logits; the decoder knows) plus the
        loop's token bookkeeping for up to max_new_tokens tokens. The error blames whichever term dominates."""
        per_sequence = self.num_beams if self.strategy == "beam" else self.num_return_sequences
        sequences = batch * per_sequence
        bookkeeping = BOOKKEEPING_BYTES[self.strategy] * self.max_new_tokens
        needed = sequences * (row_bytes + bookkeeping)
        if needed <= budget:
            return
        if bookkeeping > row_bytes:
            field, culprit = "max_new_tokens", f"max_new_tokens {self.max_new_tokens}"
        elif per_sequence > 1:
            field = "num_beams" if self.strategy == "beam" else "num_return_sequences"
            culprit = f"{field} {per_sequence}"
        else:
            field, culprit = None, f"a batch of {batch} prompts"
        raise GenerationConfigError(
            f"{culprit} needs about {needed / 2**30:.3g} GiB for {sequences:,} sequences of up to "
            f"{self.max_new_tokens:,} new tokens, more than the {budget / 2**30:.3g} GiB generation may use; "
            "lower it", field)

    def _check(self, ok: bool, name: str, expected: str) -> None:
        if not ok:
            raise GenerationConfigError(f"{name} {expected}, got {getattr(self, name)!r}", name)

    def _check_types(self) -> None:
        """Counts are integers; every other number is finite (NaN compares false with everything, so a NaN setting
        would slip through the range checks and reach the logits)."""
        for name in INTEGERS + OPTIONAL_INTEGERS:
            value = getattr(self, name)
            if value is None and name in OPTIONAL_INTEGERS:
                continue
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise GenerationConfigError(f"{name} must be an integer, got {value!r}", name)
        for name in NUMBERS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
                raise GenerationConfigError(f"{name} must be a finite number, got {value!r}", name)

    def _check_scale(self, name: str, note: str) -> None:
        low, high = SCALE_RANGE
        self._check(low <= getattr(self, name) <= high, name, f"must be in [{low:g}, {high:g}] ({note})")

    def _check_only_for(self, strategy: str, defaults: dict) -> None:
        if self.strategy == strategy:
            return
        for name, default in defaults.items():
            if getattr(self, name) != default:
                raise GenerationConfigError(f"{name}={getattr(self, name)!r} applies only to strategy {strategy!r}, "
                                            f"not {self.strategy!r}", name)

    def logits_processors(self) -> LogitsProcessorList:
        """The processors these settings imply, in Hugging Face's order."""
        processors = LogitsProcessorList()
        if self.repetition_penalty != 1.0:
            processors.append(RepetitionPenalty(self.repetition_penalty))
        if self.no_repeat_ngram_size > 0:
            processors.append(NoRepeatNGram(self.no_repeat_ngram_size))
        if self.strategy == "sample":
            if self.temperature != 1.0:
                processors.append(Temperature(self.temperature))
            if self.top_k > 0:
                processors.append(TopKFilter(self.top_k))
            if self.top_p < 1.0:
                processors.append(TopPFilter(self.top_p))
            if self.min_p > 0.0:
                processors.append(MinPFilter(self.min_p))
        return processors

    def __repr__(self) -> str:
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if getattr(self, f.name) != f.default]
        return f"GenerationConfig({', '.join(changed)})"
