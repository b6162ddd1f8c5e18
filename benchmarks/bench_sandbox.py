"""What the sandbox costs per program: the wall time to judge a trivial passing function, from start to verdict.

    python benchmarks/bench_sandbox.py [--runs 20]

Three ways, each run `--runs` times after one warm-up, mean and median reported in milliseconds:
- one plain `python -I` process running code and tests together, with only a few limits and a marker line: no
  sandbox, the floor for any out-of-process check;
- `run_tests` unconfined (`allow_unconfined`, bubblewrap pretended missing): the candidate's process and the judge's,
  no isolation;
- `run_tests` in bubblewrap: the same two processes, each in its own sandbox (skipped where bwrap cannot run).
`generate --verify`-style checks of N samples multiply the figure by N; the machine's load changes it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from unittest import mock

from tinygpt import sandbox

CODE = "def add_one(x):\n    return x + 1\n"
TESTS = "assert add_one(1) == 2\nassert add_one(-1) == 0\n"


def plain_process() -> None:
    subprocess.run([sys.executable, "-I", "-c", CODE + TESTS], check=True, stdin=subprocess.DEVNULL)


def unconfined() -> None:
    with mock.patch.object(sandbox, "isolation_problem", lambda: "pretended missing for the benchmark"):
        result = sandbox.run_tests(CODE, TESTS, sandbox.SandboxLimits(allow_unconfined=True))
    assert (result.status, result.confined) == ("passed", False), result


def confined() -> None:
    result = sandbox.run_tests(CODE, TESTS)
    assert (result.status, result.confined) == ("passed", True), result


def milliseconds(run, runs: int) -> list[float]:
    run()  # warm-up: the first run also pays for imports and bubblewrap's availability check
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per way (default 20)")
    args = parser.parse_args()
    ways = [("one plain python -I process (no sandbox)", plain_process),
            ("run_tests, unconfined (two plain processes)", unconfined)]
    problem = sandbox.isolation_problem()
    if problem is None:
        ways.append(("run_tests in bubblewrap (two sandboxes)", confined))
    else:
        print(f"bubblewrap skipped: {problem}")
    print(f"wall time per program, {args.runs} runs each: mean / median (ms)")
    for name, run in ways:
        times = milliseconds(run, args.runs)
        print(f"  {name:<48}{statistics.mean(times):7.1f} / {statistics.median(times):.1f}")


if __name__ == "__main__":
    main()
