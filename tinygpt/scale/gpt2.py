"""TinyGPT as transformers' GPT2LMHeadModel, and the project's optimizer recipe in torch.

The model crosses by the project's export (`tinygpt.hf.mapping`): a TinyGPT's weights renamed, the four projection
matrices per block transposed, the head tied to the token embedding; `to_hf_config` describes it. Logits agree with
tinytorch's to float32 rounding, and `save_pretrained` writes a directory `tinygpt import-hf` reads back.

The optimizer is the recipe of `tinygpt.train.trainer.make_optimizer`: AdamW over everything (decay on matrices
only), or torch.optim.Muon over exactly the matrices tinytorch's `muon_split` gives Muon (every block's four
projection matrices; never the embeddings, whose matrix is also the head) and that AdamW over the rest. One
difference needs a correction: Muon scales each update by sqrt(max(1, rows / cols)), and GPT-2's Conv1D stores a
projection as (in, out) where tinytorch's Linear stores (out, in), so torch would scale the (4E, E) MLP input matrix
by 1 where tinytorch scales it by 2 (and the output matrix the other way round). Each Muon matrix therefore gets a
learning rate multiplied by tinytorch's factor over torch's, in param groups by factor. torch's Muon runs its
Newton-Schulz iteration in bfloat16 where tinytorch's runs float32 (within a few per cent:
tests/tinytorch/test_optim.py).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

import numpy as np
import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel

from tinygpt.data.dataset import IGNORE_INDEX
from tinygpt.hf.mapping import CONV1D_SUFFIXES, to_hf_state_dict
from tinygpt.train.config import TrainConfig


def build_model(hf_config: dict, weights: dict[str, np.ndarray] | None = None) -> GPT2LMHeadModel:
    """A GPT2LMHeadModel of `hf_config` (`to_hf_config`'s dict), holding `weights` (TinyGPT names) when given."""
    model = GPT2LMHeadModel(GPT2Config(**hf_config))
    if weights is not None:
        tensors = {name: torch.from_numpy(np.array(array, dtype=np.float32))
                   for name, array in to_hf_state_dict(weights).items()}
        result = model.load_state_dict(tensors, strict=False)
        problems = [*result.unexpected_keys, *(key for key in result.missing_keys if key != "lm_head.weight")]
        if problems:
            raise ValueError(f"the weights do not fit GPT2LMHeadModel: {problems[:3]}")
    return model


def is_muon_matrix(name: str) -> bool:
    """A block's projection matrix (GPT-2 name): what `tinytorch.optim.muon_split` hands to Muon."""
    return name.startswith("transformer.h.") and name.endswith(CONV1D_SUFFIXES)


def muon_lr_factor(shape: tuple[int, int]) -> float:
    """tinytorch's Muon scale for this matrix stored as (out, in), over torch's for the (in, out) Conv1D layout."""
    fan_in, fan_out = shape
    return math.sqrt(max(1.0, fan_out / fan_in)) / math.sqrt(max(1.0, fan_in / fan_out))


def adamw_groups(named: list[tuple[str, torch.nn.Parameter]], weight_decay: float) -> list[dict]:
    """`tinygpt.model.decay_groups`: decay on matrices, none on biases and norm gains."""
    return [{"params": [p for _, p in named if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for _, p in named if p.ndim < 2], "weight_decay": 0.0}]


def make_optimizers(model: GPT2LMHeadModel, config: TrainConfig) -> list[torch.optim.Optimizer]:
    """[AdamW] or [Muon, AdamW], as `make_optimizer` builds them for tinytorch; each group's "lr" is its peak."""
    named = list(model.named_parameters())  # the tied head is wte: listed once
    betas = (config.beta1, config.beta2)
    if config.optimizer == "adamw":
        return [torch.optim.AdamW(adamw_groups(named, config.weight_decay), lr=config.lr, betas=betas)]
    by_factor = defaultdict(list)
    for name, param in named:
        if is_muon_matrix(name):
            by_factor[muon_lr_factor(tuple(param.shape))].append(param)
    muon = torch.optim.Muon([{"params": params, "lr": config.muon_lr * factor}
                             for factor, params in sorted(by_factor.items())],
                            lr=config.muon_lr, momentum=config.muon_momentum, weight_decay=0.0)
    rest = [(name, param) for name, param in named if not is_muon_matrix(name)]
    return [muon, torch.optim.AdamW(adamw_groups(rest, config.weight_decay), lr=config.lr, betas=betas)]


def summed_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The sum of the next-token cross-entropy over the targets that are not IGNORE_INDEX (the loss mask): the
    caller divides by the global batch's target count, so that N ranks average as one process would."""
    logits = model(input_ids=x).logits  # (B, T, V)
    return F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")


def weights_sha256(model: torch.nn.Module) -> str:
    """A digest of every parameter's bytes: equal on two ranks exactly when their weights are bit-identical."""
    digest = hashlib.sha256()
    for name, param in model.named_parameters():
        digest.update(name.encode())
        digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def non_finite_parameter(model: torch.nn.Module) -> str | None:
    """The name of the first parameter holding NaN or infinity, or None."""
    return next((name for name, param in model.named_parameters() if not torch.isfinite(param).all()), None)
