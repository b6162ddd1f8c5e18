"""What a model costs: parameters, FLOPs, time per op, memory of activations, of the KV cache and of the process,
and the machine's matmul peak that achieved FLOP/s are measured against.

    with record_ops() as profile:
        loss = model(x, y)[1]
        loss.backward()
    print(profile.table())          # forward and backward ms of every op type, and their share of the wall time

FLOPs are counted analytically from the modules (a multiply-add is 2 FLOPs; backward is twice the forward),
so they describe the work, not how long it took. Activation memory is what the recorded graph keeps alive
for backward; parameters are not activations and are left out.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import autograd
from .nn import Embedding, KVCache, Linear, Module, MultiHeadAttention
from .tensor import Tensor


# ---- parameters and FLOPs --------------------------------------------------------------------------------------
def count_parameters(model: Module) -> dict[str, int]:
    """Parameter elements in all, in embedding tables (token and position), and the rest. Tied weights count once:
    a tied output head (lm_head = wte) is part of the embedding count."""
    embedding_ids = {id(m.weight) for m in model.modules() if isinstance(m, Embedding)}
    params = list(model.parameters())
    embedding = sum(p.data.size for p in params if id(p) in embedding_ids)
    total = sum(p.data.size for p in params)
    return {"total": total, "embedding": embedding, "non_embedding": total - embedding}


def forward_flops(model: Module, batch_size: int, seq_len: int) -> int:
    """FLOPs of one forward pass over (batch_size, seq_len) tokens: every Linear (2 * in * out per token, the tied
    output head included) and every attention layer's two matrix products, q k^T and probs v (2 * T * C each per
    token, full T x T as the kernel computes it; the causal mask does not skip work). Embedding lookups, norms and
    elementwise ops are not counted, as is usual for model FLOPs."""
    per_token = 0
    for module in model.modules():
        if isinstance(module, Linear):
            per_token += 2 * module.in_features * module.out_features
        elif isinstance(module, MultiHeadAttention):
            per_token += 2 * 2 * seq_len * module.n_embd
    return per_token * batch_size * seq_len


def step_flops(model: Module, batch_size: int, seq_len: int) -> dict[str, int]:
    """Forward, backward (twice the forward: gradients for inputs and for weights) and training-step FLOPs."""
    forward = forward_flops(model, batch_size, seq_len)
    return {"forward": forward, "backward": 2 * forward, "train_step": 3 * forward}


def matmul_peak_gflops(sizes: tuple[int, ...] = (512, 1024, 2048), repeats: int = 3) -> float:
    """Best float32 NumPy matmul rate (GFLOP/s) over square sizes: the attainable peak that model FLOP/s are a share
    of (model FLOPs utilisation)."""
    best = 0.0
    for n in sizes:
        a, b = (np.random.default_rng(n).standard_normal((n, n), dtype=np.float32) for _ in range(2))
        a @ b  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


# ---- time per op -----------------------------------------------------------------------------------------------
@dataclass
class OpProfile:
    """Time per op type collected by `record_ops()`: forward and backward seconds and forward calls."""

    op_times: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ops_s(self) -> float:
        return sum(fwd + bwd for fwd, bwd, _ in self.op_times.values())

    def rows(self) -> list[dict]:
        """One dict per op, slowest first, plus an "(outside ops)" row: Python glue, graph walk, optimizer."""
        wall = max(self.wall_s, self.ops_s) or 1.0  # clocks of virtual CPUs can disagree by a hair; shares sum to 1
        rows = [{"op": name, "calls": calls, "forward_ms": 1e3 * fwd, "backward_ms": 1e3 * bwd,
                 "total_ms": 1e3 * (fwd + bwd), "share": (fwd + bwd) / wall}
                for name, (fwd, bwd, calls) in self.op_times.items()]
        rows.sort(key=lambda row: row["total_ms"], reverse=True)
        outside = max(self.wall_s - self.ops_s, 0.0)
        if self.wall_s:
            rows.append({"op": "(outside ops)", "calls": 0, "forward_ms": 0.0, "backward_ms": 0.0,
                         "total_ms": 1e3 * outside, "share": outside / wall})
        return rows

    def table(self, limit: int | None = None) -> str:
        rows = self.rows()
        shown = rows if limit is None else rows[:limit]
        lines = [f"{'op':<22}{'calls':>7}{'fwd ms':>10}{'bwd ms':>10}{'total ms':>10}{'share':>8}"]
        for row in shown:
            lines.append(f"{row['op']:<22}{row['calls']:>7}{row['forward_ms']:>10.1f}{row['backward_ms']:>10.1f}"
                         f"{row['total_ms']:>10.1f}{100 * row['share']:>7.1f}%")
        lines.append(f"{'wall':<22}{'':>7}{'':>10}{'':>10}{1e3 * self.wall_s:>10.1f}")
        return "\n".join(lines)


@contextlib.contextmanager
def record_ops() -> Iterator[OpProfile]:
    """Time every op run inside the block (autograd's profiling hooks); the yielded OpProfile fills in on exit.

    Counters that were already running (TINYTORCH_PROFILE=1) are kept and continue afterwards.
    """
    previous_flag, previous_times = autograd.profiling, dict(autograd.op_times)
    autograd.op_times.clear()
    autograd.profiling = True
    profile = OpProfile()
    start = time.perf_counter()
    try:
        yield profile
    finally:
        profile.wall_s = time.perf_counter() - start
        profile.op_times = {name: (fwd, bwd, int(calls)) for name, (fwd, bwd, calls) in autograd.op_times.items()}
        autograd.profiling = previous_flag
        autograd.op_times.clear()
        autograd.op_times.update(previous_times)


# ---- memory ----------------------------------------------------------------------------------------------------
def _buffer(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory behind a view."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def graph_nbytes(output: Tensor) -> int:
    """Bytes the graph behind `output` keeps alive for backward: the data of every intermediate tensor and every
    array an op saved, each buffer counted once (views share their owner), parameters and other leaves excluded."""
    leaves: set[int] = set()
    buffers: dict[int, int] = {}
    seen: set[int] = set()
    stack = [output]
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        fn = tensor._ctx
        if fn is None:
            leaves.add(id(_buffer(tensor.data)))
            continue
        owner = _buffer(tensor.data)
        buffers[id(owner)] = owner.nbytes
        for value in (*vars(fn).values(), *fn.inputs):
            if isinstance(value, Tensor):
                stack.append(value)
            elif isinstance(value, np.ndarray):
                owner = _buffer(value)
                buffers[id(owner)] = owner.nbytes
    return sum(nbytes for key, nbytes in buffers.items() if key not in leaves)


def traced_peak_nbytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated (NumPy buffers included) while `fn()` runs, above what was allocated before, via
    tracemalloc. Tracing slows the call down; use it for memory, never for time."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        if not already:
            tracemalloc.stop()


def kv_cache_nbytes(kv_caches: list[KVCache]) -> int:
    """Bytes preallocated by a model's KV caches (keys and values of every layer)."""
    return sum(cache.nbytes() for cache in kv_caches)


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB. On Linux VmHWM, which starts afresh at exec (ru_maxrss would carry
    a parent's peak over into a child process); elsewhere ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
