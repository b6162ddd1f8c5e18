"""Text generation from scratch: logits processors, greedy search, sampling and beam search over a KV-cached
decoder, with the semantics of Hugging Face transformers' `generate`.

    decoder = Decoder(step, context_length=256, new_kv_caches=model.new_kv_caches)
    output = generate(decoder, prompt_ids, GenerationConfig(strategy="sample", top_p=0.95, seed=0, eos_token_id=eot))

The modules, in the order a token passes through them:

    decoder.py         the model behind a `step` function, a KV cache and a sliding context window
    logits_process.py  repetition penalty, no-repeat-n-gram, temperature, top-k, top-p, min-p
    search.py          the greedy / sampling loop
    beam.py            beam search
    stopping.py        end-of-text and stop strings
    streaming.py       printing text while it is generated
    explain.py         DecodingTrace: the candidates after each processor, step by step
    config.py          GenerationConfig: every setting, validated

`generate` runs the loop that `LOOPS` gives the config's strategy (search.py's for greedy and sample, beam.py's).

Errors: `GenerationConfigError` for a setting out of range (or settings that would need more memory than the
decoder's budget), its `field` naming the setting; `GenerationError` when decoding cannot go on (logits that are not
finite, token ids outside the vocabulary, nothing left to choose). Both are ValueErrors with a one-line message for a
person.

This package knows nothing about any particular model: anything that maps tokens to next-token logits will do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .beam import beam_search, run_beam_search
from .config import STRATEGIES, STRATEGY_SETTINGS, GenerationConfig, GenerationConfigError
from .decoder import Decoder, GenerationError, StepFunction
from .explain import BeamCandidate, BeamStep, BeamTrace, Candidates, DecodingTrace, StepTrace
from .logits_process import (
    FirstTokenPrefix,
    LogitsProcessor,
    LogitsProcessorList,
    MinPFilter,
    NoRepeatNGram,
    RepetitionPenalty,
    Temperature,
    TopKFilter,
    TopPFilter,
    VocabularyLimit,
    log_softmax,
    softmax,
)
from .search import GenerationOutput, Streamer, run_search, sample_or_greedy
from .stopping import EndOfText, StoppingCriteria, StopStrings, truncate_at_stop_string
from .streaming import TextStreamer

__all__ = [
    "LOOPS", "STRATEGIES", "STRATEGY_SETTINGS", "BeamCandidate", "BeamStep", "BeamTrace", "Candidates", "Decoder",
    "DecodingTrace", "EndOfText", "FirstTokenPrefix", "GenerationConfig",
    "GenerationConfigError", "GenerationError", "GenerationOutput", "LogitsProcessor", "LogitsProcessorList",
    "MinPFilter", "NoRepeatNGram", "RepetitionPenalty", "StepFunction", "StepTrace", "StopStrings",
    "StoppingCriteria", "Streamer", "Temperature", "TextStreamer", "TopKFilter", "TopPFilter", "VocabularyLimit",
    "beam_search", "generate", "log_softmax", "sample_or_greedy", "softmax", "truncate_at_stop_string"
]

# The decoding loop of each strategy (config.STRATEGIES names them): a new strategy is its loop's module and an entry
# here. A loop takes (decoder, prompts, config, processors, criteria, streamer, trace) and refuses what it cannot
# follow (beam search streams nothing; each kind of trace follows its own loops).
LOOPS: dict[str, Callable[..., GenerationOutput]] = {"greedy": run_search, "sample": run_search,
                                                     "beam": run_beam_search}


def generate(decoder: Decoder, prompts: np.ndarray, config: GenerationConfig,
             stopping: Sequence[StoppingCriteria] = (), streamer: Streamer | None = None,
             constraints: Sequence[LogitsProcessor] = (),
             trace: DecodingTrace | BeamTrace | None = None) -> GenerationOutput:
    """Continue each row of `prompts` (B, T) as `config` says. End-of-text (`config.eos_token_id`) always finishes
    a sequence; `stopping` adds more criteria. A `streamer` (greedy and sampling only) sees tokens as they come.
    `constraints` are processors applied before the ones `config` implies (e.g. `FirstTokenPrefix`).
    A `trace` records the candidates at every step: a DecodingTrace (greedy and sampling) after each processor, a
    BeamTrace (beam search) the beams, their extensions, which were kept and which pruned.
    Settings whose working memory would exceed `decoder.memory_budget` are refused before anything is allocated."""
    config.validate()
    prompts = np.asarray(prompts, dtype=np.int64)
    if prompts.ndim != 2 or prompts.shape[1] == 0:
        raise ValueError(f"prompts must be a non-empty (batch, time) array of token ids, got shape {prompts.shape}")
    config.check_memory(prompts.shape[0], decoder.row_bytes, decoder.memory_budget)
    criteria = ([EndOfText(config.eos_token_id)] if config.eos_token_id is not None else []) + list(stopping)
    processors = LogitsProcessorList([*constraints, *config.logits_processors()])
    return LOOPS[config.strategy](decoder, prompts, config, processors, criteria, streamer, trace)
