"""Beam search, with the exact semantics of Hugging Face transformers' `generate(num_beams=...)` (version 5).

Greedy search commits to the best token at every step; beam search keeps the `num_beams` best partial sequences
("beams") instead, so a token that looks worse now can win later. For every prompt it tracks:

    running beams   num_beams unfinished sequences and their scores: the sum of their tokens' log-probabilities
    finished list   the num_beams best finished sequences ("hypotheses"), each scored by
                        sum of log-probabilities / (generated tokens) ** length_penalty
                    length_penalty > 0 favours long hypotheses (log-probabilities are negative), < 0 short ones

One step, for every prompt:

1. Extend: every running beam times every vocabulary token is a candidate, scored by beam score + log p(token).
   Keep the best 2 * num_beams candidates: even if num_beams of them finish now (end-of-text or another stopping
   criterion), num_beams remain to continue.
2. Continue: the best num_beams candidates that did not finish become the running beams.
3. Finish: candidates that finished *and rank among the best num_beams* enter the finished list, which keeps only
   its num_beams best. When the length limit is reached, every candidate counts as finished.
4. Decide whether this prompt is done: once the finished list is full, ask whether the best running beam could
   still beat the worst finished hypothesis. `early_stopping` says how to estimate its best possible score:
       False    its score divided by its current length ** length_penalty (a heuristic; Hugging Face's default)
       "never"  for length_penalty > 0, divided by the longest length allowed instead: the true upper bound, so
                the search stops only when nothing can improve (canonical beam search)
       True     additionally, stop as soon as every prompt has num_beams finished hypotheses
   A prompt that is done accepts no more hypotheses.

The search ends when every prompt is done (or, with early_stopping=True, every finished list is full), or when
every candidate finished, which always happens at `max_new_tokens`.

Scores stay in float32 and "impossible" entries get -1e9 added, exactly as Hugging Face computes them, so both
pick the same sequences and report the same `scores` (its `sequences_scores`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import GenerationConfig
from .decoder import Decoder, GenerationError
from .explain import BeamTrace, DecodingTrace
from .logits_process import LogitsProcessorList, log_softmax
from .search import GenerationOutput, Streamer
from .stopping import StoppingCriteria, any_done

__all__ = ["beam_search"]

IMPOSSIBLE = np.float32(-1e9)  # added to a score to rule an entry out while keeping the arrays rectangular


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest entries of each row, best first (ties: lowest index first).

    A full sort of a (beams x vocabulary) row costs far more than the search needs: partition first, keeping every
    entry that ties with the k-th largest, then sort only those (stable, so equal scores keep index order)."""
    if scores.shape[-1] <= 4 * k:
        return np.argsort(-scores, axis=-1, kind="stable")[:, :k]
    kth = -np.partition(-scores, k - 1, axis=-1)[:, k - 1: k]  # (B, 1) the k-th largest of each row
    rows = []
    for row, threshold in zip(scores, kth[:, 0]):
        candidates = np.flatnonzero(row >= threshold)  # ascending index order
        rows.append(candidates[np.argsort(-row[candidates], kind="stable")[:k]])
    return np.stack(rows)


def penalty_where(condition: np.ndarray) -> np.ndarray:
    return np.where(condition, IMPOSSIBLE, np.float32(0))


