"""The playground's two looks inside that are not a token stream: attention maps and the KV cache comparison.
Both are work functions for the worker (`work(job)`).

Attention. `GPT.forward_with_attentions` returns, for every layer, the attention probabilities of that forward pass,
(batch, n_head, T, T): row i of a head is how much position i drew on each position j <= i. As JSON numbers these
would be large (4 layers x 4 heads x 256 x 256 is a million numbers, over 10 MB of text), so each head's T x T map
is quantised to one byte per entry, round(prob * 255), row-major, and base64-encoded: 1.4 MB for that model. A row
then sums to 1 within T / 510 (each entry is off by at most half a step), and every entry above the diagonal is
exactly 0, as causal attention is.

KV cache. The same request generated twice, with the cache and then without it (re-running the whole window for
every token), streamed as server-sent events like a generation, and stopped like one (a client that goes away
cancels it):

    start   the prompt as the model reads it, max_new_tokens, the two runs in order, `queue_position` (as for a
            generation; `queue` events follow while it waits)
    tick    one per token of each run as soon as it is chosen: {run, index, seconds}, the time of that token (time
            spent waiting for a slow reader is not counted)
    run     a run ended: its seconds, tokens, text, seconds_per_token, finished (false: the request's time ran out)
    done    both runs (null for one that never started), `threads`, `same_tokens` (the cache must not change a
            single token; compared over the tokens both runs produced), `outcome`: "done", or "timeout" when the
            request's time ran out (what finished is kept: the cached run, usually), and each run's `trend`
            (`time_trend`): whether its time per token grew with the text, as measured
    error   decoding could not go on

Both runs use the same number of BLAS threads (`fixed_blas_threads`, counted once from the free cores). Otherwise
the uncached run's large products would use every core while the cached run's small steps use only the free ones,
and on a busy machine the speed-up shown would measure the thread policy, not the cache. In principle the time per
token stays flat with the cache and grows with the window without it; whether it visibly does depends on the model
and the length (a tiny model over a few tokens is dominated by fixed costs), so the page states what `time_trend`
measured, not what should happen. The first token of either run also reads the whole prompt (the prefill): it is
left out of the trend.
"""

from __future__ import annotations

import base64
import time

import numpy as np

from tinygpt.code_completion import prepare_prompt
from tinygpt.generate import encode_prompt, end_of_text_id, generate
from tinygpt.serve.schema import GenerateRequest
from tinygpt.serve.session import EventChannel
from tinygpt.serve.worker import Job, StoppableModel, Stopped, TimedOut
from tinytorch.generation import GenerationConfig
from tinytorch.threads import fixed_blas_threads, usable_blas_threads

__all__ = ["RUNS", "CacheComparison", "attention_maps", "encode_map", "time_trend"]

RUNS = (("with_cache", True), ("without_cache", False))
MIN_TREND_TOKENS = 4  # tokens after the prefill needed to fit a line at all
GROWTH = 0.2  # a time per token that grows by less than this fraction over the run is called flat
SIGNIFICANCE = 3.0  # and a slope within this many standard errors of 0 is noise


def encode_map(probs: np.ndarray) -> str:
    """A (T, T) map of probabilities as base64 of its row-major bytes, round(prob * 255)."""
    return base64.b64encode(np.rint(np.clip(probs, 0.0, 1.0) * 255).astype(np.uint8).tobytes()).decode("ascii")


def attention_maps(model, tokenizer, tokens: list[int], job: Job) -> dict:
    """The answer of POST /api/attention for `tokens` (already checked: 1..block_size ids of the model's
    vocabulary)."""
    job.check()
    _, attentions = model.forward_with_attentions(np.array([tokens], dtype=np.int64))
    return {
        "tokens": [{"id": token, "text": tokenizer.decode([token])} for token in tokens],
        "n_layer": len(attentions),
        "n_head": attentions[0].shape[1],
        "length": len(tokens),
        "encoding": "uint8-base64",
        "maps": [[encode_map(layer[0, head]) for head in range(layer.shape[1])] for layer in attentions],
    }


