"""Logits processors: small functions that reshape the next-token scores before a token is chosen.

Each processor is called as `processor(input_ids, scores) -> scores`, where `input_ids` (B, L) is everything the
row holds so far (prompt and generated tokens) and `scores` (B, V) are float32 logits (or log-probabilities in beam
search). A processor never changes its input in place. Filters set the scores of the tokens they remove to -inf, so
that softmax gives them probability zero.

They follow Hugging Face transformers' processors exactly, in the same order:

    repetition penalty -> no-repeat-n-gram -> temperature -> top-k -> top-p -> min-p

The first two change what the model says (and also apply to greedy and beam search); the last four only shape the
distribution that sampling draws from. Order matters: top-p measures probability mass after temperature and top-k.

`FirstTokenPrefix` and `VocabularyLimit` are constraints rather than preferences: the first restricts the first
generated token to those that spell a given text, which is how token healing hands the last token of a prompt back
to the model; the second rules out ids a tokenizer cannot decode.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FirstTokenPrefix", "LogitsProcessor", "LogitsProcessorList", "MinPFilter", "NoRepeatNGram", "RepetitionPenalty",
    "Temperature", "TopKFilter", "TopPFilter", "VocabularyLimit", "log_softmax", "softmax",
]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32; rows may hold -inf (filtered tokens), never only -inf."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted, dtype=np.float32)
    return exp / exp.sum(axis=-1, keepdims=True)


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float32, computed as x - max - log(sum(exp(x - max)))."""
    scores = scores.astype(np.float32, copy=False)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class LogitsProcessor:
    """Base class: `__call__(input_ids (B, L), scores (B, V)) -> new scores (B, V)`; `explain()` says in plain words
    what it does and why (the decoding explainer shows it beside the candidates)."""

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def explain(self) -> str:
        return repr(self)


class RepetitionPenalty(LogitsProcessor):
    """Make every token that already occurs in the row (prompt included) less likely, once per token: a positive
    score is divided by `penalty`, a negative one multiplied by it (CTRL, Keskar et al. 2019)."""

    def __init__(self, penalty: float):
        if not 0 < penalty < np.inf:
            raise ValueError(f"repetition_penalty must be > 0 and finite, got {penalty}")
        self.penalty = penalty

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        seen = np.zeros(scores.shape, dtype=bool)
        np.put_along_axis(seen, input_ids, True, axis=1)
        penalized = np.where(scores < 0, scores * np.float32(self.penalty), scores / np.float32(self.penalty))
        return np.where(seen, penalized, scores).astype(scores.dtype, copy=False)

    def __repr__(self) -> str:
        return f"RepetitionPenalty({self.penalty})"

    def explain(self) -> str:
        return (f"repetition penalty: every token already in the text (prompt included) had its score divided by "
                f"{self.penalty:g} (multiplied, if negative), so the model repeats itself less")


class NoRepeatNGram(LogitsProcessor):
    """Forbid any token that would complete an n-gram (n = `ngram_size`) already present in the row.

    With n = 3 and a row `... a b c ... a b`, the last two tokens `a b` were once followed by `c`, so `c` is banned.
    """

    def __init__(self, ngram_size: int):
        if ngram_size < 1:
            raise ValueError(f"no_repeat_ngram_size must be >= 1, got {ngram_size}")
        self.ngram_size = ngram_size

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        n = self.ngram_size
        length = input_ids.shape[1]
        if length < n:
            return scores
        windows = np.lib.stride_tricks.sliding_window_view(input_ids, n, axis=1)  # (B, L - n + 1, n)
        prefix = input_ids[:, length - n + 1:]  # the last n - 1 tokens, (B, n - 1)
        matches = (windows[:, :, :-1] == prefix[:, None, :]).all(axis=-1)  # (B, L - n + 1)
        banned = np.zeros(scores.shape, dtype=bool)
        rows, starts = np.nonzero(matches)
        banned[rows, windows[rows, starts, -1]] = True
        return np.where(banned, np.float32(-np.inf), scores)

    def __repr__(self) -> str:
        return f"NoRepeatNGram({self.ngram_size})"

    def explain(self) -> str:
        return (f"no-repeat n-gram: a token that would repeat a run of {self.ngram_size} tokens already in the text "
                "is ruled out")


class Temperature(LogitsProcessor):
    """Divide the logits by `temperature`: below 1 sharpens the distribution, above 1 flattens it."""

    def __init__(self, temperature: float):
        if not 0 < temperature < np.inf:
            raise ValueError(f"temperature must be > 0 and finite, got {temperature}")
        self.temperature = temperature

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        return scores / np.float32(self.temperature)

    def __repr__(self) -> str:
        return f"Temperature({self.temperature})"

    def explain(self) -> str:
        effect = "sharper: likely tokens get likelier" if self.temperature < 1 else (
            "flatter: unlikely tokens get likelier" if self.temperature > 1 else "unchanged")
        return f"temperature: every score was divided by {self.temperature:g}, so the distribution is {effect}"


