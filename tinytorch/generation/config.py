"""GenerationConfig: every decoding setting in one validated dataclass, and the logits processors it implies.

Three strategies:

    greedy  always the most likely next token (after the repetition processors); deterministic
    sample  draw the next token from the model's distribution, reshaped by temperature, top-k, top-p and min-p;
            reproducible with `seed`
    beam    keep the `num_beams` most likely partial sequences; deterministic; scores finished sequences by
            sum of log-probabilities / (generated tokens) ** length_penalty

Invalid settings raise `GenerationConfigError` naming the setting, its value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .logits_process import (
    LogitsProcessorList,
    MinPFilter,
    NoRepeatNGram,
    RepetitionPenalty,
    Temperature,
    TopKFilter,
    TopPFilter,
)

__all__ = ["STRATEGIES", "GenerationConfig", "GenerationConfigError"]

STRATEGIES = ("greedy", "sample", "beam")
SAMPLING_ONLY = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "seed": None}
BEAM_ONLY = {"num_beams": 1, "length_penalty": 1.0, "early_stopping": False}


class GenerationConfigError(ValueError):
    """A decoding setting out of range; the message names it."""


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

    def validate(self) -> None:
        if self.strategy not in STRATEGIES:
            raise GenerationConfigError(f"unknown strategy {self.strategy!r}; expected one of {', '.join(STRATEGIES)}")
        self._check(self.max_new_tokens >= 0, "max_new_tokens", "must be >= 0")
        self._check(self.repetition_penalty > 0, "repetition_penalty", "must be > 0 (1 is off)")
        self._check(self.no_repeat_ngram_size >= 0, "no_repeat_ngram_size", "must be >= 0 (0 is off)")
        self._check(self.num_return_sequences >= 1, "num_return_sequences", "must be >= 1")
        self._check_only_for("sample", SAMPLING_ONLY)
        self._check_only_for("beam", BEAM_ONLY)
        if self.strategy == "sample":
            self._check(self.temperature > 0, "temperature", "must be > 0 for sampling (use strategy greedy for 0)")
            self._check(self.top_k >= 0, "top_k", "must be >= 0 (0 is off)")
            self._check(0 < self.top_p <= 1, "top_p", "must be in (0, 1]")
            self._check(0 <= self.min_p <= 1, "min_p", "must be in [0, 1]")
        if self.strategy == "beam":
            self._check(self.num_beams >= 1, "num_beams", "must be >= 1")
            self._check(self.early_stopping in (True, False, "never"), "early_stopping",
                        "must be True, False or 'never'")
            self._check(self.num_return_sequences <= self.num_beams, "num_return_sequences",
                        f"must be <= num_beams ({self.num_beams})")
        if self.strategy == "greedy" and self.num_return_sequences != 1:
            raise GenerationConfigError(f"num_return_sequences={self.num_return_sequences}: greedy decoding gives "
                                        "one sequence per prompt; use strategy sample or beam for more")

    def _check(self, ok: bool, name: str, expected: str) -> None:
        if not ok:
            raise GenerationConfigError(f"{name} {expected}, got {getattr(self, name)!r}")

    def _check_only_for(self, strategy: str, defaults: dict) -> None:
        if self.strategy == strategy:
            return
        for name, default in defaults.items():
            if getattr(self, name) != default:
                raise GenerationConfigError(f"{name}={getattr(self, name)!r} applies only to strategy {strategy!r}, "
                                            f"not {self.strategy!r}")

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
