"""TinyGPT's speed and memory on this machine, against PyTorch eager when torch is installed: what `tinygpt bench`
measures (its options: `tinygpt/cli/bench.py`; `python benchmarks/bench.py` is the same command as a script).

    run(QUICK, load_torch_reference(), Path("out"), scaling=True)   # OUT/results.json and OUT/scaling.png

Both frameworks get the same weights (ours copied into the PyTorch model), the same batches and the same thread
count, in one process. Each measure is repeated with ours and PyTorch interleaved, so that drift in machine load
hits both, and the median is reported. Peak memory of a training step comes from a separate child process per
framework, so that their RSS peaks do not mix. The PyTorch side is `torch_reference.py` (the `bench` extra),
imported only where torch is installed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinytorch as tt
from tinygpt.checkpoint import atomic_write_bytes, atomic_write_text
from tinygpt.generate import gpt_decoder
from tinygpt.model import GPT, GPTConfig
from tinytorch import profiler
from tinytorch.generation import GenerationConfig, generate
from tinytorch.optim import AdamW

LR, WEIGHT_DECAY, SEED = 3e-4, 0.1, 0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding tinygpt, for the memory child


@dataclasses.dataclass
class Setup:
    config: GPTConfig
    batch_size: int
    steps: int  # timed repetitions of the training and forward measures
    prompt_len: int
    new_tokens: int  # generated per decode or beam-search run
    decode_repeats: int
    contexts: tuple[int, ...]  # sweep of block_size (batch shrinks to keep tokens per step constant)
    widths: tuple[int, ...]  # sweep of n_embd at the base context
    sweep_decode_steps: int  # single-token steps timed per sweep point (each measure once, after a warm-up)
    matmul_sizes: tuple[int, ...]


FULL = Setup(GPTConfig(vocab_size=4096, block_size=256, n_layer=4, n_head=4, n_embd=256), batch_size=16, steps=5,
             prompt_len=16, new_tokens=128, decode_repeats=3, contexts=(64, 128, 256, 512, 1024),
             widths=(128, 256, 512), sweep_decode_steps=8, matmul_sizes=(512, 1024, 2048))
QUICK = Setup(GPTConfig(vocab_size=128, block_size=32, n_layer=2, n_head=2, n_embd=32), batch_size=2, steps=2,
              prompt_len=4, new_tokens=6, decode_repeats=1, contexts=(16, 32), widths=(16, 32),
              sweep_decode_steps=2, matmul_sizes=(64, 128))


def thread_count() -> int:
    """The threads tinytorch's matrix products use (OpenBLAS: OPENBLAS_NUM_THREADS, else every core); PyTorch gets
    the same number."""
    return max(1, int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)))


def load_torch_reference():
    """`torch_reference.py` (the PyTorch side), or None when torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    from tinygpt.bench import torch_reference  # imports torch: only here, where it is installed

    torch_reference.set_threads(thread_count())
    return torch_reference


# ---- timing ----------------------------------------------------------------------------------------------------
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


# ---- our side: training step and decoding ----------------------------------------------------------------------
def batches_for(config: GPTConfig, batch_size: int, count: int) -> list[np.ndarray]:
    """`count` batches of random token ids, (B, T + 1): inputs and their shifted targets."""
    rng = np.random.default_rng(SEED)
    return [rng.integers(0, config.vocab_size, (batch_size, config.block_size + 1)) for _ in range(count)]


