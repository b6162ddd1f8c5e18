"""The decoding explainer: what each logits processor did to the candidates, step by step.

A token is chosen in two moves. The model gives scores (logits) to every token of the vocabulary; then the logits
processors reshape them one after another (repetition penalty -> no-repeat-n-gram -> temperature -> top-k -> top-p
-> min-p, see `logits_process.py`), and greedy search takes the best token, sampling draws one from the softmax of
what is left. A `DecodingTrace` watches the second move. At every step it records, for one row of the batch:

    stage "model"              the model's own distribution: softmax(logits), its `top` most likely tokens
    stage <each processor>     the distribution after that processor (a filtered token has probability 0);
                               a processor that had nothing to do at this step (the token-healing constraint
                               after the first token) is left out
    chosen                     the token that was finally picked, and its probability at every stage

so that a learner can see, say, that temperature 0.5 sharpened the top candidate from 31 % to 72 % and top-p then
removed everything below the fifth candidate. The trace sees exactly the scores the decoding loop sees, because it
wraps the very processor list the loop calls:

    trace = DecodingTrace(top=10)
    output = generate(decoder, prompt_ids, config, trace=trace)
    for step in trace.steps:
        print(step.chosen, [stage.name for stage in step.stages])

Greedy search and sampling only: beam search reorders its rows after every step, so "row 0" is a different
hypothesis each time and the chosen token of a row is not defined until the search ends. Beam search has its own
`BeamTrace`: at every step, the running beams (their tokens and cumulative log-probabilities), and the best
2 x num_beams candidates that extend them, each marked with what became of it:

    continues   it is one of the num_beams best that did not finish: a running beam of the next step (`new_beam`)
    finished    it ended (end-of-text, a stop string, the length limit) and entered the list of finished hypotheses
    pruned      neither: a better candidate took its place (every candidate below the best 2 x num_beams is pruned
                too, and not listed)

    trace = BeamTrace()
    output = generate(decoder, prompt_ids, GenerationConfig(strategy="beam", num_beams=4), trace=trace)
    for step in trace.steps:
        print(step.step, [(c.beam, c.token, c.score, c.status) for c in step.candidates])

The trace reads the search's arrays after each step and changes none of them: the search returns exactly what it
returns without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .logits_process import LogitsProcessor, LogitsProcessorList, softmax

__all__ = ["BeamCandidate", "BeamStep", "BeamTrace", "Candidates", "DecodingTrace", "StepTrace"]

LIVE = -1e8  # a beam or candidate scored below this holds the search's "impossible" placeholder score


@dataclass
class Candidates:
    """The most likely tokens at one stage of one step, most likely first, with their probabilities."""

    name: str  # "model", or the processor, e.g. "Temperature(0.5)"
    token_ids: list[int]
    probs: list[float]
    kept: int  # how many tokens still have a probability above zero at this stage
    explanation: str = ""  # what the processor did and why, in plain words ("" for the model's own stage)


@dataclass
class StepTrace:
    """One decoding step: the candidates at every stage and, once known, the token chosen."""

    step: int  # 0 for the first generated token
    stages: list[Candidates]
    chosen: int | None = None
    chosen_probs: list[float] = field(default_factory=list)  # the chosen token's probability at each stage

    def to_dict(self) -> dict:
        return {"step": self.step, "chosen": self.chosen, "chosen_probs": self.chosen_probs,
                "stages": [vars(stage) for stage in self.stages]}


class DecodingTrace:
    """Records the candidates after each logits processor at every step, for row `row` of the batch.

    `top` candidates are kept per stage. The distributions of the latest step are kept whole until its token is
    known (`settle`, called by the decoding loop's next step, by a streamer, or by `finish`), then dropped, so a
    long generation costs `top` numbers per stage and step, not the vocabulary.
    """

    def __init__(self, top: int = 10, row: int = 0):
        if top < 1:
            raise ValueError(f"DecodingTrace: top must be >= 1, got {top}")
        self.top = top
        self.row = row
        self.steps: list[StepTrace] = []
        self._pending: list[np.ndarray] = []  # the latest step's distributions, one per stage, until it settles

    def wrap(self, processors: LogitsProcessorList) -> LogitsProcessorList:
        """A processor list that applies `processors` and records what each of them did."""
        return _TracedProcessors(self, processors)

    def settle(self, token: int) -> None:
        """The latest step chose `token`: record its probability at each stage. Repeated calls are harmless."""
        if not self.steps or self.steps[-1].chosen is not None:
            return
        last = self.steps[-1]
        last.chosen = int(token)
        last.chosen_probs = [float(probs[token]) for probs in self._pending]
        self._pending = []

    def finish(self, generated: list[int]) -> None:
        """Settle the last step from the row's generated tokens (called when the loop ends)."""
        if self.steps and len(generated) >= len(self.steps):
            self.settle(generated[len(self.steps) - 1])

    def _record(self, input_ids: np.ndarray, stage_scores: list[tuple[str, str, np.ndarray]],
                prompt_length: int) -> None:
        if self.steps and self.steps[-1].chosen is None:
            self.settle(int(input_ids[self.row, -1]))  # the token the previous step chose is the last input
        stages, pending = [], []
        for name, explanation, scores in stage_scores:
            probs = softmax(scores[self.row: self.row + 1])[0]
            top = np.argsort(-probs, kind="stable")[: self.top]
            stages.append(Candidates(name, top.tolist(), probs[top].astype(float).tolist(),
                                     int(np.count_nonzero(probs)), explanation))
            pending.append(probs)
        self.steps.append(StepTrace(input_ids.shape[1] - prompt_length, stages))
        self._pending = pending

    def __repr__(self) -> str:
        return f"DecodingTrace(top={self.top}, row={self.row}, steps={len(self.steps)})"


class _TracedProcessors(LogitsProcessorList):
    """The same processors, applied in the same order, with every intermediate result shown to the trace."""

    def __init__(self, trace: DecodingTrace, processors: list[LogitsProcessor]):
        super().__init__(processors)
        self.trace = trace
        self.prompt_length: int | None = None

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]  # the first call sees the prompt alone
        stages = [("model", "", scores)]
        for processor in self:
            processed = processor(input_ids, scores)
            if processed is not scores:  # a processor with nothing to do at this step hands back its input
                explanation = processor.explain() if hasattr(processor, "explain") else repr(processor)
                stages.append((repr(processor), explanation, processed))
            scores = processed
        self.trace._record(input_ids, stages, self.prompt_length)
        return scores


