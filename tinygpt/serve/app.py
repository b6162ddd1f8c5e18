"""The playground's web application: `create_app(model, tokenizer, limits)` and its endpoints.

    GET  /                     the page (static/index.html); GET /static/<file> its script and style
    GET  /api/info             the model's shape, the server's limits, the request defaults
    POST /api/generate         a generation streamed as server-sent events (session.py)
    POST /api/attention        attention probabilities of every layer and head for given tokens (inspection.py)
    POST /api/compare-cache    the same generation with and without the KV cache, timed token by token, streamed as
                               server-sent events (inspection.py)
    GET  /openapi.json         the schema of these endpoints
    POST /api/verify           `tinygpt generate --verify K`: candidates run against the prompt's examples or the
                               user's tests in the sandbox (without either: the first that compiles, defines the
                               function and runs), the first that passes returned (else the greedy one)

Every response carries the page's security headers (`SECURITY_HEADERS`: a Content-Security-Policy, nosniff, no
referrer), the API's and the static files' as well as the page's, errors included.

Every request runs through the same `tinygpt.generate.generate` as the command line, with the GenerationConfig
that `tinygpt generate` builds from the same options (schema.py), on the one worker thread (worker.py). Errors:
422 names the field (`detail[i].loc`, `detail[i].msg`), 429 a client that already has a request running, 503 a full
line, 503 a verify request on a machine without the sandbox (unless `tinygpt serve --allow-unconfined`), 504 a
verification that ran out of time (`request_timeout_s`, running the candidates included); each with `detail` for a
person. A candidate's reason is sent `printable`: generated code cannot put control characters in it.

The Host header. A web page from anywhere can make a browser send requests to 127.0.0.1; once its own domain name
resolves to 127.0.0.1 (DNS rebinding) the browser even lets it read the answers. Such requests name the page's domain
in their Host header, so by default the app answers only requests addressed to a loopback name (localhost,
127.0.0.0/8, ::1) and refuses others with 400 in one line (`LoopbackHostsOnly`); `tinygpt serve --host` with another
address turns the check off, since the user then wants other machines to reach it.
"""

from __future__ import annotations

import ipaddress
import time
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinygpt.console import printable
from tinygpt.generate import decoding_config
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable
from tinygpt.serve.inspection import CacheComparison, attention_maps
from tinygpt.serve.schema import (
    VERIFY_DOOR,
    AttentionRequest,
    GenerateRequest,
    Limits,
    VerifyRequest,
    check_caps,
    check_verify_caps,
    field_error,
    generation_config,
    request_defaults,
    strategy_defaults,
)
from tinygpt.serve.session import EventChannel, EventStream, Generation, function_json
from tinygpt.serve.worker import Job, Refused, StoppableModel, TimedOut, Worker
from tinygpt.tasks.verify import candidate_code, verify
from tinytorch.generation import STRATEGIES, GenerationConfigError, GenerationError

__all__ = ["SECURITY_HEADERS", "STATIC", "LoopbackHostsOnly", "SecurityHeaders", "create_app", "is_loopback_host"]

STATIC = Path(__file__).resolve().parent / "static"
# The page loads only its own files and draws model text as text: a browser enforcing this policy refuses inline
# scripts, `eval`, plugins and any fetch to another origin, whatever a bug in the page might try. nosniff: a file is
# only ever what its content type says; no-referrer: the page's address (and the prompt in it, if ever) stays here.
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}