def our_train_step(model: GPT) -> Callable[[np.ndarray], float]:
    optimizer = AdamW(model.optimizer_groups(WEIGHT_DECAY), lr=LR)

    def step(batch: np.ndarray) -> float:
        _, loss = model(batch[:, :-1], batch[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def our_forward(model: GPT, batch: np.ndarray) -> None:
    with tt.no_grad():
        model(batch[:, :-1])


def our_greedy_decode(model: GPT, prompt: np.ndarray, new_tokens: int, use_cache: bool = True
                      ) -> tuple[np.ndarray, float]:
    """Greedy continuation of a (B, T) prompt through tinytorch.generation's Decoder, with or without the KV cache:
    the new ids and the seconds spent after the prefill."""
    decoder = gpt_decoder(model, use_cache)
    logits = decoder.start(prompt)
    start = time.perf_counter()
    generated = [logits.argmax(axis=-1)]  # (B,)
    while len(generated) < new_tokens:
        generated.append(decoder.advance(generated[-1]).argmax(axis=-1))
    return np.stack(generated, axis=1), time.perf_counter() - start


def our_generate(model: GPT, prompt: np.ndarray, new_tokens: int, num_beams: int = 1) -> np.ndarray:
    """tinytorch.generation's `generate`, greedy or beam search: the best sequence's new ids, (1, new_tokens)."""
    config = GenerationConfig(strategy="beam" if num_beams > 1 else "greedy", max_new_tokens=new_tokens,
                              num_beams=num_beams)
    return np.array(generate(gpt_decoder(model), prompt, config).tokens[:1])


def profile_train_step(model: GPT, batch: np.ndarray) -> tuple[profiler.OpProfile, int]:
    """Per-op times of one whole training step (after a warm-up step) and the bytes of activations its graph holds."""
    step = our_train_step(model)
    step(batch)
    _, loss = model(batch[:, :-1], batch[:, 1:])
    activations = profiler.graph_nbytes(loss)
    del loss
    with profiler.record_ops() as profile:
        step(batch)
    return profile, activations


# ---- peak memory, each framework in its own process ------------------------------------------------------------
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
            "from tinygpt.bench import training_memory_child as run; run(*sys.argv[1:3], int(sys.argv[3]))")
    args = [sys.executable, "-c", code, framework, json.dumps(config.to_dict()), str(batch_size)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"bench: the {framework} memory child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- the comparison at the benchmark configuration -------------------------------------------------------------
def compare(setup: Setup, reference) -> dict:
    """Every headline measure as {"ours": x, "torch": y} (torch None without PyTorch), plus model facts and the
    per-op profile of our training step."""
    config, batch_size = setup.config, setup.batch_size
    model = GPT(config, seed=SEED)
    batches = batches_for(config, batch_size, setup.steps + 1)
    profile, activations = profile_train_step(model, batches[0])
    print(profile.table(limit=12), flush=True)
    results = {"facts": {"parameters": profiler.count_parameters(model),
                         "flops": profiler.step_flops(model, batch_size, config.block_size),
                         "matmul_peak_gflops": profiler.matmul_peak_gflops(setup.matmul_sizes),
                         "activation_mib": activations / 2**20,
                         "kv_cache_mib_batch1": profiler.kv_cache_nbytes(model.new_kv_caches(1)) / 2**20},
               "profile": profile.rows()}
    start = time.perf_counter()
    results.update(compare_throughput(setup, model, reference, batches, results["facts"]))
    print(f"training and forward timed in {time.perf_counter() - start:.0f} s", flush=True)
    results.update(compare_decoding(setup, model, reference, batches[0][:1, : setup.prompt_len]))
    print(f"decoding timed, {time.perf_counter() - start:.0f} s so far", flush=True)
    memory = {name: training_memory(name, config, batch_size) for name in ("ours", "torch")[: 1 + bool(reference)]}
    results["train_step_rss_mib"] = _both({name: m["step_mib"] for name, m in memory.items()})
    results["train_peak_rss_mib"] = _both({name: m["peak_mib"] for name, m in memory.items()})
    return results


def compare_throughput(setup: Setup, model: GPT, reference, batches: list[np.ndarray], facts: dict) -> dict:
    """Training-step and forward tokens/s from the same weights and batches, and the training step's GFLOP/s."""
    tokens, flops, peak = batches[0][:, :-1].size, facts["flops"], facts["matmul_peak_gflops"]
    steps = {"ours": our_train_step(model)}
    forwards = {"ours": lambda batch: our_forward(model, batch)}
    if reference:
        torch_model = reference.TorchGPT.from_weights(setup.config, model.weights())
        steps["torch"] = reference.train_step_fn(torch_model, LR, WEIGHT_DECAY)
        forwards["torch"] = lambda batch: reference.forward(torch_model, batch)
    losses = {name: [] for name in steps}
    feeds = {name: itertools.cycle(batches) for name in steps}  # each framework sees the same sequence

    def train(name: str) -> Callable[[], float]:
        return wall(lambda: losses[name].append(steps[name](next(feeds[name]))))

    train_s = interleave({name: train(name) for name in steps}, setup.steps)
    forward_s = interleave({name: wall(lambda f=f: f(batches[0])) for name, f in forwards.items()}, setup.steps)
    facts["losses_first_last"] = {name: (values[0], values[-1]) for name, values in losses.items()}
    gflops = {name: flops["train_step"] / s / 1e9 for name, s in train_s.items()}
    return {"train_tokens_per_s": _both({name: tokens / s for name, s in train_s.items()}),
            "forward_tokens_per_s": _both({name: tokens / s for name, s in forward_s.items()}),
            "train_gflops": _both(gflops),
            "train_mfu_percent": _both({name: 100 * g / peak for name, g in gflops.items()})}


def _both(values: dict) -> dict:
    return {"ours": values["ours"], "torch": values.get("torch")}


def compare_decoding(setup: Setup, model: GPT, reference, prompt: np.ndarray) -> dict:
    """Batch-1 greedy decoding with the KV cache, model against model (our Decoder loop against a PyTorch loop) and
    generate against generate (tinytorch.generation against transformers), and beam search with 4 beams."""
    new = setup.new_tokens
    outputs = {}

    def run(name: str, decode: Callable[[], np.ndarray]) -> Callable[[], float]:
        return wall(lambda: outputs.__setitem__(name, decode()))

    measures = {"loop": run("loop", lambda: our_greedy_decode(model, prompt, new)[0]),
                "generate": run("generate", lambda: our_generate(model, prompt, new)),
                "beam4": run("beam4", lambda: our_generate(model, prompt, new, num_beams=4))}
    if reference:
        torch_model = reference.TorchGPT.from_weights(setup.config, model.weights())
        measures["torch_loop"] = run("torch_loop", lambda: reference.greedy_decode(torch_model, prompt, new)[0])
        if importlib.util.find_spec("transformers") is not None:
            hf = reference.hf_model(setup.config, model.weights())
            measures["hf_generate"] = run("hf_generate", lambda: reference.hf_generate(hf, prompt, new))
            measures["hf_beam4"] = run("hf_beam4", lambda: reference.hf_generate(hf, prompt, new, num_beams=4))
    rate = {name: new / s for name, s in interleave(measures, setup.decode_repeats).items()}
    agree = {theirs: bool(np.array_equal(outputs[ours], outputs[theirs]))
             for ours, theirs in (("loop", "torch_loop"), ("generate", "hf_generate"), ("beam4", "hf_beam4"))
             if theirs in outputs}
    return {"decode_tokens_per_s": {"ours": rate["loop"], "torch": rate.get("torch_loop")},
            "generate_tokens_per_s": {"ours": rate["generate"], "torch": rate.get("hf_generate")},
            "beam4_tokens_per_s": {"ours": rate["beam4"], "torch": rate.get("hf_beam4")},
            "tokens_agree": agree}


# ---- how cost grows with context and width ---------------------------------------------------------------------
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
            "train_tokens_per_s": _both({name: batch_size * config.block_size / s for name, s in train_s.items()}),
            "train_gflops": _both({name: flops / s / 1e9 for name, s in train_s.items()}),
            "decode_cached_tokens_per_s": _both({name: n / s for name, s in cached.items()}),
            "decode_uncached_tokens_per_s": _both({name: n / s for name, s in uncached.items()})}


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


# ---- report ----------------------------------------------------------------------------------------------------
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