@dataclass
class BeamCandidate:
    """One of the best 2 x num_beams extensions at a beam search step."""

    beam: int  # the running beam it extends (its index at this step)
    token: int  # the token it adds
    score: float  # cumulative log-probability: the beam's score + log p(token) (after the logits processors)
    status: str  # "continues", "finished" or "pruned" (see the module docstring)
    ends: bool  # the sequence ended with this token (end-of-text, a stop string, the length limit)
    new_beam: int | None = None  # for "continues": its index among the next step's running beams


@dataclass
class BeamStep:
    """One beam search step for the traced prompt: the running beams before it, and their best extensions."""

    step: int  # 0 for the first generated token
    beams: list[list[int]]  # each running beam's generated tokens so far (live beams only)
    beam_scores: list[float]  # their cumulative log-probabilities
    candidates: list[BeamCandidate]


class BeamTrace:
    """Records every step of a beam search for prompt `row` of the batch (see the module docstring)."""

    def __init__(self, row: int = 0):
        self.row = row
        self.steps: list[BeamStep] = []

    def record(self, step: int, beam_tokens: np.ndarray, beam_scores: np.ndarray, parents: np.ndarray,
               tokens: np.ndarray, scores: np.ndarray, survivors: np.ndarray, ends: np.ndarray,
               entered: np.ndarray) -> None:
        """Called by `beam_search` after each step with the traced prompt's arrays: the running beams (nb, t) and
        their scores (nb,); the candidates' parent beams, tokens and scores (2 nb,); the indices of the candidates
        that became running beams, best first (nb,); which candidates ended, and which entered the finished list."""
        live = [beam for beam in range(len(beam_scores)) if beam_scores[beam] > LIVE]
        new_beam = {int(index): rank for rank, index in enumerate(survivors) if not ends[index]}
        candidates = []
        for index in range(len(tokens)):
            if scores[index] <= LIVE:
                continue
            status = "continues" if index in new_beam else "finished" if entered[index] else "pruned"
            candidates.append(BeamCandidate(int(parents[index]), int(tokens[index]), float(scores[index]), status,
                                            bool(ends[index]), new_beam.get(index)))
        self.steps.append(BeamStep(step, [beam_tokens[beam].tolist() for beam in live],
                                   [float(beam_scores[beam]) for beam in live], candidates))

    def __repr__(self) -> str:
        return f"BeamTrace(row={self.row}, steps={len(self.steps)})"
