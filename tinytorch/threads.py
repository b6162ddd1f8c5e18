"""How many threads the BLAS library behind NumPy's matrix products may use for the small products of decoding.

Decoding multiplies a few rows by every weight matrix: memory-bound matrix-vector work. On an idle machine OpenBLAS's
threads help (they read the weights with twice the bandwidth); on a machine whose cores are taken by other work they
collapse, because each product waits for a thread that is not running. `python benchmarks/bench_threads.py` on the
2-core machine (2026-11-25, medians of 4 interleaved rounds), batch-1 greedy decoding: idle, two BLAS threads 942
tokens/s against 786 with one; beside a busy-loop process holding one core, two threads 312 against 565 with one
(4-beam search: 320 against 244 idle, 106 against 236 beside the neighbour). So a decoder asks, when it starts a
generation, how many cores are free right now and uses that many BLAS threads for its small steps.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

_controller = None
_fixed: int | None = None  # set inside `fixed_blas_threads`: the count every generation uses


def _running_elsewhere() -> int:
    """Threads of other processes that are running or waiting for a core now (Linux: /proc/loadavg counts every
    runnable thread; this process's own, such as its BLAS threads, are taken back out)."""
    runnable = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    own = 0
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            own += (task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
    return max(0, runnable - own)


def free_cores(samples: int = 5) -> int:
    """Cores that no other process is using right now: the least of a few readings half a millisecond apart, so
    that a task passing through is not counted; every core where Linux's counts cannot be read."""
    cores = os.cpu_count() or 1
    try:
        elsewhere = []
        for _ in range(samples):
            elsewhere.append(_running_elsewhere())
            time.sleep(0.0005)
    except (OSError, ValueError, IndexError):
        return cores
    return max(1, cores - min(elsewhere))


def _blas():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()  # scans the loaded libraries once (milliseconds)
    return _controller.select(user_api="blas")


def usable_blas_threads() -> int:
    """BLAS threads worth using now: the free cores, never more than the BLAS library is set to use
    (OPENBLAS_NUM_THREADS or threadpoolctl), so a user's own limit stays a ceiling. A generation asks once for its
    small steps; training asks once, when a run starts, and keeps the count (a large product beside another job
    collapses the same way, and another count would change the run's last bits). Inside `fixed_blas_threads(count)`,
    `count`."""
    if _fixed is not None:
        return _fixed
    return max(1, min(free_cores(), elementwise_threads()))


@contextlib.contextmanager
def blas_threads(count: int) -> Iterator[None]:
    """Run the block with at most `count` BLAS threads (threadpoolctl), then restore the previous setting."""
    with _blas().limit(limits=count):
        yield


@contextlib.contextmanager
def fixed_blas_threads(count: int) -> Iterator[None]:
    """Run the block with exactly `count` BLAS threads for every product: the library is limited to `count` and
    `usable_blas_threads()` answers `count` instead of counting free cores (one thread at a time may use this)."""
    global _fixed
    if count < 1:
        raise ValueError(f"fixed_blas_threads: count must be >= 1, got {count}")
    previous, _fixed = _fixed, count
    try:
        with blas_threads(count):
            yield
    finally:
        _fixed = previous


# ---- element-wise kernels ---------------------------------------------------------------------------------------
_pool = None
_pool_workers = 0


def elementwise_threads() -> int:
    """Threads for the element-wise kernels of training (fused GELU and layer norm): as many as the BLAS library
    may use right now (its configured count, the ceiling `usable_blas_threads` also keeps), so that `blas_threads`,
    `fixed_blas_threads` and OPENBLAS_NUM_THREADS bound them too."""
    if _fixed is not None:
        return _fixed
    return max((library.num_threads for library in _blas().lib_controllers), default=1)


def for_each_block(work, blocks: list) -> None:
    """`work(block)` for every block, spread over `elementwise_threads()` threads (NumPy releases the GIL inside
    its loops, so the threads run at once). Each block is computed the same way on any thread: results are bit for
    bit those of the plain loop."""
    workers = min(elementwise_threads(), len(blocks) // 2) if len(blocks) >= 4 else 1  # few blocks: not worth it
    if workers < 2:
        for block in blocks:
            work(block)
        return
    global _pool, _pool_workers
    if _pool_workers < workers:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tinytorch-elementwise")
        _pool_workers = workers
    share = -(-len(blocks) // workers)  # contiguous runs of blocks, one per thread
    futures = [_pool.submit(lambda run: [work(block) for block in run], blocks[i:i + share])
               for i in range(0, len(blocks), share)]
    for future in futures:
        future.result()  # re-raises a worker's exception here
