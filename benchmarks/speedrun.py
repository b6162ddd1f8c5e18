"""Speedrun: how long, in wall-clock time and in tokens, until a TinyGPT trained from scratch first reaches a
held-out bits-per-byte target, for tinytorch and for PyTorch eager, each with AdamW and with Muon.

    python benchmarks/speedrun.py                        # the shipped architecture on data/mixture, target 1.8
    python benchmarks/speedrun.py --target 1.6 --time-limit 40
    python benchmarks/speedrun.py --tiny --data DIR --out DIR --max-steps 10   # a tiny model: checks it runs
    python benchmarks/speedrun.py --step-times 10        # no race: median step time of each contender

Every contender starts from the same weights (TinyGPT's initialisation, copied into the PyTorch model), draws the
same batches in the same order (the trainer's sampler, by source weight, from one seed) and uses the shipped recipe
(configs/mixture.json: AdamW lr 1.5e-3, betas 0.9/0.95, weight decay 0.1 on matrices, 300 warmup steps, cosine over
14,650 steps to a tenth, gradients clipped to norm 1). The Muon contenders give the transformer blocks' weight
matrices to Muon (`tinytorch.optim.muon_split`, and the same parameters for torch.optim.Muon) and everything else
to that AdamW, on the same schedule. Held-out loss is estimated every `--eval-every` steps on one fixed set of
held-out batches, the same for all, and turned into bits per byte with the held-out split's bytes per token.

The contenders take turns, `--eval-every` steps each, in one process with the same number of BLAS threads, so that
drift in the machine's load hits them alike. A contender's clock counts only its own training steps (batch drawing,
forward, backward, optimizer); evaluation is not timed. Peak memory of a training step is measured in a separate
child process per contender. Results: OUT/results.json, OUT/table.md and OUT/speedrun.png (bits per byte against
seconds of training).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a source checkout

import tinytorch as tt  # noqa: E402
from tinygpt.bench import load_torch_reference, thread_count  # noqa: E402
from tinygpt.checkpoint import atomic_write_bytes, atomic_write_text  # noqa: E402
from tinygpt.data import dataset  # noqa: E402
from tinygpt.model import GPT, GPTConfig, decay_groups  # noqa: E402
from tinygpt.train.loss import bits_per_byte  # noqa: E402
from tinytorch.optim import AdamW, Muon, clip_grad_norm_, muon_split, warmup_cosine  # noqa: E402

CONTENDERS = ("torch-adamw", "tinytorch-adamw", "tinytorch-muon", "torch-muon")
BASELINE = "torch-adamw"
SEED = 1337


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The shipped recipe (configs/mixture.json), plus Muon's settings for the Muon contenders."""

    lr: float = 1.5e-3
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1
    warmup_steps: int = 300
    total_steps: int = 14_650
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    muon_lr: float = 0.02
    muon_momentum: float = 0.95
    muon_weight_decay: float = 0.0

    def factor(self, step: int) -> float:
        return warmup_cosine(step, self.warmup_steps, self.total_steps, self.min_lr_ratio)


SHIPPED = GPTConfig(vocab_size=4096, block_size=256, n_layer=4, n_head=4, n_embd=256)
TINY = dict(block_size=32, n_layer=1, n_head=2, n_embd=32)


# ---- the contenders ---------------------------------------------------------------------------------------------
class Run:
    """What the contenders of both frameworks share: the schedule, which scales each group's own peak lr."""

    recipe: Recipe
    optimizers: list

    def remember_peaks(self) -> None:
        self.base_lrs = [[group["lr"] for group in o.param_groups] for o in self.optimizers]

    def schedule(self, step: int) -> None:
        for optimizer, base in zip(self.optimizers, self.base_lrs, strict=True):
            for group, lr in zip(optimizer.param_groups, base, strict=True):
                group["lr"] = lr * self.recipe.factor(step)


