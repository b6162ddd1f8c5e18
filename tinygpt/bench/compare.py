"""The comparison at the benchmark configuration: training step, forward pass and decoding, tinytorch against
PyTorch on the same weights, batches and threads, and the training step's peak memory."""

from __future__ import annotations

import importlib.util
import itertools
import time
from collections.abc import Callable

import numpy as np

from tinygpt.bench.memory import training_memory
from tinygpt.bench.ours import (
    batches_for,
    our_forward,
    our_generate,
    our_greedy_decode,
    our_train_step,
    profile_train_step,
)
from tinygpt.bench.settings import LR, SEED, WEIGHT_DECAY, Setup
from tinygpt.bench.timing import interleave, ours_and_torch, wall
from tinygpt.model import GPT
from tinytorch import profiler


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
    results["train_step_rss_mib"] = ours_and_torch({name: m["step_mib"] for name, m in memory.items()})
    results["train_peak_rss_mib"] = ours_and_torch({name: m["peak_mib"] for name, m in memory.items()})
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
    return {"train_tokens_per_s": ours_and_torch({name: tokens / s for name, s in train_s.items()}),
            "forward_tokens_per_s": ours_and_torch({name: tokens / s for name, s in forward_s.items()}),
            "train_gflops": ours_and_torch(gflops),
            "train_mfu_percent": ours_and_torch({name: 100 * g / peak for name, g in gflops.items()})}


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
