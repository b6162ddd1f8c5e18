"""Do decoding's small steps run faster on one BLAS thread or two, on an idle machine and beside a busy neighbour?

    python benchmarks/bench_threads.py [--repeats 6] [--new-tokens 128] [--json OUT]
    python benchmarks/bench_threads.py --quick        # tiny configuration: checks the script runs

Reproduces the measurement behind `tinytorch.threads`: the decoder runs its small steps (a few rows through every
weight matrix) with as many BLAS threads as `usable_blas_threads()` gives when a generation starts (the free cores,
capped by the BLAS setting). Here that count is
forced to 1 and to 2 (by replacing `tinytorch.generation.decoder.usable_blas_threads`) and two runs are timed with each:
batch-1 greedy decoding (`tinygpt.bench`'s `our_greedy_decode`) and 4-beam search (`our_generate`), TinyGPT at the
`tinygpt bench` configuration (vocabulary 4,096, 4 layers, 4 heads, width 256, context 256), 16-token prompt.
Two conditions: the machine as it is ("idle"), then with a neighbour, a separate busy-loop process holding one core.
What `free_cores()` itself returns in each condition is reported beside the timings, so one can see whether the
policy would have picked the faster count. After a warm-up round, the runs and thread counts take turns, so drift in
machine load hits all of them; tokens/s are new tokens over the wall time of the whole call, as in `tinygpt bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from a source checkout
from tinygpt import bench  # noqa: E402
from tinygpt.model import GPT  # noqa: E402
from tinytorch.generation import decoder  # noqa: E402
from tinytorch.threads import free_cores  # noqa: E402

THREAD_COUNTS = (1, 2)


@contextlib.contextmanager
def neighbour(busy: bool) -> Iterator[None]:
    """With `busy`, a separate Python process spinning on one core for the duration of the block."""
    if not busy:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it start and take its core
        yield
    finally:
        process.kill()
        process.wait()


def time_condition(runs: dict[str, Callable[[], np.ndarray]], new_tokens: int, repeats: int, label: str) -> dict:
    """Tokens/s of every run at every forced thread count, interleaved; free_cores() read before each round."""
    rates = {name: {threads: [] for threads in THREAD_COUNTS} for name in runs}
    outputs: dict[tuple[str, int], np.ndarray] = {}
    readings = []
    for round_index in range(repeats + 1):  # round 0 is the warm-up
        readings.append(free_cores())
        for name, run in runs.items():
            for threads in THREAD_COUNTS:
                with mock.patch.object(decoder, "usable_blas_threads", lambda count=threads: count):
                    start = time.perf_counter()
                    outputs[name, threads] = run()
                    seconds = time.perf_counter() - start
                if round_index:
                    rates[name][threads].append(new_tokens / seconds)
        kind = "warm-up" if round_index == 0 else f"round {round_index}/{repeats}"
        print(f"  {label}: {kind} done, free_cores() = {readings[-1]}", file=sys.stderr, flush=True)
    return {"free_cores": readings,
            "tokens_per_s": {name: {str(threads): {"median": statistics.median(values), "min": min(values),
                                                   "max": max(values), "samples": values}
                                    for threads, values in by_threads.items()}
                             for name, by_threads in rates.items()},
            "same_tokens": {name: all(np.array_equal(outputs[name, THREAD_COUNTS[0]], outputs[name, threads])
                                      for threads in THREAD_COUNTS) for name in runs}}


def print_table(results: dict) -> None:
    print(f"{'condition':<11}{'free_cores()':>13}  {'run':<8}{'threads':>8}{'median tok/s':>14}{'min':>9}{'max':>9}"
          f"{'vs 1 thread':>13}")
    for condition, measured in results["conditions"].items():
        readings = measured["free_cores"]
        free = f"{min(readings)}" if min(readings) == max(readings) else f"{min(readings)}-{max(readings)}"
        for name, by_threads in measured["tokens_per_s"].items():
            single = by_threads[str(THREAD_COUNTS[0])]["median"]
            for threads, stats in by_threads.items():
                print(f"{condition:<11}{free:>13}  {name:<8}{threads:>8}{stats['median']:>14.1f}{stats['min']:>9.1f}"
                      f"{stats['max']:>9.1f}{stats['median'] / single:>12.2f}x")
        if not all(measured["same_tokens"].values()):
            print(f"{'':<11}note: thread counts produced different tokens: {measured['same_tokens']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per condition (default 6)")
    parser.add_argument("--new-tokens", type=int, default=None, help="tokens generated per run (default 128)")
    parser.add_argument("--quick", action="store_true", help="tiny configuration, 1 round, a few tokens")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write every number to OUT")
    args = parser.parse_args()
    setup = bench.QUICK if args.quick else bench.FULL
    repeats = args.repeats or (1 if args.quick else 6)
    new_tokens = args.new_tokens or (setup.new_tokens if args.quick else 128)
    if repeats < 1 or new_tokens < 1:
        parser.error(f"--repeats and --new-tokens must be >= 1, got {repeats} and {new_tokens}")

    model = GPT(setup.config, seed=bench.SEED)
    prompt = bench.batches_for(setup.config, setup.batch_size, 1)[0][:1, : setup.prompt_len]
    runs = {"greedy": lambda: bench.our_greedy_decode(model, prompt, new_tokens)[0],
            "beam4": lambda: bench.our_generate(model, prompt, new_tokens, num_beams=4)}
    results = {"config": dataclasses.asdict(setup.config), "prompt_len": setup.prompt_len, "new_tokens": new_tokens,
               "repeats": repeats, "cpu_count": os.cpu_count(), "loadavg_before": os.getloadavg(), "conditions": {}}
    for condition, busy in (("idle", False), ("neighbour", True)):
        with neighbour(busy):
            results["conditions"][condition] = time_condition(runs, new_tokens, repeats, condition)
    results["loadavg_after"] = os.getloadavg()

    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
