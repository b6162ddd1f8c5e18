"""Widening a trained model without losing what it learned: a GPT of width C becomes one of width k*C (and k times
the heads) that computes exactly the same logits, ready to be trained further with the extra capacity.

The idea (function-preserving growth, as in Net2Net): every unit of the wide model is one of k copies of a unit of
the narrow one.

- The residual stream is the narrow one repeated k times: x' = [x, x, ..., x]. Embeddings and positions are tiled.
  LayerNorm keeps it so: the mean and variance of [x, ..., x] are those of x, so LN(x') = [LN(x), ..., LN(x)] with
  the gains and biases tiled.
- A linear layer reading a repeated input splits each weight into k pieces that sum to it: W'[:, copy i] = W/k + e_i
  with e_1 + ... + e_k = 0, so W' x' = sum_i (W/k + e_i) x = W x. Its outputs are repeated for the layer after.
- q, k and v are repeated per projection, so the k*n_head heads are k copies of the n_head heads (head size kept):
  the same attention patterns, the output repeated, and c_proj reads it as above.
- The MLP's hidden units are repeated; GELU acts on each alone.
- The head is tied to the token embedding, whose columns are tiled: logits = [e, ..., e] . z' would be k times too
  large, so the final LayerNorm's gain and bias are divided by k.

The noise e_i is what lets the copies become different units. Without it every copy receives the same gradient and
stays the same forever (the wide model would still be the narrow one); with it the layer after each copy weighs it
differently, the gradients differ, and training pulls the copies apart. At the start it cancels exactly, whatever its
size, so the widened model's logits equal the original's up to float32 rounding (a test holds them).

Only whole multiples preserve the function: a stream widened by a fraction (256 -> 384) would hold some units twice
and others once, and LayerNorm's mean and variance over it would no longer be the narrow model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygpt.checkpoint import load_model, save_checkpoint
from tinygpt.model import GPT, GPTConfig
from tinygpt.outputs import OutputError, atomic_write_bytes, file_sha256
from tinygpt.train.trainer import TOKENIZER_NAME


def split_inputs(weight: np.ndarray, factor: int, copies: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """weight (out, in) -> (copies * out, factor * in): `copies` stacked output copies, each reading a `factor`-times
    repeated input through pieces W/factor + e_i whose noise sums to zero over the pieces (fresh noise per copy)."""
    rows = []
    scale = noise * float(weight.std()) / factor
    for _ in range(copies):
        eps = rng.normal(0.0, scale, (factor, *weight.shape)) if scale > 0 else np.zeros((factor, *weight.shape))
        eps -= eps.mean(axis=0)  # the pieces' noise cancels: sum_i (W/k + e_i) = W
        rows.append(np.concatenate([weight / factor + piece for piece in eps], axis=1))
    return np.concatenate(rows, axis=0).astype(np.float32)


def widen_weights(weights: dict[str, np.ndarray], config: GPTConfig, factor: int, noise: float = 0.5,
                  seed: int = 0) -> tuple[dict[str, np.ndarray], GPTConfig]:
    """The weights (by name, without lm_head) and config of the model `factor` times as wide, computing the same
    function. `noise` is the pieces' noise relative to each matrix's standard deviation over `factor`."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise ValueError(f"widen: factor must be an integer >= 2, got {factor!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"widen: noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    width = config.n_embd
    wide = {}
    for name, array in weights.items():
        if name == "lm_head.weight":
            continue  # tied to wte
        if name in ("wte.weight", "wpe.weight"):
            wide[name] = np.tile(array, (1, factor))
        elif name in ("ln_f.weight", "ln_f.bias"):
            wide[name] = np.tile(array, factor) / factor  # the tied head reads k copies: each contributes 1/k
        elif ".ln_" in name or name.endswith("c_proj.bias") or name.endswith("c_fc.bias"):
            wide[name] = np.tile(array, factor)
        elif name.endswith("c_attn.weight"):  # (3C, C): q, k and v each repeated, so heads repeat as wholes
            wide[name] = np.concatenate([split_inputs(part, factor, factor, noise, rng)
                                         for part in np.split(array, 3, axis=0)], axis=0)
        elif name.endswith("c_attn.bias"):
            wide[name] = np.concatenate([np.tile(part, factor) for part in np.split(array, 3)])
        elif name.endswith(("c_proj.weight", "c_fc.weight")):
            wide[name] = split_inputs(array, factor, factor, noise, rng)
        else:
            raise ValueError(f"widen: no rule for weight {name!r} of shape {array.shape}")
        wide[name] = np.ascontiguousarray(wide[name], dtype=np.float32)
    if width * factor != wide["wte.weight"].shape[1]:
        raise ValueError(f"widen: weights of width {wide['wte.weight'].shape[1] // factor} do not fit config width "
                         f"{width}")
    values = config.to_dict()
    values.update(n_embd=width * factor, n_head=config.n_head * factor)
    return wide, GPTConfig.from_dict(values)


def widen(model: GPT, factor: int, noise: float = 0.5, seed: int = 0) -> GPT:
    """A new GPT `factor` times as wide as `model` (k times the heads, the same head size) with the same logits."""
    weights, config = widen_weights(model.weights(), model.config, factor, noise, seed)
    wide = GPT(config)
    wide.load_weights(weights)
    return wide


def widen_checkpoint(source: str | Path, out: str | Path, factor: int, noise: float = 0.5, seed: int = 0,
                     overwrite: bool = False) -> GPT:
    """Write the widened model of checkpoint `source` to `out` (atomically), its tokenizer copied beside it, with a
    record of where it came from; `tinygpt train --init_from=OUT --n_embd=... --n_head=...` trains it further. An
    existing `out` is refused (OutputError) unless `overwrite`."""
    source, out = Path(source), Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out} already exists; pass --force to replace it, or choose another path")
    model, document, _ = load_model(source)
    wide = widen(model, factor, noise, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"widened_from": {"checkpoint": str(source), "n_embd": model.config.n_embd,
                                 "n_head": model.config.n_head, "factor": factor, "noise": noise, "seed": seed}}
    tokenizer = source.parent / str(document.get("tokenizer", ""))
    if document.get("tokenizer") and tokenizer.is_file():
        copy = out.parent / TOKENIZER_NAME
        if copy.resolve() != tokenizer.resolve():
            atomic_write_bytes(copy, tokenizer.read_bytes())
        metadata.update(tokenizer=TOKENIZER_NAME, tokenizer_sha256=file_sha256(copy))
    save_checkpoint(out, wide, metadata)
    return wide
