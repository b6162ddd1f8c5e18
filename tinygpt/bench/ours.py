"""tinytorch's side of `tinygpt bench`: random batches, a training step (AdamW), a forward pass, greedy decoding
through the KV cache and tinytorch.generation's `generate`, and the per-op profile of one training step. The PyTorch
side, the same measures on the same weights, is `torch_reference.py`."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import tinytorch as tt
from tinygpt.bench.settings import LR, SEED, WEIGHT_DECAY
from tinygpt.generate import gpt_decoder
from tinygpt.model import GPT, GPTConfig
from tinytorch import profiler
from tinytorch.generation import GenerationConfig, generate
from tinytorch.optim import AdamW


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
