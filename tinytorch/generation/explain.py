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
hypothesis each time and the chosen token of a row is not defined until the search ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .logits_process import LogitsProcessor, LogitsProcessorList, softmax

__all__ = ["Candidates", "DecodingTrace", "StepTrace"]


@dataclass
class Candidates:
    """The most likely tokens at one stage of one step, most likely first, with their probabilities."""

    name: str  # "model", or the processor, e.g. "Temperature(0.5)"
    token_ids: list[int]
    probs: list[float]
    kept: int  # how many tokens still have a probability above zero at this stage


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

    def _record(self, input_ids: np.ndarray, stage_scores: list[tuple[str, np.ndarray]], prompt_length: int) -> None:
        if self.steps and self.steps[-1].chosen is None:
            self.settle(int(input_ids[self.row, -1]))  # the token the previous step chose is the last input
        stages, pending = [], []
        for name, scores in stage_scores:
            probs = softmax(scores[self.row: self.row + 1])[0]
            top = np.argsort(-probs, kind="stable")[: self.top]
            stages.append(Candidates(name, top.tolist(), probs[top].astype(float).tolist(),
                                     int(np.count_nonzero(probs))))
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
        stages = [("model", scores)]
        for processor in self:
            processed = processor(input_ids, scores)
            if processed is not scores:  # a processor with nothing to do at this step hands back its input
                stages.append((repr(processor), processed))
            scores = processed
        self.trace._record(input_ids, stages, self.prompt_length)
        return scores