def take(array: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Select along axis 1 (the beam axis) of `array` (B, n, ...) with `indices` (B, k)."""
    return np.take_along_axis(array, indices.reshape(indices.shape + (1,) * (array.ndim - 2)), axis=1)


def beam_search(decoder: Decoder, prompts: np.ndarray, config: GenerationConfig, processors: LogitsProcessorList,
                criteria: Sequence[StoppingCriteria], trace: BeamTrace | None = None) -> GenerationOutput:
    """Beam search over `prompts` (B, T); returns `num_return_sequences` hypotheses per prompt, best first.
    A `trace` records every step's candidates for one prompt (reading the arrays, never changing them)."""
    batch, prompt_len = prompts.shape
    num_beams, max_new = config.num_beams, config.max_new_tokens
    candidates_kept = 2 * num_beams
    length_penalty, early_stopping = config.length_penalty, config.early_stopping
    pad = config.eos_token_id if config.eos_token_id is not None else 0
    if max_new == 0:
        count = batch * config.num_return_sequences
        return GenerationOutput([[] for _ in range(count)], ["length"] * count, [0.0] * count)

    # Running beams. All start as the prompt; only beam 0 may extend at first, or the beams would all pick the
    # same tokens.
    beam_prompts = np.repeat(prompts, num_beams, axis=0)  # (B * nb, T)
    running_tokens = np.zeros((batch, num_beams, 0), dtype=np.int64)  # generated tokens, (B, nb, t)
    running_scores = np.full((batch, num_beams), IMPOSSIBLE, dtype=np.float32)
    running_scores[:, 0] = 0.0
    # Finished hypotheses, best first: tokens padded to max_new, their lengths and length-penalized scores.
    finished_tokens = np.full((batch, num_beams, max_new), pad, dtype=np.int64)
    finished_lengths = np.zeros((batch, num_beams), dtype=np.int64)
    finished_scores = np.full((batch, num_beams), IMPOSSIBLE, dtype=np.float32)
    is_finished = np.zeros((batch, num_beams), dtype=bool)  # False where a slot still holds a placeholder
    can_improve = np.ones(batch, dtype=bool)  # False once a prompt is done (see step 4)
    first_beams = np.arange(candidates_kept) < num_beams  # (2 nb,) True for the best num_beams candidates

    logits = decoder.start(beam_prompts)
    for step in range(max_new):
        generated = step + 1  # tokens per candidate after this step

        # 1. Extend every running beam by every token; keep the best 2 * num_beams candidates per prompt.
        histories = np.concatenate([beam_prompts, running_tokens.reshape(batch * num_beams, step)], axis=1)
        log_probs = processors(histories, log_softmax(logits))  # (B * nb, V)
        if np.isnan(log_probs).any():  # -inf is fine here: a beam may have no way on while the others do
            raise GenerationError(f"the scores for generated token {generated} hold NaN after the logits processors")
        vocab = log_probs.shape[-1]
        totals = (log_probs.reshape(batch, num_beams, vocab) + running_scores[:, :, None]).reshape(batch, -1)
        best = top_indices(totals, candidates_kept)  # (B, 2 nb) into the flattened (beam, token) grid
        candidate_scores = np.take_along_axis(totals, best, axis=1)
        parent_beams, new_tokens = best // vocab, best % vocab
        candidate_tokens = np.concatenate([take(running_tokens, parent_beams), new_tokens[:, :, None]], axis=2)
        finishes = any_done(criteria, candidate_tokens.reshape(batch * candidates_kept, generated))
        finishes = finishes.reshape(batch, candidates_kept) | (generated >= max_new)

        # 2. The best num_beams candidates that go on become the running beams.
        previous_tokens, previous_scores = running_tokens, running_scores
        continuing_scores = candidate_scores + penalty_where(finishes)
        survivors = top_indices(continuing_scores, num_beams)
        running_tokens = take(candidate_tokens, survivors)
        running_scores = np.take_along_axis(continuing_scores, survivors, axis=1)
        parents = np.take_along_axis(parent_beams, survivors, axis=1)

        # 3. Finished candidates among the best num_beams join the finished list, unless the prompt is done.
        newly_finished = finishes & first_beams[None, :]
        hypothesis_scores = candidate_scores / np.float32(generated ** length_penalty)
        # Rule out, one penalty at a time as transformers adds them: a full list (early_stopping=True), a prompt
        # that is done, a candidate that did not finish or ranks below num_beams.
        list_full = is_finished.all(axis=1, keepdims=True) & (early_stopping is True)
        hypothesis_scores = hypothesis_scores + penalty_where(list_full)
        hypothesis_scores = hypothesis_scores + penalty_where(~can_improve[:, None])
        hypothesis_scores = hypothesis_scores + penalty_where(~newly_finished)
        padded = np.full((batch, candidates_kept, max_new), pad, dtype=np.int64)
        padded[:, :, :generated] = candidate_tokens
        merged_scores = np.concatenate([finished_scores, hypothesis_scores], axis=1)
        keep = top_indices(merged_scores, num_beams)
        finished_scores = np.take_along_axis(merged_scores, keep, axis=1)
        finished_tokens = take(np.concatenate([finished_tokens, padded], axis=1), keep)
        lengths = np.concatenate([finished_lengths, np.full((batch, candidates_kept), generated)], axis=1)
        finished_lengths = np.take_along_axis(lengths, keep, axis=1)
        is_finished = np.take_along_axis(np.concatenate([is_finished, newly_finished], axis=1), keep, axis=1)
        if trace is not None:
            row = trace.row
            entered = np.isin(num_beams + np.arange(candidates_kept), keep[row]) & newly_finished[row] & (
                hypothesis_scores[row] > IMPOSSIBLE / 2)
            trace.record(step, previous_tokens[row], previous_scores[row], parent_beams[row], new_tokens[row],
                         candidate_scores[row], survivors[row], finishes[row], entered)

        # 4. Can the best running beam still beat the worst finished hypothesis?
        can_improve &= best_running_could_improve(running_scores, finished_scores, is_finished, generated,
                                                  max_new, early_stopping, length_penalty)
        all_lists_full = is_finished.all() and early_stopping is True
        if not can_improve.any() or all_lists_full or finishes.all():
            break
        decoder.reorder((np.arange(batch)[:, None] * num_beams + parents).reshape(-1))
        logits = decoder.advance(running_tokens[:, :, -1].reshape(-1))

    returned = config.num_return_sequences
    tokens = [row[:length].tolist() for row, length in
              zip(finished_tokens[:, :returned].reshape(-1, max_new), finished_lengths[:, :returned].reshape(-1))]
    reasons = ["stop" if any_done(criteria, np.array([row]))[0] else "length" for row in tokens]
    return GenerationOutput(tokens, reasons, finished_scores[:, :returned].reshape(-1).tolist())


def best_running_could_improve(running_scores: np.ndarray, finished_scores: np.ndarray, is_finished: np.ndarray,
                               generated: int, max_new: int, early_stopping: bool | str,
                               length_penalty: float) -> np.ndarray:
    """(B,) False where no running beam can beat the worst of a full finished list (`early_stopping` picks the
    estimate of the best running beam's final score, see the module docstring)."""
    if early_stopping == "never" and length_penalty > 0.0:
        best_length = max_new
    else:
        best_length = generated
    best_possible = running_scores[:, :1] / np.float32(best_length ** length_penalty)  # (B, 1)
    worst_finished = np.where(is_finished, finished_scores.min(axis=1, keepdims=True), IMPOSSIBLE)  # (B, nb)
    return (best_possible > worst_finished).any(axis=1)


def run_beam_search(decoder: Decoder, prompts: np.ndarray, config: GenerationConfig,
                    processors: LogitsProcessorList, criteria: Sequence[StoppingCriteria], streamer: Streamer | None,
                    trace: DecodingTrace | BeamTrace | None) -> GenerationOutput:
    """`generate`'s loop for beam search: `beam_search`, which streams nothing and is followed by a BeamTrace only."""
    if streamer is not None:
        raise ValueError("streaming shows one sequence as it grows; beam search knows its result only at the end")
    if trace is not None and not isinstance(trace, BeamTrace):
        raise ValueError("a DecodingTrace follows one row step by step; beam search reorders its rows each step "
                         "(use a BeamTrace)")
    return beam_search(decoder, prompts, config, processors, criteria, trace)
