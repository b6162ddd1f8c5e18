"""How much the KV cache speeds up generation: 256 new tokens, cached against uncached, same model, same tokens.

    python benchmarks/bench_generate.py [--checkpoint PATH] [--new-tokens 256] [--batch-size 1] [--repeats 3]

Uses the trained checkpoint when it exists, else a randomly initialised TinyGPT of the same shape (vocabulary
4,096, 4 layers, 4 heads, width 256, context 256): speed does not depend on the weights. Greedy decoding from a
16-token prompt; uncached decoding re-runs the model over the whole window for every token. Both paths follow the
same sliding window (the context overflows once: 16 + 256 > 256), so they produce identical tokens, which is
checked. The median of `--repeats` runs is reported. The uncached runs take minutes: a progress bar on stderr counts
the decoding steps of all runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinygpt.checkpoint import load_model
from tinygpt.generate import gpt_decoder
from tinygpt.model import GPT, GPTConfig
from tinytorch.generation import GenerationConfig, generate

CHECKPOINT = Path(__file__).resolve().parents[1] / "models" / "tinygpt-stdlib" / "model.safetensors"


class ProgressStreamer:
    """A generation streamer that only advances a progress bar, one tick per decoding step."""

    def __init__(self, bar: tqdm):
        self.bar = bar

    def put(self, tokens: np.ndarray) -> None:
        self.bar.update(1)

    def end(self) -> None:
        pass


def timed_generation(model: GPT, prompts: np.ndarray, new_tokens: int, use_cache: bool,
                     bar: tqdm | None = None) -> tuple[float, list]:
    config = GenerationConfig(strategy="greedy", max_new_tokens=new_tokens)
    streamer = ProgressStreamer(bar) if bar is not None else None
    start = time.perf_counter()
    output = generate(gpt_decoder(model, use_cache), prompts, config, streamer=streamer)
    return time.perf_counter() - start, output.tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINT)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    if args.checkpoint.is_file():
        model, _, _ = load_model(args.checkpoint)
        source = str(args.checkpoint)
    else:
        model = GPT(GPTConfig(vocab_size=4096, block_size=256, n_layer=4, n_head=4, n_embd=256), seed=0)
        source = "random weights (no checkpoint found)"
    model.eval()
    c = model.config
    prompts = np.random.default_rng(0).integers(0, c.vocab_size, (args.batch_size, args.prompt_tokens))
    print(f"model: {source}: {c.n_layer} layers, width {c.n_embd}, context {c.block_size}, vocab {c.vocab_size}")
    print(f"greedy, batch {args.batch_size}, prompt {args.prompt_tokens} tokens, {args.new_tokens} new tokens, "
          f"median of {args.repeats}")

    timed_generation(model, prompts, 8, True)  # warm-up
    times: dict[bool, list[float]] = {True: [], False: []}
    tokens = {}
    bar = tqdm(total=2 * args.repeats * args.new_tokens, unit="step", dynamic_ncols=True, leave=False)
    for repeat in range(args.repeats):
        for use_cache in (True, False):
            bar.set_description(f"{'KV cache' if use_cache else 'uncached'} run {repeat + 1}/{args.repeats}")
            seconds, tokens[use_cache] = timed_generation(model, prompts, args.new_tokens, use_cache, bar)
            times[use_cache].append(seconds)
    bar.close()
    if tokens[True] != tokens[False]:
        raise SystemExit("cached and uncached generation disagree: the KV cache is broken")
    generated = args.batch_size * args.new_tokens
    for use_cache, label in ((False, "uncached"), (True, "KV cache")):
        seconds = statistics.median(times[use_cache])
        print(f"  {label:<9} {seconds:7.2f} s   {generated / seconds:8.1f} tokens/s")
    speedup = statistics.median(times[False]) / statistics.median(times[True])
    print(f"speed-up of the KV cache at {args.new_tokens} tokens: {speedup:.1f}x (identical tokens)")


if __name__ == "__main__":
    main()