class CacheComparison:
    """A compare-cache request: `start_event()` on the event loop, then `run(job, channel)` in the worker."""

    def __init__(self, model, tokenizer, request: GenerateRequest, config: GenerationConfig):
        self.model, self.tokenizer, self.request, self.config = model, tokenizer, request, config
        self.encoded = encode_prompt(tokenizer, prepare_prompt(request.prompt))
        self.eot = end_of_text_id(tokenizer)

    def start_event(self, queue_position: int = 0) -> dict:
        return {"prompt": self.encoded.text, "max_new_tokens": self.config.max_new_tokens,
                "runs": [name for name, _ in RUNS], "queue_position": queue_position}

    def run(self, job: Job, channel: EventChannel) -> None:
        """Both runs with one BLAS thread count, then `done`; an `error` event if decoding fails. Raises ClientGone
        when nobody is listening any more."""
        threads = usable_blas_threads()
        runs: dict[str, dict | None] = {name: None for name, _ in RUNS}
        try:
            with fixed_blas_threads(threads):
                for name, use_cache in RUNS:
                    runs[name] = self.timed_run(name, use_cache, job, channel)
                    channel.put("run", {"run": name, **runs[name]}, job)
                    if not runs[name]["finished"]:
                        break
        except Stopped:
            raise
        except Exception as err:
            channel.fail(job, err, "cache comparison")
            return
        finished = all(run is not None and run["finished"] for run in runs.values())
        job.outcome = "done" if finished else "timeout"
        done = {**runs, "threads": threads, "outcome": job.outcome, "same_tokens": same_tokens(*runs.values()),
                "trend": {name: None if run is None else time_trend(run["seconds_per_token"])
                          for name, run in runs.items()}}
        channel.finish(job, [("done", done)])

    def timed_run(self, name: str, use_cache: bool, job: Job, channel: EventChannel) -> dict:
        """One run, a `tick` per token; stops early (finished false) when the request's time runs out."""
        tokens: list[int] = []
        seconds_per_token: list[float] = []
        last = time.perf_counter()

        def on_token(token_id: int) -> None:
            nonlocal last
            seconds_per_token.append(time.perf_counter() - last)
            tokens.append(token_id)
            job.tokens += 1
            channel.put("tick", {"run": name, "index": len(tokens) - 1, "seconds": seconds_per_token[-1]}, job)
            last = time.perf_counter()  # the wait for the reader is not the model's time

        finished, finish_reason = True, None
        try:
            completion = generate(StoppableModel(self.model, job), self.tokenizer, self.request.prompt, self.config,
                                  stop_strings=self.request.stop, complete_function=self.request.complete_function,
                                  use_cache=use_cache, on_token=on_token)[0]
            text, tokens, finish_reason = completion.text, completion.tokens, completion.finish_reason
        except TimedOut:
            finished, finish_reason = False, "timeout"
            text = self.tokenizer.decode([token for token in tokens if token != self.eot])
        return {"seconds": sum(seconds_per_token) + (time.perf_counter() - last), "tokens": tokens, "text": text,
                "seconds_per_token": seconds_per_token, "finished": finished, "finish_reason": finish_reason}


def same_tokens(with_cache: dict | None, without_cache: dict | None) -> bool | None:
    """Whether both runs chose the same tokens, over the tokens both produced (None if one never started)."""
    if with_cache is None or without_cache is None:
        return None
    common = min(len(with_cache["tokens"]), len(without_cache["tokens"]))
    return with_cache["tokens"][:common] == without_cache["tokens"][:common]


def time_trend(seconds_per_token: list[float]) -> dict | None:
    """How the time per token changed over a run, leaving out the first token (the prefill, which also reads the
    prompt): a least-squares line through the others, its value at the first and the last of them (`start_s`,
    `end_s`), and `grows`: the line rose by more than GROWTH of its start and more than SIGNIFICANCE standard errors
    of its slope (on a busy machine single tokens are noisy). None when fewer than MIN_TREND_TOKENS tokens follow
    the prefill."""
    times = np.asarray(seconds_per_token[1:], dtype=np.float64)
    if len(times) < MIN_TREND_TOKENS:
        return None
    index = np.arange(len(times), dtype=np.float64)
    slope, intercept = np.polyfit(index, times, 1)
    residuals = times - (slope * index + intercept)
    spread = float(np.sqrt((residuals ** 2).sum() / (len(times) - 2)))
    slope_error = spread / float(np.sqrt(((index - index.mean()) ** 2).sum()))
    start, end = float(intercept), float(intercept + slope * index[-1])
    grows = bool(end - start > GROWTH * max(start, 1e-12) and slope > SIGNIFICANCE * slope_error)
    return {"prefill_s": float(seconds_per_token[0]), "tokens": len(times), "start_s": start, "end_s": end,
            "mean_s": float(times.mean()), "grows": grows}