def is_loopback_host(host: str) -> bool:
    """Whether a Host header (`name`, `name:port`, `[v6]:port`) names this machine: localhost or a loopback
    address."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LoopbackHostsOnly:
    """ASGI middleware: a request whose Host header is not a loopback name gets 400 and one line (see the module
    docstring); everything else passes through untouched, streams included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host", "")
            if not is_loopback_host(host):
                message = (f"this playground answers only requests addressed to localhost, 127.0.0.1 or [::1], not "
                           f"{host[:100]!r} (start it with --host to serve other names)\n")
                await PlainTextResponse(message, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: `SECURITY_HEADERS` on every HTTP response (set, replacing any the app gave), streams
    included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 body, reduced to what names the problem: the input itself is left out (it may be NaN, which
    JSON cannot carry)."""
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def refused(_: Request, error: Refused) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=error.status)


def timed_out(request: Request, _: TimedOut) -> JSONResponse:
    timeout = request.app.state.limits.request_timeout_s
    return JSONResponse({"detail": f"the request took longer than this server's timeout ({timeout:g} s); ask for "
                                   "less (fewer tokens or candidates)"}, status_code=504)


def settings_refused(_: Request, error: GenerationConfigError) -> JSONResponse:
    """Settings that pass every range check but would need more memory than generation may use (found by
    `generate` itself): 422 naming the setting to blame (the error's `field`)."""
    loc = ["body", error.field] if error.field in GenerateRequest.model_fields else ["body"]
    return JSONResponse({"detail": [{"loc": loc, "msg": str(error), "type": "value_error"}]}, status_code=422)


def no_sandbox(_: Request, error: SandboxUnavailable) -> JSONResponse:
    return JSONResponse({"detail": f"{error} (or start the server with --allow-unconfined)"}, status_code=503)


def model_failed(_: Request, error: GenerationError) -> JSONResponse:
    """The checkpoint cannot produce finite logits: nothing the request can change."""
    return JSONResponse({"detail": str(error)}, status_code=500)


def model_info(model, name: str) -> dict:
    c = model.config
    return {"name": name, "n_layer": c.n_layer, "n_head": c.n_head, "n_embd": c.n_embd, "block_size": c.block_size,
            "vocab_size": c.vocab_size, "parameters": model.num_parameters()}


def verification(model, tokenizer, request: VerifyRequest, sandbox: SandboxLimits, job: Job) -> dict:
    """The work of POST /api/verify, in the worker: `tinygpt.tasks.verify.verify`, its result as JSON: the completion
    shown (`prompt` as the model read it, then `text`), the checks, the seconds it all took, and for each candidate
    tried its verdict and its code. Generating and running the candidates both count against the job's deadline:
    past it, the running candidate is killed, no other is judged, and the request ends in `TimedOut` (504)."""
    started = time.perf_counter()
    config = decoding_config(max_new_tokens=request.max_new_tokens, door=VERIFY_DOOR)
    result = verify(StoppableModel(model, job), tokenizer, request.prompt, request.candidates, config,
                    tests=request.tests, limits=sandbox, seed=request.seed, time_left=job.time_left)
    completion = result.completion
    job.tokens, job.outcome = len(completion.tokens), completion.finish_reason
    return {"prompt": completion.prompt, "text": completion.text, "verified": result.verified, "tried": result.tried,
            "checks": result.checks, "level": result.level, "name": result.name,
            "finish_reason": completion.finish_reason, "function": function_json(completion),
            "seconds": time.perf_counter() - started,
            "results": [{"status": r.status, "reason": printable(r.reason), "confined": r.confined,
                         "code": printable(candidate_code(c) or c.prompt + c.text)}
                        for r, c in zip(result.results, result.candidates, strict=True)]}


def create_app(model, tokenizer, limits: Limits | None = None, model_name: str = "TinyGPT",
               sandbox: SandboxLimits | None = None, loopback_only: bool = True) -> FastAPI:
    """The playground for `model` (a GPT in eval mode) and its tokenizer. `app.state.worker` runs the jobs and
    keeps their records (`history`), `app.state.limits` the limits; `sandbox` the limits of the code that
    /api/verify runs; `loopback_only` refuses requests addressed to any other host name (see the module
    docstring)."""
    limits = limits or Limits()
    sandbox = sandbox or SandboxLimits()
    worker = Worker(limits.max_queue)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        worker.shutdown()

    app = FastAPI(title="TinyGPT playground", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.worker, app.state.limits = worker, limits
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(TimedOut, timed_out)
    app.add_exception_handler(GenerationConfigError, settings_refused)
    app.add_exception_handler(GenerationError, model_failed)
    app.add_exception_handler(SandboxUnavailable, no_sandbox)
    if loopback_only:
        app.add_middleware(LoopbackHostsOnly)
    app.add_middleware(SecurityHeaders)  # added last: the outermost, so a refused host gets the headers too
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    info = {"model": model_info(model, model_name), "limits": limits.to_dict(), "defaults": request_defaults(),
            "strategy_defaults": strategy_defaults(), "strategies": list(STRATEGIES)}

    def stream(kind: str, client_id: str | None, streamed: Generation | CacheComparison) -> EventStream:
        """Admit a streamed request (or `Refused`), hand its `run` to the worker, and answer with its events: its
        start event first, then a `queue` event whenever its place in line changes, then what the run sends."""
        job = worker.admit(kind, client_id, limits.request_timeout_s)
        channel = EventChannel()
        worker.submit(job, partial(streamed.run, channel=channel))
        start = streamed.start_event(worker.ahead(job))
        return EventStream(channel.events(start, partial(worker.ahead, job)), job)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/info")
    def get_info() -> dict:
        return info

    @app.post("/api/generate", response_class=EventStream, status_code=200)
    async def post_generate(request: GenerateRequest) -> EventStream:
        check_caps(request, limits)
        generation = Generation(model, tokenizer, request, generation_config(request), limits.explain_top)
        return stream("generate", request.client_id, generation)

    @app.post("/api/attention")
    async def post_attention(request: AttentionRequest) -> dict:
        tokens, block_size = request.tokens, model.config.block_size
        if not 1 <= len(tokens) <= block_size:
            raise field_error(f"give 1 to {block_size} token ids (the model's context), got {len(tokens)}", "tokens")
        for index, token in enumerate(tokens):
            if not 0 <= token < tokenizer.vocab_size:
                raise field_error(f"token id {token} is outside the vocabulary [0, {tokenizer.vocab_size})",
                                  "tokens", index)
        job = worker.admit("attention", None, limits.request_timeout_s)
        return await worker.call(job, partial(attention_maps, model, tokenizer, tokens))

    @app.post("/api/compare-cache", response_class=EventStream, status_code=200)
    async def post_compare_cache(request: GenerateRequest) -> EventStream:
        check_caps(request, limits, comparing=True)
        config = generation_config(request)
        if config.strategy == "beam":
            raise field_error("compare-cache runs greedy or sample decoding, not beam search", "strategy")
        if config.num_return_sequences != 1:
            raise field_error("compare-cache compares one sequence", "num_return_sequences")
        return stream("compare-cache", request.client_id, CacheComparison(model, tokenizer, request, config))

    @app.post("/api/verify")
    async def post_verify(request: VerifyRequest) -> dict:
        check_verify_caps(request, limits)
        job = worker.admit("verify", request.client_id, limits.request_timeout_s)
        return await worker.call(job, partial(verification, model, tokenizer, request, sandbox))

    return app
