"""How cost grows with context and width, for `tinygpt bench`: training and single-token decoding (with and without
the KV cache) at each point of two sweeps, and the plot of both."""

from __future__ import annotations

import dataclasses
import io

from tinygpt.bench.ours import batches_for, our_greedy_decode, our_train_step
from tinygpt.bench.settings import LR, SEED, WEIGHT_DECAY, Setup
from tinygpt.bench.timing import interleave, ours_and_torch, wall
from tinygpt.model import GPT, GPTConfig
from tinytorch import profiler


def sweep_point(setup: Setup, config: GPTConfig, batch_size: int, reference) -> dict:
    """Training tokens/s, and single-token decode tokens/s at a full context with and without the KV cache."""
    model = GPT(config, seed=SEED)
    batch = batches_for(config, batch_size, 1)[0]
    n = setup.sweep_decode_steps
    prompt = batch[:1, : config.block_size - n]
    steps = {"ours": our_train_step(model)}
    decoders = {"ours": lambda cache: our_greedy_decode(model, prompt, n + 1, cache)[1]}
    if reference:
        torch_model = reference.TorchGPT.from_weights(config, model.weights())
        steps["torch"] = reference.train_step_fn(torch_model, LR, WEIGHT_DECAY)
        decoders["torch"] = lambda cache: reference.greedy_decode(torch_model, prompt, n + 1, cache)[1]
    train_s = interleave({name: wall(lambda s=s: s(batch)) for name, s in steps.items()}, 1)
    cached = interleave({name: lambda d=d: d(True) for name, d in decoders.items()}, 1)
    uncached = interleave({name: lambda d=d: d(False) for name, d in decoders.items()}, 1)
    flops = profiler.step_flops(model, batch_size, config.block_size)["train_step"]
    return {"context": config.block_size, "n_embd": config.n_embd, "batch_size": batch_size,
            "train_tokens_per_s": ours_and_torch({name: batch_size * config.block_size / s
                                                  for name, s in train_s.items()}),
            "train_gflops": ours_and_torch({name: flops / s / 1e9 for name, s in train_s.items()}),
            "decode_cached_tokens_per_s": ours_and_torch({name: n / s for name, s in cached.items()}),
            "decode_uncached_tokens_per_s": ours_and_torch({name: n / s for name, s in uncached.items()})}


def sweeps(setup: Setup, reference) -> dict[str, list[dict]]:
    """Context sweep at the base width and width sweep at the base context, tokens per training step constant."""
    base, tokens = setup.config, setup.batch_size * setup.config.block_size
    points: dict[tuple[int, int], dict] = {}  # (context, width) -> measures; the base point is in both sweeps

    def point(context: int, width: int) -> dict:
        if (context, width) not in points:
            config = dataclasses.replace(base, block_size=context, n_embd=width)
            points[context, width] = sweep_point(setup, config, max(1, tokens // context), reference)
            print(f"  context {context}, width {width}: done", flush=True)
        return points[context, width]

    return {"context": [point(context, base.n_embd) for context in setup.contexts],
            "width": [point(base.block_size, width) for width in setup.widths]}


def plot_sweeps(results: dict[str, list[dict]]) -> bytes:
    """Tokens/s against context and against width, log-log: ours solid, PyTorch dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), dpi=100)
    metrics = [("train_tokens_per_s", "training step", "tab:blue"),
               ("decode_cached_tokens_per_s", "decode, KV cache", "tab:green"),
               ("decode_uncached_tokens_per_s", "decode, no cache", "tab:red")]
    for ax, sweep, x_key in zip(axes, ("context", "width"), ("context", "n_embd"), strict=True):
        points = results[sweep]
        xs = [p[x_key] for p in points]
        for key, name, color in metrics:
            ax.plot(xs, [p[key]["ours"] for p in points], "o-", color=color, label=f"{name}, tinytorch")
            if points[0][key]["torch"] is not None:
                ax.plot(xs, [p[key]["torch"] for p in points], "s--", color=color, alpha=0.6,
                        label=f"{name}, PyTorch")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel(x_key)
        ax.set_ylabel("tokens/s")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title("cost against context (tokens per training step fixed)")
    axes[1].set_title("cost against width")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