class TinytorchRun(Run):
    def __init__(self, config: GPTConfig, recipe: Recipe, muon: bool):
        self.model, self.recipe = GPT(config, seed=SEED), recipe
        if muon:
            hidden, rest = muon_split(self.model)
            self.optimizers = [Muon(hidden, lr=recipe.muon_lr, momentum=recipe.muon_momentum,
                                    weight_decay=recipe.muon_weight_decay),
                               AdamW(decay_groups(rest, recipe.weight_decay), lr=recipe.lr, betas=recipe.betas)]
        else:
            self.optimizers = [AdamW(self.model.optimizer_groups(recipe.weight_decay), lr=recipe.lr,
                                     betas=recipe.betas)]
        self.remember_peaks()

    def step(self, x: np.ndarray, y: np.ndarray, step: int) -> float:
        self.schedule(step)
        _, loss = self.model(x, y)
        for optimizer in self.optimizers:
            optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(self.model.parameters(), self.recipe.grad_clip)
        for optimizer in self.optimizers:
            optimizer.step()
        return loss.item()

    def held_out_loss(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> float:
        with tt.no_grad():
            return float(np.mean([self.model(x, y)[1].item() for x, y in batches]))


class TorchRun(Run):
    def __init__(self, config: GPTConfig, recipe: Recipe, muon: bool):
        reference = load_torch_reference()
        if reference is None:
            raise SystemExit("speedrun: error: the PyTorch contenders need torch (pip install torch==2.13.0)")
        import torch

        self.torch, self.recipe = torch, recipe
        self.model = reference.TorchGPT.from_weights(config, GPT(config, seed=SEED).weights())
        if muon:
            hidden = [p for name, p in self.model.named_parameters() if name.startswith("h.") and p.ndim == 2]
            rest = [p for p in self.model.parameters() if all(p is not q for q in hidden)]
            self.optimizers = [torch.optim.Muon(hidden, lr=recipe.muon_lr, momentum=recipe.muon_momentum,
                                                weight_decay=recipe.muon_weight_decay),
                               torch.optim.AdamW(decay_groups(rest, recipe.weight_decay), lr=recipe.lr,
                                                 betas=recipe.betas)]
        else:
            self.optimizers = [torch.optim.AdamW(self.model.optimizer_groups(recipe.weight_decay), lr=recipe.lr,
                                                 betas=recipe.betas)]
        self.remember_peaks()

    def step(self, x: np.ndarray, y: np.ndarray, step: int) -> float:
        self.schedule(step)
        _, loss = self.model(self.torch.from_numpy(x), self.torch.from_numpy(y))
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.recipe.grad_clip)
        for optimizer in self.optimizers:
            optimizer.step()
        return loss.item()

    def held_out_loss(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> float:
        with self.torch.no_grad():
            return float(np.mean([self.model(self.torch.from_numpy(x), self.torch.from_numpy(y))[1].item()
                                  for x, y in batches]))


def make_run(name: str, config: GPTConfig, recipe: Recipe):
    framework, optimizer = name.split("-")
    return (TorchRun if framework == "torch" else TinytorchRun)(config, recipe, optimizer == "muon")


@dataclasses.dataclass
class Progress:
    """One contender's race: its clock, its batches and its curve of (seconds, tokens, bits per byte)."""

    name: str
    run: object
    rng: np.random.Generator
    seconds: float = 0.0
    steps: int = 0
    step_seconds: list[float] = dataclasses.field(default_factory=list)
    curve: list[tuple[float, int, float]] = dataclasses.field(default_factory=list)
    reached: tuple[float, int, int] | None = None  # (seconds, tokens, steps) at the first evaluation at the target
    stopped: str = ""


# ---- the race ---------------------------------------------------------------------------------------------------
def race(args: argparse.Namespace, config: GPTConfig, recipe: Recipe) -> list[Progress]:
    meta = dataset.read_meta(args.data)
    train_tokens, val_tokens = dataset.load_split(args.data, "train"), dataset.load_split(args.data, "val")
    sample = dataset.batch_sampler(meta, train_tokens)
    eval_rng = np.random.default_rng(SEED + 1)
    held_out = [dataset.get_batch(val_tokens, args.batch_size, config.block_size, eval_rng)
                for _ in range(args.eval_batches)]
    val = meta["splits"]["val"]
    tokens_per_step = args.batch_size * config.block_size
    racers = [Progress(name, make_run(name, config, recipe), np.random.default_rng(SEED)) for name in args.contenders]
    for racer in racers:  # the starting point, at 0 s
        racer.curve.append((0.0, 0, bits_per_byte(racer.run.held_out_loss(held_out), val["tokens"], val["bytes"])))
    while active := [racer for racer in racers if not racer.stopped]:
        for racer in active:
            for _ in range(args.eval_every):
                start = time.perf_counter()
                x, y = sample(args.batch_size, config.block_size, racer.rng)
                loss = racer.run.step(x, y, racer.steps)
                racer.step_seconds.append(time.perf_counter() - start)
                racer.seconds += racer.step_seconds[-1]
                racer.steps += 1
                if not math.isfinite(loss):
                    racer.stopped = f"loss became {loss} at step {racer.steps}"
                    break
            bpb = bits_per_byte(racer.run.held_out_loss(held_out), val["tokens"], val["bytes"])
            racer.curve.append((racer.seconds, racer.steps * tokens_per_step, bpb))
            print(f"{racer.name:16} step {racer.steps:5}  {racer.seconds:7.1f} s  held-out bpb {bpb:.4f}",
                  flush=True)
            if bpb <= args.target and racer.reached is None:
                racer.reached = (racer.seconds, racer.steps * tokens_per_step, racer.steps)
                racer.stopped = racer.stopped or "reached the target"
            elif racer.seconds >= args.time_limit * 60:
                racer.stopped = racer.stopped or f"time limit ({args.time_limit:g} min)"
            elif args.max_steps and racer.steps >= args.max_steps:
                racer.stopped = racer.stopped or f"step limit ({args.max_steps})"
    return racers


def step_times(args: argparse.Namespace, config: GPTConfig, recipe: Recipe, turns: int = 3) -> dict[str, float]:
    """Median seconds per training step of each contender, without a race: `turns` turns of `args.step_times` steps
    each, the contenders interleaved (the first turn is a warm-up and not counted)."""
    meta = dataset.read_meta(args.data)
    sample = dataset.batch_sampler(meta, dataset.load_split(args.data, "train"))
    runs = {name: make_run(name, config, recipe) for name in args.contenders}
    rngs = {name: np.random.default_rng(SEED) for name in args.contenders}
    seconds: dict[str, list[float]] = {name: [] for name in args.contenders}
    for turn in range(turns + 1):
        for name, run in runs.items():
            for step in range(args.step_times):
                x, y = sample(args.batch_size, config.block_size, rngs[name])
                start = time.perf_counter()
                run.step(x, y, turn * args.step_times + step)
                if turn:
                    seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


# ---- peak memory, one child process per contender ---------------------------------------------------------------
def memory_child(name: str, config_json: str, batch_size: int) -> None:
    config = GPTConfig.from_dict(json.loads(config_json))
    run = make_run(name, config, Recipe())
    rng = np.random.default_rng(SEED)
    batch = rng.integers(0, config.vocab_size, (batch_size, config.block_size + 1))
    for step in range(2):
        run.step(batch[:, :-1], batch[:, 1:], step)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def peak_memory(name: str, config: GPTConfig, batch_size: int) -> float | None:
    result = subprocess.run([sys.executable, __file__, "--memory-child", name, "--config-json",
                             json.dumps(config.to_dict()), "--batch-size", str(batch_size)],
                            capture_output=True, text=True, timeout=600)
    return float(result.stdout.split()[-1]) if result.returncode == 0 and result.stdout.split() else None


# ---- report -----------------------------------------------------------------------------------------------------
def summarise(racers: list[Progress], peaks: dict[str, float | None], args: argparse.Namespace) -> list[dict]:
    baseline = next((r for r in racers if r.name == BASELINE), None)
    rows = []
    for racer in racers:
        step_s = statistics.median(racer.step_seconds[1:] or racer.step_seconds)
        row = {"contender": racer.name, "reached": racer.reached is not None, "stopped": racer.stopped,
               "seconds_to_target": racer.reached[0] if racer.reached else None,
               "tokens_to_target": racer.reached[1] if racer.reached else None,
               "steps_to_target": racer.reached[2] if racer.reached else None,
               "final_bpb": racer.curve[-1][2], "steps": racer.steps, "train_seconds": racer.seconds,
               "median_step_s": step_s, "peak_mib": peaks.get(racer.name), "curve": racer.curve}
        if baseline is not None:
            if baseline.reached and racer.reached:
                row["time_ratio_vs_torch_adamw"] = baseline.reached[0] / racer.reached[0]
            row["step_speed_ratio_vs_torch_adamw"] = statistics.median(baseline.step_seconds[1:] or
                                                                       baseline.step_seconds) / step_s
        rows.append(row)
    return rows


def table(rows: list[dict], target: float) -> str:
    def number(value, spec: str, suffix: str = "") -> str:
        return "—" if value is None else f"{value:{spec}}{suffix}"

    lines = [f"| contender | time to bpb {target:g} | tokens to target | steps | step time | peak memory "
             "| time vs torch-adamw | step speed vs torch-adamw |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        reached = row["seconds_to_target"]
        time_text = number(reached, ".0f", " s") if reached is not None else \
            f"not in {row['train_seconds']:.0f} s (bpb {row['final_bpb']:.3f})"
        lines.append(f"| {row['contender']} | {time_text} | {number(row['tokens_to_target'], ',')} "
                     f"| {number(row['steps_to_target'], ',')} | {row['median_step_s']:.3f} s "
                     f"| {number(row['peak_mib'], '.0f', ' MiB')} "
                     f"| {number(row.get('time_ratio_vs_torch_adamw'), '.2f', 'x')} "
                     f"| {number(row.get('step_speed_ratio_vs_torch_adamw'), '.2f', 'x')} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], target: float, path: Path, title: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5))
    for row in rows:
        seconds, _, bpb = zip(*row["curve"], strict=True)
        axis.plot([s / 60 for s in seconds], bpb, marker=".", label=row["contender"])
    axis.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    axis.set(xlabel="minutes of training (evaluation not counted)", ylabel="held-out bits per byte", title=title)
    after_first_turn = [row["curve"][1][2] for row in rows if len(row["curve"]) > 1]
    if after_first_turn:  # the untrained start (about 12 bits per byte) would flatten the rest
        axis.set_ylim(top=max(max(after_first_turn), target) + 0.2)
    axis.grid(alpha=0.3)
    axis.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


# ---- command line -----------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "mixture", help="a prepared dataset")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "speedrun")
    parser.add_argument("--target", type=float, default=1.8, help="held-out bits per byte to reach (default 1.8)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="minutes of training per contender")
    parser.add_argument("--max-steps", type=int, default=0, help="stop each contender after this many steps")
    parser.add_argument("--eval-every", type=int, default=25, help="steps between held-out estimates (a turn)")
    parser.add_argument("--eval-batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="comma-separated, of " + ", ".join(CONTENDERS))
    parser.add_argument("--muon-lr", type=float, default=Recipe.muon_lr)
    parser.add_argument("--muon-momentum", type=float, default=Recipe.muon_momentum)
    parser.add_argument("--tiny", action="store_true", help="a 1-layer, width-32, context-32 model (checks it runs)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--step-times", type=int, default=0, metavar="N",
                        help="no race: time turns of N training steps per contender and print the medians")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--config-json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.contenders = [name.strip() for name in args.contenders.split(",") if name.strip()]
    unknown = [name for name in args.contenders if name not in CONTENDERS]
    if unknown or not args.contenders:
        parser.error(f"--contenders: unknown {unknown}; choose from {', '.join(CONTENDERS)}")
    for option in ("target", "time_limit", "muon_lr"):
        if not 0 < getattr(args, option) < math.inf:
            parser.error(f"--{option.replace('_', '-')} must be a positive number, got {getattr(args, option)}")
    if not 0 <= args.muon_momentum < 1:
        parser.error(f"--muon-momentum must be in [0, 1), got {args.muon_momentum}")
    for option in ("eval_every", "eval_batches", "batch_size"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    if args.step_times < 0:
        parser.error(f"--step-times must be >= 0, got {args.step_times}")
    if args.max_steps < 0:
        parser.error(f"--max-steps must be >= 0, got {args.max_steps}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.config_json, args.batch_size)
        return 0
    try:
        meta = dataset.read_meta(args.data)
    except dataset.DatasetError as err:
        print(f"speedrun: error: {err} (prepare it: tinygpt prepare --sources configs/mixture_sources.json)",
              file=sys.stderr)
        return 1
    config = dataclasses.replace(SHIPPED, vocab_size=meta["vocab_size"], **(TINY if args.tiny else {}))
    recipe = dataclasses.replace(Recipe(), muon_lr=args.muon_lr, muon_momentum=args.muon_momentum)
    threads = thread_count()
    from threadpoolctl import threadpool_limits

    if args.step_times:
        with threadpool_limits(limits=threads, user_api="blas"):
            medians = step_times(args, config, recipe)
        baseline = medians.get(BASELINE)
        for name, seconds in medians.items():
            ratio = f"  {baseline / seconds:.2f}x {BASELINE}'s speed" if baseline else ""
            print(f"{name:16} {seconds:.3f} s per step{ratio}")
        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out / "step_times.json", json.dumps(
            {"date": time.strftime("%Y-%m-%d %H:%M"), "threads": threads, "steps_per_turn": args.step_times,
             "median_step_s": medians}, indent=1) + "\n")
        return 0
    with threadpool_limits(limits=threads, user_api="blas"):
        peaks = {} if args.no_memory else {name: peak_memory(name, config, args.batch_size)
                                           for name in args.contenders}
        racers = race(args, config, recipe)
    rows = summarise(racers, peaks, args)
    when = time.strftime("%Y-%m-%d")
    machine = f"{platform.machine()}, {threads} BLAS threads, {platform.python_version()}"
    report = {"date": when, "machine": machine, "target_bpb": args.target, "data": str(args.data),
              "model": config.to_dict(), "batch_size": args.batch_size, "eval_every": args.eval_every,
              "eval_batches": args.eval_batches, "recipe": dataclasses.asdict(recipe), "contenders": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "results.json", json.dumps(report, indent=1) + "\n")
    text = table(rows, args.target)
    atomic_write_text(args.out / "table.md", f"Speedrun {when} ({machine}), target held-out bpb {args.target:g}\n\n"
                      + text)
    plot(rows, args.target, args.out / "speedrun.png", f"TinyGPT from scratch to {args.target:g} bits per byte "
         f"({when}, {threads} threads)")
    print(text, end="")
    print(f"wrote results.json, table.md and speedrun.png to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
