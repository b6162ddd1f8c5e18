"""Peak memory of a training step for `tinygpt bench`, each framework in a child process of its own, so that their
RSS peaks do not mix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tinygpt.bench.ours import batches_for, our_train_step
from tinygpt.bench.settings import LR, SEED, WEIGHT_DECAY, load_torch_reference
from tinygpt.model import GPT, GPTConfig
from tinytorch import profiler

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding tinygpt, for the memory child


def training_memory_child(framework: str, config_json: str, batch_size: int) -> None:
    """Entry point of the child process: prints the peak RSS (MiB) over two training steps and the baseline peak
    once the model, optimizer and batch exist."""
    config = GPTConfig.from_dict(json.loads(config_json))
    batch = batches_for(config, batch_size, 1)[0]
    if framework == "ours":
        step = our_train_step(GPT(config, seed=SEED))
    else:
        reference = load_torch_reference()
        model = reference.TorchGPT(config.vocab_size, config.block_size, config.n_layer, config.n_head, config.n_embd)
        step = reference.train_step_fn(model, LR, WEIGHT_DECAY)
    baseline = profiler.peak_rss_mib()
    for _ in range(2):  # the first step also allocates the optimizer state
        step(batch)
    peak = profiler.peak_rss_mib()
    print(json.dumps({"baseline_mib": baseline, "peak_mib": peak, "step_mib": peak - baseline}))


def training_memory(framework: str, config: GPTConfig, batch_size: int) -> dict:
    code = (f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); "
            "from tinygpt.bench.memory import training_memory_child as run; run(*sys.argv[1:3], int(sys.argv[3]))")
    args = [sys.executable, "-c", code, framework, json.dumps(config.to_dict()), str(batch_size)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"bench: the {framework} memory child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
