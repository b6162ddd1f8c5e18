"""One streamed generation: `tinygpt.generate.generate` run in the worker, its progress sent to the browser as
server-sent events while it happens.

The events of POST /api/generate, in order (each `event: NAME` then `data: JSON` and a blank line):

    start   the prompt as the model reads it (token healing took its last token back), its tokens, the settings,
            `queue_position`: how many requests are before this one in the worker's line (0: it runs now)
    queue   while it waits: the new `queue_position` whenever it changes
    token   greedy and sampling: one per token as soon as it is chosen, with the candidates after every logits
            processor (a `DecodingTrace` step, settled when `on_token` runs); the end-of-text that finishes a
            sequence is not sent. `text` is the token decoded alone (half a character shows as U+FFFD);
            `stream_text` is what it adds to the output: the characters its bytes complete (`TextSoFar`)
    beam    beam search (or several sequences): at the end, the returned sequences, each with `pieces` (what each
            token adds to the text, as `stream_text`); for beam search their scores (`scored`: sampled sequences
            are independent draws and have none) and `steps`, the search step by step from a `BeamTrace` (the
            running beams with their cumulative log-probabilities, their best extensions, which continued, which
            finished and which were pruned)
    done    the completion: text, finish_reason ("timeout" if the request ran out of time), tokens, timing,
            `stream_tail` (bytes held back by the stream that never became a character, as U+FFFD) and the
            completed function (`function_json`)
    error   decoding could not go on (a model that gives NaN logits, settings over the memory budget)

The worker may run at most `EVENTS_AHEAD` events ahead of what the client has taken (`EventChannel`): a slow
reader slows its own generation instead of piling up events, and a client that disconnects is noticed within a
few tokens. The response (`EventStream`) cancels the job when it ends for any reason, a disconnect included.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import CancelledError
from dataclasses import asdict

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from tinygpt.code_completion import prepare_prompt
from tinygpt.generate import Completion, encode_prompt, end_of_text_id, generate, make_completion
from tinygpt.serve.schema import GenerateRequest
from tinygpt.serve.worker import ClientGone, Job, StoppableModel, Stopped, TimedOut
from tinytorch.generation import BeamStep, BeamTrace, DecodingTrace, GenerationConfig, StepTrace

__all__ = ["EVENTS_AHEAD", "EventChannel", "EventStream", "Generation", "TextSoFar", "function_json", "sse"]

EVENTS_AHEAD = 4  # events the worker may produce before the client has taken them
POLL_S = 0.05  # how often a blocked worker looks whether its client left
QUEUE_POLL_S = 0.5  # how often a waiting request looks whether its place in the line changed
FINAL_GRACE_S = 5.0  # how long past its deadline a job may wait to hand over its last event
FINAL_EVENTS = ("done", "error")
log = logging.getLogger("tinygpt.serve")


def sse(name: str, payload: dict) -> str:
    """One server-sent event; the JSON is on one line (json.dumps escapes newlines inside strings)."""
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


def finite(value: float | None) -> float | None:
    """JSON has no infinity or NaN: such a number (a beam score of -inf) is sent as null."""
    return value if value is None or math.isfinite(value) else None


def function_json(completion: Completion) -> dict | None:
    """The completed block for the page: its text, whether it compiles, whether the body ended on its own or was
    cut at the token limit (`truncated`: trimmed back to the lines that compile), and whether `pass` was added
    because nothing the model wrote under the header compiled (a run that ended inside a docstring)."""
    block = completion.function
    if block is None:
        return None
    written = (completion.prompt + completion.text)[block.start:]
    return {"text": block.text, "compiles": block.compiles, "ended": block.ended, "truncated": block.truncated,
            "added_pass": block.truncated and not written.startswith(block.text.rstrip())}


class TextSoFar:
    """Generated tokens as text, token by token: `add(token)` returns the characters that this token's bytes
    complete. A token may end inside a UTF-8 character (`ü` is two bytes, which byte-level BPE may split): those
    bytes are held back until a later token completes the character; `flush()` returns what is still held (as
    U+FFFD) once the generation is over."""

    def __init__(self, tokenizer):
        self._bytes_of = getattr(tokenizer, "decode_bytes", None) or (lambda ids: tokenizer.decode(ids).encode())
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def add(self, token_id: int) -> str:
        return self._decoder.decode(self._bytes_of([token_id]))

    def flush(self) -> str:
        return self._decoder.decode(b"", final=True)


class EventChannel:
    """Events from the worker thread to the response stream on the event loop, at most EVENTS_AHEAD not yet
    taken. Create it on the event loop."""

    def __init__(self):
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, dict]] = asyncio.Queue(maxsize=EVENTS_AHEAD)

    def put(self, name: str, payload: dict, job: Job) -> None:
        """Worker thread: hand over an event, waiting while the client is behind; raises ClientGone if it left
        (or stops reading past the deadline)."""
        try:
            handed = asyncio.run_coroutine_threadsafe(self._queue.put((name, payload)), self._loop)
        except RuntimeError:  # the event loop is closed: the server is stopping
            raise ClientGone("the server is stopping") from None
        while True:
            try:
                handed.result(timeout=POLL_S)
                return
            except TimeoutError:
                if job.cancelled.is_set() or time.monotonic() > job.deadline + FINAL_GRACE_S:
                    handed.cancel()
                    raise ClientGone("the client stopped reading") from None
            except CancelledError:
                raise ClientGone("the server is stopping") from None

    def finish(self, job: Job, events: list[tuple[str, dict]]) -> None:
        """Worker thread: release the worker, then hand over the run's last events (released first, since the client
        may start its next request as soon as it reads them)."""
        job.release()
        for name, payload in events:
            self.put(name, payload, job)

    def fail(self, job: Job, err: Exception, what: str) -> None:
        """Worker thread, inside the `except` that caught `err`: whatever stopped the model, the client hears of it,
        as one `error` event; logged with its traceback unless it is a ValueError (bad input, its message says why)."""
        if not isinstance(err, ValueError):
            log.exception("%s failed", what)
        job.outcome = "error"
        self.finish(job, [("error", {"message": str(err) or type(err).__name__})])

    async def events(self, start: dict, ahead: Callable[[], int] = lambda: 0) -> AsyncIterator[str]:
        """The response body: `start`, then every event the worker hands over, up to the last one. While the job
        waits in line (`ahead()` requests before it), a `queue` event each time that number changes."""
        yield sse("start", start)
        position = start.get("queue_position", 0)
        while True:
            taking = asyncio.ensure_future(self._queue.get())
            try:
                while position > 0 and not (await asyncio.wait({taking}, timeout=QUEUE_POLL_S))[0]:
                    if (now := ahead()) != position:
                        position = now
                        yield sse("queue", {"queue_position": now})
                name, payload = await taking
            finally:
                taking.cancel()  # the client went away while it waited: nothing is taken any more
            position = 0  # the worker has started it
            yield sse(name, payload)
            if name in FINAL_EVENTS:
                return


class EventStream(StreamingResponse):
    """A text/event-stream response that cancels `job` when it ends, however it ends: the client read the last
    event, or it disconnected and the server cancelled the response."""

    def __init__(self, events: AsyncIterator[str], job: Job):
        super().__init__(events, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.job = job

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.job.cancel()


class Generation:
    """A generate request: `start_event()` on the event loop, then `run(job, channel)` in the worker."""

    def __init__(self, model, tokenizer, request: GenerateRequest, config: GenerationConfig, explain_top: int):
        self.model, self.tokenizer, self.request, self.config = model, tokenizer, request, config
        self.explain_top = explain_top
        self.encoded = encode_prompt(tokenizer, prepare_prompt(request.prompt))  # what `generate` will read
        self.eot = end_of_text_id(tokenizer)
        self.streams_tokens = config.strategy != "beam" and config.num_return_sequences == 1
        self.generated: list[int] = []
        self.text_so_far = TextSoFar(tokenizer)
        self.first_token_s: float | None = None

    def token(self, token_id: int) -> dict:
        return {"id": token_id, "text": self.tokenizer.decode([token_id])}

    def start_event(self, queue_position: int = 0) -> dict:
        settings = {name: value for name, value in asdict(self.config).items() if name != "eos_token_id"}
        settings |= {"stop": self.request.stop, "complete_function": self.request.complete_function,
                     "use_cache": self.request.use_cache}
        return {"prompt": self.encoded.text, "prompt_tokens": [self.token(t) for t in self.encoded.ids],
                "settings": settings, "queue_position": queue_position}

    def pieces(self, tokens: list[int]) -> list[str]:
        """What each token (end-of-text left out) adds to the text; what is held back at the end joins the last."""
        text = TextSoFar(self.tokenizer)
        pieces = [text.add(token) for token in tokens if token != self.eot]
        tail = text.flush()
        if pieces:
            pieces[-1] += tail
        return pieces

    def run(self, job: Job, channel: EventChannel) -> None:
        """The work: generate, streaming tokens; then the last events. Never raises for a failed generation (the
        client gets an `error` event); raises ClientGone when nobody is listening any more."""
        started = time.perf_counter()
        beam_trace = BeamTrace() if self.config.strategy == "beam" else None
        trace = DecodingTrace(top=self.explain_top) if self.streams_tokens else beam_trace

        def on_token(token_id: int) -> None:
            self.generated.append(token_id)
            job.tokens = len(self.generated)
            if self.first_token_s is None:
                self.first_token_s = time.perf_counter() - started
            if token_id != self.eot:
                stream_text = self.text_so_far.add(token_id)
                channel.put("token", self.token_event(len(self.generated) - 1, token_id, stream_text,
                                                      trace.steps[-1]), job)

        try:
            completions = generate(StoppableModel(self.model, job), self.tokenizer, self.request.prompt, self.config,
                                   stop_strings=self.request.stop, complete_function=self.request.complete_function,
                                   use_cache=self.request.use_cache, trace=trace,
                                   on_token=on_token if self.streams_tokens else None)
        except TimedOut:
            job.outcome = "timeout"
            partial = make_completion(self.encoded.text, self.generated, self.tokenizer, self.eot, self.request.stop,
                                      self.request.complete_function, None)
            partial.finish_reason = "timeout"
            channel.finish(job, [("done", self.done_event(partial, time.perf_counter() - started))])
            return
        except Stopped:
            raise
        except Exception as err:
            channel.fail(job, err, "generation")
            return
        best = completions[0]
        job.tokens, job.outcome = len(best.tokens), best.finish_reason
        scored = beam_trace is not None
        events = [] if self.streams_tokens else [("beam", {
            "scored": scored,
            "hypotheses": [{"text": c.text, "score": finite(c.score) if scored else None, "tokens": c.tokens,
                            "pieces": self.pieces(c.tokens)} for c in completions],
            "steps": [self.beam_step(step) for step in beam_trace.steps] if scored else []})]
        channel.finish(job, events + [("done", self.done_event(best, time.perf_counter() - started))])

    def token_event(self, index: int, token_id: int, stream_text: str, step: StepTrace) -> dict:
        stages = [{"name": stage.name, "explanation": stage.explanation, "kept": stage.kept,
                   "candidates": [{**self.token(t), "prob": p} for t, p in zip(stage.token_ids, stage.probs)]}
                  for stage in step.stages]
        return {"index": index, **self.token(token_id), "stream_text": stream_text, "prob": step.chosen_probs[-1],
                "model_prob": step.chosen_probs[0], "stages": stages}

    def beam_step(self, step: BeamStep) -> dict:
        """A beam search step for the page: each beam's text so far, and each candidate as beam + token."""
        return {"step": step.step,
                "beams": [{"text": self.tokenizer.decode(tokens), "score": score}
                          for tokens, score in zip(step.beams, step.beam_scores)],
                "candidates": [{"beam": c.beam, **self.token(c.token), "score": c.score, "status": c.status,
                                "ends": c.ends, "new_beam": c.new_beam} for c in step.candidates]}

    def done_event(self, completion: Completion, seconds: float) -> dict:
        return {
            "text": completion.text,
            "finish_reason": completion.finish_reason,
            "tokens": completion.tokens,
            "all_tokens": self.encoded.ids + completion.tokens,
            "score": finite(completion.score),
            "seconds": seconds,
            "time_to_first_token_s": self.first_token_s,
            "tokens_per_second": len(completion.tokens) / seconds if seconds > 0 else None,
            "stream_tail": self.text_so_far.flush() if self.streams_tokens else "",
            "function": function_json(completion),
        }
