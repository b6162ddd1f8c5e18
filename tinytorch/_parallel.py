"""Run a row-wise kernel over contiguous row blocks, optionally on several threads: NumPy's elementwise ufuncs are
single-threaded but release the GIL, so with TINYTORCH_NUM_THREADS=N each block can run on its own core.

Off by default (one thread). Measured on the 2-core machine (`python benchmarks/bench_threads.py`): a lone GELU
runs 1.5x faster on two threads, but a whole TinyGPT training step gains nothing beyond run-to-run noise (one
thread 3,813-4,277 tokens/s, two threads 3,976-4,300), because OpenBLAS's own two threads already keep both cores
busy; and on a shared machine, extra threads that wait for cores slow everything down. Results are identical either
way: each row is computed once, by one thread.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

NUM_THREADS = max(1, int(os.environ.get("TINYTORCH_NUM_THREADS", "1")))
MIN_ELEMENTS = 1 << 16  # below this, threads cost more than they save
_pool: ThreadPoolExecutor | None = None


def for_row_blocks(kernel, rows: int, elements: int) -> None:
    """Call kernel(slice) over contiguous blocks of `rows`, in parallel when the work (`elements`) is large."""
    global _pool
    threads = min(NUM_THREADS, rows)
    if threads <= 1 or elements < MIN_ELEMENTS:
        kernel(slice(0, rows))
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(NUM_THREADS, thread_name_prefix="tinytorch")
    bounds = [rows * i // threads for i in range(threads + 1)]
    futures = [_pool.submit(kernel, slice(bounds[i], bounds[i + 1])) for i in range(1, threads)]
    kernel(slice(bounds[0], bounds[1]))
    for future in futures:
        future.result()
