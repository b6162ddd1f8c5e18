"""The playground's two looks inside that are not a token stream: attention maps and the KV cache comparison.
Both are work functions for the worker (`work(job)`).

Attention. `GPT.forward_with_attentions` returns, for every layer, the attention probabilities of that forward pass,
(batch, n_head, T, T): row i of a head is how much position i drew on each position j <= i. As JSON numbers these
would be large (4 layers x 4 heads x 256 x 256 is a million numbers, over 10 MB of text), so each head's T x T map
is quantised to one byte per entry, round(prob * 255), row-major, and base64-encoded: 1.4 MB for that model. A row
then sums to 1 within T / 510 (each entry is off by at most half a step), and every entry above the diagonal is
exactly 0, as causal attention is.

KV cache. The same request generated twice, with the cache and without it (re-running the whole window for every
token), timed; the cache must not change a single token, which the answer states (`same_tokens`).
"""

from __future__ import annotations

import base64
import time

import numpy as np

from ..generate import generate
from .schema import GenerateRequest
from .worker import Job, StoppableModel

__all__ = ["attention_maps", "compare_cache", "encode_map"]


def encode_map(probs: np.ndarray) -> str:
    """A (T, T) map of probabilities as base64 of its row-major bytes, round(prob * 255)."""
    return base64.b64encode(np.rint(np.clip(probs, 0.0, 1.0) * 255).astype(np.uint8).tobytes()).decode("ascii")


def attention_maps(model, tokenizer, tokens: list[int], job: Job) -> dict:
    """The answer of POST /api/attention for `tokens` (already checked: 1..block_size ids of the model's
    vocabulary)."""
    job.check()
    _, attentions = model.forward_with_attentions(np.array([tokens], dtype=np.int64))
    return {
        "tokens": [{"id": token, "text": tokenizer.decode([token])} for token in tokens],
        "n_layer": len(attentions),
        "n_head": attentions[0].shape[1],
        "length": len(tokens),
        "encoding": "uint8-base64",
        "maps": [[encode_map(layer[0, head]) for head in range(layer.shape[1])] for layer in attentions],
    }


def compare_cache(model, tokenizer, request: GenerateRequest, config, job: Job) -> dict:
    """The answer of POST /api/compare-cache: `request` generated with the KV cache, then without, each timed."""
    runs = {}
    for name, use_cache in (("with_cache", True), ("without_cache", False)):
        started = time.perf_counter()
        completion = generate(StoppableModel(model, job), tokenizer, request.prompt, config,
                              stop_strings=request.stop, complete_function=request.complete_function,
                              use_cache=use_cache)[0]
        job.tokens += len(completion.tokens)
        runs[name] = {"seconds": time.perf_counter() - started, "text": completion.text, "tokens": completion.tokens}
    return runs | {"same_tokens": runs["with_cache"]["tokens"] == runs["without_cache"]["tokens"]}
