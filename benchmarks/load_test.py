"""A bounded load test of `tinygpt serve` on loopback: N clients at once, each a short streamed generation.

    python benchmarks/load_test.py [--checkpoint PATH] [--clients 8] [--new-tokens 16] [--deadline 50]
                                   [--out benchmarks/results/load_test.json]

Starts the real command, `python -m tinygpt serve --port 0`, on a free loopback port, waits for the URL it prints,
then starts every client at the same moment (threads, each with its own httpx connection reading the event stream
as it arrives). Even clients decode greedily, odd ones sample with a seed. The server runs one generation at a time,
so the later clients wait in line: the spread between p50 and p99 is that line. Reported, and written as JSON:

    time_to_first_token_s   from sending the request to the first `token` event (p50, p99, max)
    total_s                 from sending the request to the `done` event
    errors                  anything but a 200 with a `done` event: an error status, an `error` event, a broken
                            stream, or a client still running at the deadline
    server_tokens_per_s     tokens generated over the wall time of the whole run

It stops by itself: the whole run (server start included) has a hard deadline (`--deadline`, 50 s), after which
unfinished clients count as errors and the server is terminated (at most 5 s more). Exit status 0 when every client
finished without error, 1 otherwise, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np

from tinygpt.generate import DEFAULT_CHECKPOINT

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["def fibonacci(n):", "import os\n", "class Stack:\n    def push(self, item):", "for i in range(",
           "# return the largest of three numbers", "def read_lines(path):", "x = [", "with open("]


@dataclass
class ClientResult:
    client: int
    strategy: str
    ok: bool = False
    error: str | None = None
    time_to_first_token_s: float | None = None
    total_s: float | None = None
    tokens: int = 0


def start_server(checkpoint: Path, clients: int, deadline: float) -> tuple[subprocess.Popen, str]:
    """`tinygpt serve` on any free loopback port; returns the process and its URL once it listens."""
    command = [sys.executable, "-m", "tinygpt", "serve", "--checkpoint", str(checkpoint), "--host", "127.0.0.1",
               "--port", "0", "--max-queue", str(clients), "--request-timeout", "45"]
    errors = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a pipe nobody reads could fill and block it
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT)
    printed: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: printed.put(server.stdout.readline()), daemon=True).start()
    try:
        line = printed.get(timeout=max(deadline - time.monotonic(), 0.1))
    except queue.Empty:
        line = ""
    if "http://" not in line:
        stop_server(server)
        errors.seek(0)
        problem = errors.read().strip() or "no URL printed before the deadline"
        raise RuntimeError(f"the server did not start: {problem}")
    return server, line[line.index("http://"):].split()[0]


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_client(url: str, index: int, new_tokens: int, start: threading.Barrier, deadline: float,
               result: ClientResult) -> None:
    """One client: a streamed generation, timed from sending the request to the first token and to `done`."""
    body = {"prompt": PROMPTS[index % len(PROMPTS)], "strategy": result.strategy, "max_new_tokens": new_tokens,
            "client_id": f"load-{index}"}
    if result.strategy == "sample":
        body["seed"] = index
    try:
        start.wait(timeout=max(deadline - time.monotonic(), 0.1))
        timeout = httpx.Timeout(max(deadline - time.monotonic(), 0.1))
        with httpx.Client(base_url=url, timeout=timeout, trust_env=False) as client:
            sent = time.perf_counter()
            with client.stream("POST", "/api/generate", json=body) as response:
                if response.status_code != 200:
                    result.error = f"HTTP {response.status_code}: {response.read().decode(errors='replace')[:200]}"
                    return
                event = None
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[len("event: "):]
                    elif line.startswith("data: ") and event in ("token", "done", "error"):
                        if result.time_to_first_token_s is None and event in ("token", "done"):
                            result.time_to_first_token_s = time.perf_counter() - sent
                        if event == "token":
                            result.tokens += 1
                        elif event == "error":
                            result.error = json.loads(line[len("data: "):])["message"]
                            return
                        else:
                            result.total_s = time.perf_counter() - sent
                            result.ok = True
                            return
        result.error = "the stream ended without a done event"
    except (httpx.HTTPError, threading.BrokenBarrierError, OSError) as err:
        result.error = f"{type(err).__name__}: {err}"


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99)),
            "max": float(max(values))}


def run_load_test(checkpoint: Path, clients: int, new_tokens: int, deadline_s: float) -> dict:
    started = time.monotonic()
    deadline = started + deadline_s
    server, url = start_server(checkpoint, clients, deadline)
    try:
        results = [ClientResult(i, "greedy" if i % 2 == 0 else "sample") for i in range(clients)]
        barrier = threading.Barrier(clients)
        threads = [threading.Thread(target=run_client, args=(url, i, new_tokens, barrier, deadline, results[i]),
                                    daemon=True) for i in range(clients)]
        load_started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        wall = time.perf_counter() - load_started
    finally:
        stop_server(server)
    for thread, result in zip(threads, results):
        if thread.is_alive():
            result.ok, result.error = False, "still running at the deadline"
    finished = [r for r in results if r.ok]
    return {
        "checkpoint": str(checkpoint), "url": url, "clients": clients, "new_tokens": new_tokens,
        "finished": len(finished), "errors": sum(not r.ok for r in results),
        "error_messages": [f"client {r.client}: {r.error}" for r in results if not r.ok],
        "time_to_first_token_s": percentiles([r.time_to_first_token_s for r in finished]),
        "total_s": percentiles([r.total_s for r in finished]),
        "wall_s": wall, "server_tokens_per_s": sum(r.tokens for r in results) / wall if wall > 0 else None,
        "per_client": [asdict(r) for r in results],
    }


def show(report: dict) -> None:
    def row(name: str, values: dict) -> str:
        cells = ["-" if values[k] is None else f"{values[k]:.3f}" for k in ("p50", "p99", "max")]
        return f"{name:<24}" + "".join(f"{cell:>10}" for cell in cells)

    print(f"{report['clients']} clients x {report['new_tokens']} tokens on {report['url']} ({report['checkpoint']})")
    print(f"{'seconds':<24}{'p50':>10}{'p99':>10}{'max':>10}")
    print(row("time to first token", report["time_to_first_token_s"]))
    print(row("total", report["total_s"]))
    print(f"finished {report['finished']}/{report['clients']}, errors {report['errors']}, "
          f"{report['server_tokens_per_s'] or 0:.1f} tokens/s over {report['wall_s']:.2f} s")
    for message in report["error_messages"]:
        print(f"  {message}")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load test of tinygpt serve on loopback (stops within --deadline).")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--clients", type=positive, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--new-tokens", type=positive, default=16, help="tokens per generation (default 16)")
    parser.add_argument("--deadline", type=float, default=50.0, help="seconds for the whole run (default 50)")
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    if not 1 <= args.deadline <= 60:
        parser.error(f"--deadline must be in [1, 60] seconds, got {args.deadline}")
    try:
        report = run_load_test(args.checkpoint, args.clients, args.new_tokens, args.deadline)
    except RuntimeError as err:
        print(f"load_test: error: {err}", file=sys.stderr)
        return 1
    show(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0 if report["errors"] == 0 and report["finished"] == report["clients"] else 1


if __name__ == "__main__":
    sys.exit(main())
