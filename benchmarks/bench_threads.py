"""Does running tinytorch's element-wise kernels in row blocks on several threads pay? (TINYTORCH_NUM_THREADS)

    python benchmarks/bench_threads.py [--repeats 3]

Times a lone tanh-GELU (forward, 16 x 256 x 1024 floats) and a whole TinyGPT training step at the benchmark
configuration, each in a fresh process per thread count, alternating 1 and 2 threads so machine drift hits both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, time, numpy as np
import tinytorch as tt
from tinytorch import ops
from tinygpt.model import GPT, GPTConfig

def median_seconds(fn, repeats):
    fn(); fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return float(np.median(times))

x = np.random.default_rng(0).standard_normal((16, 256, 1024), dtype=np.float32)
gelu = median_seconds(lambda: ops.Gelu().forward(x, approximate="tanh"), 30)
model = GPT(GPTConfig(), seed=0)
optimizer = tt.optim.AdamW(model.optimizer_groups(0.1), lr=1e-3)
rng = np.random.default_rng(0)
batch = rng.integers(0, 4096, (16, 257))

def step():
    _, loss = model(batch[:, :-1], batch[:, 1:])
    loss.backward(); optimizer.step(); optimizer.zero_grad()

print(json.dumps({"gelu_ms": 1e3 * gelu, "step_tokens_per_s": 16 * 256 / median_seconds(step, 4)}))
"""


def measure(threads: int) -> dict:
    env = {**os.environ, "TINYTORCH_NUM_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of (1 thread, 2 threads)")
    args = parser.parse_args()
    print(f"{'threads':>8}{'lone GELU ms':>14}{'train step tok/s':>18}")
    for _ in range(args.repeats):
        for threads in (1, 2):
            result = measure(threads)
            print(f"{threads:>8}{result['gelu_ms']:>14.1f}{result['step_tokens_per_s']:>18.0f}", flush=True)


if __name__ == "__main__":
    main()
