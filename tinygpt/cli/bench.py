"""`tinygpt bench`: runs the benchmark script `benchmarks/bench.py` of the source checkout this package lives in.

The benchmark compares TinyGPT against PyTorch eager, so it lives with the other benchmarks and their PyTorch
reference, outside the library; this command only finds it and hands it the arguments.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tinygpt.cli import EXIT_FAILED, print_stderr

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"


def load_bench(script: Path = SCRIPT):
    """benchmarks/bench.py as a module (None when this install has no source checkout beside it)."""
    if not script.is_file():
        return None
    spec = importlib.util.spec_from_file_location("tinygpt_bench", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    bench = load_bench()
    if bench is None:
        print_stderr(f"tinygpt bench: error: needs the source checkout's benchmarks/ ({SCRIPT} not found)")
        return EXIT_FAILED
    return bench.main(argv)
