"""TinyGPT's speed and memory on this machine, against PyTorch eager when torch is installed: what `tinygpt bench`
measures (its options: `tinygpt/cli/bench.py`; `python benchmarks/bench.py` is the same command as a script).

    run(QUICK, load_torch_reference(), Path("out"), scaling=True)   # OUT/results.json and OUT/scaling.png

Both frameworks get the same weights (ours copied into the PyTorch model), the same batches and the same thread
count, in one process. Each measure is repeated with ours and PyTorch interleaved, so that drift in machine load
hits both, and the median is reported. Peak memory of a training step comes from a separate child process per
framework, so that their RSS peaks do not mix. The PyTorch side is `torch_reference.py` (the `bench` extra),
imported only where torch is installed.

    settings.py         FULL and QUICK, the shared optimizer settings and seed, threads, loading the PyTorch side
    timing.py           a measure, interleaved measures and their median
    ours.py             tinytorch's side: batches, training step, forward, decoding, the per-op profile
    torch_reference.py  PyTorch's side: the same model and measures (the `bench` extra)
    memory.py           peak memory of a training step, each framework in a child process
    compare.py          the comparison at the benchmark configuration
    sweeps.py           how cost grows with context and width, and its plot
    __init__.py         the report (ROWS, the printed table, the machine) and `run`, which writes OUT/results.json
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from tinygpt.bench.compare import compare
from tinygpt.bench.ours import batches_for, our_generate, our_greedy_decode
from tinygpt.bench.settings import FULL, QUICK, SEED, Setup, load_torch_reference, thread_count
from tinygpt.bench.sweeps import plot_sweeps, sweeps
from tinygpt.checkpoint import atomic_write_bytes, atomic_write_text

__all__ = ["FULL", "QUICK", "ROWS", "SEED", "Setup", "batches_for", "format_table", "load_torch_reference",
           "our_generate", "our_greedy_decode", "run", "thread_count"]


ROWS = [("train_tokens_per_s", "training step, tokens/s"), ("forward_tokens_per_s", "forward only, tokens/s"),
        ("decode_tokens_per_s", "decode b=1 KV cache, loop vs torch loop, tok/s"),
        ("generate_tokens_per_s", "greedy generate b=1 vs HF generate, tok/s"),
        ("beam4_tokens_per_s", "beam search 4 beams vs HF generate, tok/s"),
        ("train_step_rss_mib", "train step RSS above baseline, MiB"), ("train_peak_rss_mib", "train peak RSS, MiB"),
        ("train_gflops", "train GFLOP/s"), ("train_mfu_percent", "train MFU, % of matmul peak")]


def format_table(results: dict) -> str:
    """The printed report: model facts, then one row per measure with ours, PyTorch and ours / PyTorch."""
    facts, config = results["facts"], results["config"]
    flops = facts["flops"]
    lines = [f"tinygpt bench, {results['date']}, {results['machine']['note']}",
             f"config: vocab {config['vocab_size']}, {config['n_layer']} layers, {config['n_head']} heads, width "
             f"{config['n_embd']}, context {config['block_size']}, batch {results['batch_size']}, float32, AdamW",
             f"parameters {facts['parameters']['total']:,}; FLOPs per step {flops['train_step'] / 1e9:.1f} G (forward "
             f"{flops['forward'] / 1e9:.1f} G); NumPy matmul peak {facts['matmul_peak_gflops']:.0f} GFLOP/s",
             f"activations held for backward {facts['activation_mib']:.0f} MiB; KV cache at batch 1 "
             f"{facts['kv_cache_mib_batch1']:.2f} MiB; loss first/last {facts['losses_first_last']}",
             f"same tokens as ours: {results['tokens_agree'] or 'n/a'}", "",
             f"{'measure':<47}{'tinytorch':>12}{'PyTorch':>12}{'ratio':>9}"]
    for key, label in ROWS:
        ours, theirs = results[key]["ours"], results[key]["torch"]
        cells = [f"{v:>12.1f}" if v is not None else f"{'n/a':>12}" for v in (ours, theirs)]
        ratio = f"{ours / theirs:>9.3f}" if ours is not None and theirs else f"{'n/a':>9}"
        lines.append(f"{label:<47}{cells[0]}{cells[1]}{ratio}")
    return "\n".join(lines)


def machine_note() -> dict:
    """Where the figures come from; the load average says how busy the machine was."""
    load, cores, threads = os.getloadavg(), os.cpu_count(), thread_count()
    return {"platform": platform.platform(), "cpu_count": cores, "threads": threads, "numpy": np.__version__,
            "load_average_start": load, "thread_env": {k: v for k, v in os.environ.items() if k.endswith("_THREADS")},
            "note": f"{platform.machine()}, {cores} cores, threads per framework {threads}, "
                    f"load average {load[0]:.1f} at start"}


def run(setup: Setup, reference, out: Path, scaling: bool) -> dict:
    """Measure `setup` (against `reference`, the PyTorch side, unless None), print the table and write
    OUT/results.json (and with `scaling` the sweeps, OUT/scaling.png); the results."""
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_note(),
               "config": setup.config.to_dict(), "batch_size": setup.batch_size}
    out.mkdir(parents=True, exist_ok=True)
    results.update(compare(setup, reference))
    table = format_table(results)
    atomic_write_text(out / "results.json", json.dumps(results, indent=1))  # kept if the sweeps are interrupted
    if scaling:
        print(f"{table}\n\nsweeps:", flush=True)
        results["scaling"] = sweeps(setup, reference)
        atomic_write_bytes(out / "scaling.png", plot_sweeps(results["scaling"]))
    results["machine"]["load_average_end"] = os.getloadavg()
    atomic_write_text(out / "results.json", json.dumps(results, indent=1))
    print(table)
    print(f"wrote {out / 'results.json'}" + (f" and {out / 'scaling.png'}" if scaling else ""))
    return results
