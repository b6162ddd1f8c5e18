"""`tinygpt serve`: load a checkpoint, bind a loopback port and run the playground with uvicorn.

    tinygpt serve                                  the shipped model on http://127.0.0.1:8000/
    tinygpt serve --checkpoint runs/mixture/ckpt.safetensors --port 8080
    tinygpt serve --port 0                         any free port (the URL printed says which)

The socket is bound here, before uvicorn starts, so that a port in use is one line and exit status 2 like every
other bad argument, and so that `--port 0` can print the port it got. Connections are bounded (`BoundedH11Protocol`):
a request must arrive whole within READ_TIMEOUT_S, and at most MAX_CONNECTIONS are open at once, so clients that
send half a request and wait cannot pile up. Ctrl-C stops the server (uvicorn finishes or
cancels the open requests, then the command ends as every command does on Ctrl-C: one line, exit status 130).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
from collections.abc import Callable
from pathlib import Path

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tinygpt.cli import ArgumentParser
from tinygpt.cli.generate import run_generating_command
from tinygpt.generate import DEFAULT_CHECKPOINT, GenerateError, load_generator
from tinygpt.sandbox import SandboxLimits
from tinygpt.serve.app import create_app, is_loopback_host
from tinygpt.serve.schema import Limits

__all__ = ["BoundedH11Protocol", "build_parser", "listen", "main"]

DEFAULTS = Limits()
READ_TIMEOUT_S = 10.0  # from the connection opening (or the last response) to the end of the request's body
MAX_CONNECTIONS = 64  # open at once; one more is closed as soon as it is accepted


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 connection with two bounds uvicorn lacks: a request that has not arrived whole (headers
    and body) `read_timeout_s` after the connection opened, or after the previous response, is cut off; a connection
    beyond `max_connections` is closed at once."""

    read_timeout_s = READ_TIMEOUT_S
    max_connections = MAX_CONNECTIONS
    read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()
        else:
            self.read_deadline = self.loop.call_later(self.read_timeout_s, self.read_timed_out)

    def handle_events(self) -> None:
        super().handle_events()
        if self.read_deadline is not None and not self.reading_request():
            self.read_deadline.cancel()
            self.read_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.read_deadline is None:
            self.read_deadline = self.loop.call_later(self.read_timeout_s, self.read_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
        super().connection_lost(exc)

    def reading_request(self) -> bool:
        """Whether a request is still to come or still arriving (h11: the client is idle or sending its body)."""
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def read_timed_out(self) -> None:
        self.read_deadline = None
        if self.reading_request() and not self.transport.is_closing():
            self.transport.close()


def whole_number(low: int, high: int | None = None, note: str = "") -> Callable[[str], int]:
    """argparse type: an integer in [low, high] (no upper bound if high is None)."""
    expected = f"a whole number >= {low}" if high is None else f"a whole number in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}{note}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}{note}, got {value}")
        return value

    return parse


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="tinygpt serve", description="The TinyGPT playground: a local web page that "
                            "generates with a checkpoint and shows what the model computed (token probabilities, "
                            "each logits processor, attention).")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained TinyGPT (.safetensors)")
    parser.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on; the default is this machine only "
                        "(and then requests must name it: Host localhost, 127.0.0.1 or [::1])")
    parser.add_argument("--port", type=whole_number(0, 65535, " (0 = any free port)"), default=8000,
                        help="0 = any free port")
    parser.add_argument("--max-new-tokens-cap", type=whole_number(1), default=DEFAULTS.max_new_tokens,
                        help="the most tokens one request may generate")
    parser.add_argument("--max-prompt-chars", type=whole_number(1), default=DEFAULTS.max_prompt_chars,
                        help="the longest prompt accepted, in characters")
    parser.add_argument("--request-timeout", type=positive_seconds, default=DEFAULTS.request_timeout_s,
                        help="seconds a request may take, waiting in line included; then its generation stops")
    parser.add_argument("--max-queue", type=whole_number(0), default=DEFAULTS.max_queue,
                        help="requests that may wait while one runs; more are refused (503)")
    parser.add_argument("--allow-unconfined", action="store_true",
                        help="Verify: run candidates' code even where bubblewrap is missing (no isolation)")
    return parser


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; GenerateError (one line, exit 2) if that address cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as err:
        raise GenerateError(f"cannot listen on {host}:{port}: {getattr(err, 'strerror', None) or err}") from None


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    limits = Limits(max_new_tokens=args.max_new_tokens_cap, max_prompt_chars=args.max_prompt_chars,
                    request_timeout_s=args.request_timeout, max_queue=args.max_queue)
    model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
    name = args.checkpoint.parent.name or args.checkpoint.stem
    app = create_app(model, tokenizer, limits, model_name=name,
                     sandbox=SandboxLimits(allow_unconfined=args.allow_unconfined),
                     loopback_only=is_loopback_host(args.host))
    sock = listen(args.host, args.port)
    print(f"TinyGPT playground ({name}) on {url(sock)}  (Ctrl-C to stop)", flush=True)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, http=BoundedH11Protocol)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    """`tinygpt serve [options]`: runs until Ctrl-C (exit 130) or SIGTERM; bad options, a missing checkpoint or a
    port in use are one line on stderr and exit status 2."""
    return run_generating_command("tinygpt serve", lambda: run(argv))