class TopKFilter(LogitsProcessor):
    """Keep the `top_k` highest-scoring tokens. Every token tied with the k-th score is kept too, so a few more
    than k may survive."""

    def __init__(self, top_k: int, min_tokens_to_keep: int = 1):
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.top_k = max(top_k, min_tokens_to_keep)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        k = min(self.top_k, scores.shape[-1])
        kth_largest = -np.partition(-scores, k - 1, axis=-1)[:, k - 1:k]  # (B, 1)
        return np.where(scores < kth_largest, np.float32(-np.inf), scores)

    def __repr__(self) -> str:
        return f"TopKFilter({self.top_k})"

    def explain(self) -> str:
        return f"top-k: only the {self.top_k} most likely tokens are kept; the others are ruled out"


class TopPFilter(LogitsProcessor):
    """Nucleus filtering (Holtzman et al. 2019): keep the smallest set of most likely tokens whose probabilities
    sum to at least `top_p`. The token whose probability crosses the threshold is kept.

    Computed as Hugging Face does: sort ascending, accumulate probability from the least likely token, and remove
    tokens while the accumulated mass is still <= 1 - top_p.
    """

    def __init__(self, top_p: float, min_tokens_to_keep: int = 1):
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        self.top_p = top_p
        self.min_tokens_to_keep = min_tokens_to_keep

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        ascending = np.argsort(scores, axis=-1, kind="stable")
        sorted_scores = np.take_along_axis(scores, ascending, axis=-1)
        cumulative = np.cumsum(softmax(sorted_scores), axis=-1, dtype=np.float32)
        remove_sorted = cumulative <= np.float32(1 - self.top_p)
        remove_sorted[:, -self.min_tokens_to_keep:] = False  # the most likely tokens always survive
        remove = np.zeros_like(remove_sorted)
        np.put_along_axis(remove, ascending, remove_sorted, axis=-1)
        return np.where(remove, np.float32(-np.inf), scores)

    def __repr__(self) -> str:
        return f"TopPFilter({self.top_p})"

    def explain(self) -> str:
        return (f"top-p (nucleus): the most likely tokens are kept until their probabilities add up to "
                f"{self.top_p:g}; the long tail after them is ruled out")


class MinPFilter(LogitsProcessor):
    """Keep tokens whose probability is at least `min_p` times that of the most likely token (Nguyen et al. 2024):
    a cutoff that follows the model's confidence."""

    def __init__(self, min_p: float, min_tokens_to_keep: int = 1):
        if not 0 <= min_p <= 1:
            raise ValueError(f"min_p must be in [0, 1], got {min_p}")
        self.min_p = min_p
        self.min_tokens_to_keep = min_tokens_to_keep

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        probs = softmax(scores)
        remove = probs < np.float32(self.min_p) * probs.max(axis=-1, keepdims=True)
        keep = min(self.min_tokens_to_keep, scores.shape[-1])
        np.put_along_axis(remove, np.argsort(-probs, axis=-1, kind="stable")[:, :keep], False, axis=-1)
        return np.where(remove, np.float32(-np.inf), scores)

    def __repr__(self) -> str:
        return f"MinPFilter({self.min_p})"

    def explain(self) -> str:
        return (f"min-p: tokens less likely than {self.min_p:g} x the top token's probability are ruled out")


class FirstTokenPrefix(LogitsProcessor):
    """At the first generated position (rows exactly `prompt_length` tokens long) allow only `allowed_ids`."""

    def __init__(self, allowed_ids: np.ndarray, prompt_length: int):
        self.allowed_ids = np.asarray(allowed_ids, dtype=np.int64)
        if self.allowed_ids.size == 0:
            raise ValueError("FirstTokenPrefix needs at least one allowed token")
        self.prompt_length = prompt_length

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if input_ids.shape[1] != self.prompt_length:
            return scores
        constrained = np.full_like(scores, -np.inf)
        constrained[:, self.allowed_ids] = scores[:, self.allowed_ids]
        return constrained

    def __repr__(self) -> str:
        count = self.allowed_ids.size
        return f"FirstTokenPrefix({count} token{'' if count == 1 else 's'} allowed)"

    def explain(self) -> str:
        count = self.allowed_ids.size
        return ("token healing: the prompt's last token was handed back to the model, so that it can choose how to "
                "spell the end of the prompt; this first token must start with that text, which "
                f"{count} token{'' if count == 1 else 's'} of the vocabulary do{'es' if count == 1 else ''}: "
                "every other token is ruled out")


class VocabularyLimit(LogitsProcessor):
    """Rule out every id >= `vocab_size`. A model's embedding table may be larger than its tokenizer's vocabulary
    (nanoGPT pads GPT-2's 50257 tokens to 50304); an id beyond the tokenizer's has no text and must never be chosen."""

    def __init__(self, vocab_size: int):
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        self.vocab_size = vocab_size

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        limited = scores.copy()
        limited[:, self.vocab_size:] = -np.inf
        return limited

    def __repr__(self) -> str:
        return f"VocabularyLimit({self.vocab_size})"

    def explain(self) -> str:
        return f"vocabulary limit: ids from {self.vocab_size} up have no text in the tokenizer and are ruled out"


class LogitsProcessorList(list):
    """Processors applied one after another, in list order."""

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores
