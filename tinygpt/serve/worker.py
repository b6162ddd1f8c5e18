"""The worker: the playground's CPU-bound jobs (generations, attention maps, cache comparisons) run here one at a
time, in a thread, so that the event loop stays free to stream tokens to every client.

Generation is NumPy work that already uses the machine's cores; two at once would only make both slower. So there
is one worker thread and a bounded line in front of it. The limits it enforces, for a shared laptop:

    one at a time per client   a request whose `client_id` already has a job admitted gets 429
    bounded line               beyond `max_queue` requests waiting behind the running one, 503; a job knows how
                               many were admitted before it and are not finished yet (`Worker.ahead`)
    deadline                   `request_timeout_s` after admission, the job stops (`TimedOut`)
    cancellation               a client that went away cancels its job (`ClientGone`)

A job stops between two forward passes of the model: `StoppableModel` stands in for the model inside `generate`
and checks the job before each call, so the decoding code needs no knowledge of clients or clocks and computes
exactly what it computes for `tinygpt generate`. Code a job runs in the sandbox (verify's candidates) gets at most
`Job.time_left()` and is killed at the deadline. Each finished job leaves a `JobRecord` in `Worker.history`
(its outcome and how many tokens it produced), which the tests read.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["ClientGone", "Job", "JobRecord", "Refused", "Stopped", "StoppableModel", "TimedOut", "Worker"]

Result = TypeVar("Result")


class Stopped(Exception):
    """A job stopped before it finished; `reason` is what `done.finish_reason` and the job record say."""

    reason = "stopped"


class ClientGone(Stopped):
    """The client disconnected (or stopped reading): nobody wants the rest."""

    reason = "disconnected"


class TimedOut(Stopped):
    """The request ran past `request_timeout_s`."""

    reason = "timeout"


class Refused(Exception):
    """A request the server will not take now: HTTP `status` (429 or 503) with `message` for a person."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(eq=False)
class Job:
    """One admitted request. `check()` raises when it must stop; the work sets `tokens` and `outcome` as it goes."""

    kind: str  # "generate", "attention", "compare-cache" or "verify"
    client_id: str | None
    deadline: float  # time.monotonic()
    cancelled: threading.Event = field(default_factory=threading.Event)
    tokens: int = 0  # tokens generated so far
    outcome: str = "done"  # a finish_reason, "timeout", "disconnected" or "error" once finished
    release: Callable[[], None] = field(default=lambda: None, repr=False)  # frees the client's slot (idempotent)
    ticket: int = 0  # the order of admission

    def cancel(self) -> None:
        """Ask the job to stop at its next check (harmless once it has finished)."""
        self.cancelled.set()

    def check(self) -> None:
        self.time_left()

    def time_left(self) -> float:
        """Seconds to the deadline, > 0; raises `ClientGone` or `TimedOut` when the job must stop instead."""
        if self.cancelled.is_set():
            raise ClientGone("the client went away")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimedOut("the request timed out")
        return left


@dataclass
class JobRecord:
    kind: str
    client_id: str | None
    outcome: str
    tokens: int
    seconds: float  # running time in the worker, queueing excluded


class StoppableModel:
    """A GPT as `tinygpt.generate.generate` sees it, except that every pass (`forward`, or `decode` through the KV
    cache) first checks `job`: generation stops between two tokens, raising `Stopped`, and otherwise computes exactly
    what the model computes."""

    def __init__(self, model, job: Job):
        self._model, self._job = model, job

    def __call__(self, *args, **kwargs):
        self._job.check()
        return self._model(*args, **kwargs)

    def decode(self, *args, **kwargs):
        self._job.check()
        return self._model.decode(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._model, name)


class Worker:
    """One worker thread and the admission rules in front of it (see the module docstring)."""

    def __init__(self, max_queue: int, history: int = 100):
        self.max_queue = max_queue
        self.history: deque[JobRecord] = deque(maxlen=history)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinygpt-serve")
        self._changed = threading.Condition()
        self._jobs: set[Job] = set()  # admitted and not finished: the running one and those waiting
        self._clients: set[str] = set()
        self._running = 0  # 1 while the thread runs a job (which may already be released)
        self._admitted = 0  # jobs admitted so far: the next job's ticket

    def admit(self, kind: str, client_id: str | None, timeout_s: float) -> Job:
        """A new job, or `Refused` (429: this client already has one; 503: the line is full)."""
        with self._changed:
            if client_id is not None and client_id in self._clients:
                raise Refused(429, "one request at a time: this page already has a generation, comparison or "
                                   "verification running; wait for it to finish or press Stop")
            if len(self._jobs) > self.max_queue:
                raise Refused(503, f"the server is busy: {self.max_queue} requests are already waiting; try again "
                                   "in a moment")
            job = Job(kind, client_id, time.monotonic() + timeout_s, ticket=self._admitted)
            self._admitted += 1
            job.release = functools.partial(self._release, job)
            self._jobs.add(job)
            if client_id is not None:
                self._clients.add(client_id)
        return job

    def ahead(self, job: Job) -> int:
        """How many jobs are before `job` in the line: admitted earlier and not released (the running one
        included); 0 once it runs."""
        with self._changed:
            return sum(other.ticket < job.ticket for other in self._jobs)

    def submit(self, job: Job, work: Callable[[Job], Result]) -> Future:
        """Run `work(job)` when the worker is free; the job is released (its client may start another) when it
        ends, however it ends."""
        future = self._executor.submit(self._run, job, work)
        future.add_done_callback(lambda _: job.release())
        return future

    async def call(self, job: Job, work: Callable[[Job], Result]) -> Result:
        """`submit`, awaited; if the awaiting request is cancelled (its client left), so is the job."""
        try:
            return await asyncio.wrap_future(self.submit(job, work))
        finally:
            job.cancel()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job is admitted or running, its record written (True), or `timeout` seconds pass."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._jobs and not self._running, timeout)

    def shutdown(self) -> None:
        """Cancel every job and let the thread go (the running job stops at its next forward pass)."""
        with self._changed:
            for job in self._jobs:
                job.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job, work: Callable[[Job], Result]) -> Result:
        started = time.monotonic()
        with self._changed:
            self._running += 1
        try:
            return work(job)
        except Stopped as stop:
            job.outcome = stop.reason
            raise
        except BaseException:
            job.outcome = "error"
            raise
        finally:
            with self._changed:
                self.history.append(JobRecord(job.kind, job.client_id, job.outcome, job.tokens,
                                              time.monotonic() - started))
                self._running -= 1
                self._changed.notify_all()

    def _release(self, job: Job) -> None:
        """The job no longer counts against its client or the line. A generation calls it just before its last
        event, so that a client starting its next request on `done` is never refused."""
        with self._changed:
            self._jobs.discard(job)
            if job.client_id is not None:
                self._clients.discard(job.client_id)
            self._changed.notify_all()
