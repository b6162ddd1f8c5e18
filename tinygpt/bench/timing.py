"""Timing for `tinygpt bench`: a measure is a call that returns seconds; measures take turns (`interleave`) so that
drift in the machine's load hits every framework alike, and the median is reported."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def wall(fn: Callable[[], object]) -> Callable[[], float]:
    """A measure that times the whole call."""
    def timed() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    return timed


def interleave(measures: dict[str, Callable[[], float]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each measure, the measures taking turns so that load drift affects all of them."""
    for _ in range(warmup):
        for measure in measures.values():
            measure()
    seconds: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            seconds[name].append(measure())
    return {name: statistics.median(values) for name, values in seconds.items()}


def ours_and_torch(values: dict) -> dict:
    """A measure as the report holds it: {"ours": x, "torch": y}, y None without PyTorch."""
    return {"ours": values["ours"], "torch": values.get("torch")}
