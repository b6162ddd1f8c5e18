"""The PyTorch side of `tinygpt bench`: a compact eager GPT equal to TinyGPT, and the decode loops to time.

    TorchGPT          nanoGPT-shaped: fused q/k/v Linear, F.scaled_dot_product_attention (causal), GELU-tanh,
                      the head tied to the token embedding; loads TinyGPT's weights by the same names
    train_step_fn     an AdamW step (torch.optim.AdamW, decay on matrices only, as TinyGPT's optimizer groups)
    greedy_decode     greedy decoding with a hand-written KV cache (preallocated, like TinyGPT's), or without one
    hf_model          transformers' GPT2LMHeadModel holding the same weights (for `generate`)

Imported lazily by `tinygpt.bench` (`tinygpt bench`; `benchmarks/speedrun.py`), only when torch is installed (the
`bench` extra); nothing else in tinytorch or tinygpt imports it.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def set_threads(count: int) -> None:
    """Give PyTorch as many threads as tinytorch's matrix products use."""
    torch.set_num_threads(count)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.n_head, self.n_embd = n_head, n_embd
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x: torch.Tensor, kv_cache: dict | None = None) -> torch.Tensor:
        batch, time, channels = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(batch, time, self.n_head, channels // self.n_head).transpose(1, 2) for t in (q, k, v))
        if kv_cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        else:
            start, end = kv_cache["length"], kv_cache["length"] + time
            kv_cache["keys"][:, :, start:end] = k
            kv_cache["values"][:, :, start:end] = v
            kv_cache["length"] = end
            keys, values = kv_cache["keys"][:, :, :end], kv_cache["values"][:, :, :end]
            mask = None if time == 1 else torch.ones(time, end, dtype=torch.bool).tril(diagonal=start)
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self.c_proj(y.transpose(1, 2).reshape(batch, time, channels))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=1e-5)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd, eps=1e-5)
        self.mlp = nn.ModuleDict({"c_fc": nn.Linear(n_embd, 4 * n_embd), "c_proj": nn.Linear(4 * n_embd, n_embd)})

    def forward(self, x: torch.Tensor, kv_cache: dict | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), kv_cache)
        hidden = F.gelu(self.mlp["c_fc"](self.ln_2(x)), approximate="tanh")
        return x + self.mlp["c_proj"](hidden)


class TorchGPT(nn.Module):
    """TinyGPT in PyTorch eager, parameter for parameter (TinyGPT's names, (out, in) Linear weights)."""

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int):
        super().__init__()
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in TinyGPT

    @classmethod
    def from_weights(cls, config, weights: dict[str, np.ndarray]) -> TorchGPT:
        """A TorchGPT for a GPTConfig holding a copy of TinyGPT's `model.weights()`."""
        model = cls(config.vocab_size, config.block_size, config.n_layer, config.n_head, config.n_embd)
        state = {name: torch.from_numpy(np.array(array)) for name, array in weights.items()}
        state["lm_head.weight"] = state["wte.weight"]
        model.load_state_dict(state, strict=True)
        return model

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, kv_caches: list[dict] | None = None,
                last_only: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        start = kv_caches[0]["length"] if kv_caches else 0
        positions = torch.arange(start, start + idx.shape[1])
        x = self.wte(idx) + self.wpe(positions)  # (B, T, C)
        for layer, block in enumerate(self.h):
            x = block(x, kv_caches[layer] if kv_caches else None)
        if last_only:
            x = x[:, -1:]
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss

    def new_kv_caches(self, batch_size: int, max_len: int) -> list[dict]:
        shape = (batch_size, self.n_head, max_len, self.n_embd // self.n_head)
        return [{"keys": torch.zeros(shape), "values": torch.zeros(shape), "length": 0} for _ in range(self.n_layer)]

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """As TinyGPT: decay matrices only."""
        params = list(self.parameters())
        return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
                {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def train_step_fn(model: TorchGPT, lr: float, weight_decay: float):
    """One AdamW training step on a (B, T + 1) int array of token ids (inputs and shifted targets); returns loss."""
    optimizer = torch.optim.AdamW(model.optimizer_groups(weight_decay), lr=lr)

    def step(batch: np.ndarray) -> float:
        tokens = torch.from_numpy(batch)
        _, loss = model(tokens[:, :-1], tokens[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


@torch.no_grad()
def forward(model: TorchGPT, batch: np.ndarray) -> None:
    """Inference forward (logits only) of the inputs of a (B, T + 1) batch."""
    model(torch.from_numpy(batch[:, :-1]))


@torch.no_grad()
def greedy_decode(model: TorchGPT, prompt: np.ndarray, new_tokens: int, use_cache: bool = True
                  ) -> tuple[np.ndarray, float]:
    """Greedy continuation of a (B, T) prompt: with the cache, prefill once then feed one token per step; without
    it, re-run the whole sequence every step. Returns the new ids and the seconds spent after the prefill."""
    idx = torch.from_numpy(np.asarray(prompt, dtype=np.int64))
    caches = model.new_kv_caches(idx.shape[0], idx.shape[1] + new_tokens) if use_cache else None
    logits, _ = model(idx, kv_caches=caches, last_only=True)
    start = time.perf_counter()
    generated = [logits[:, -1].argmax(dim=-1, keepdim=True)]  # (B, 1)
    while len(generated) < new_tokens:
        idx = generated[-1] if use_cache else torch.cat([idx, generated[-1]], dim=1)
        logits, _ = model(idx, kv_caches=caches, last_only=True)
        generated.append(logits[:, -1].argmax(dim=-1, keepdim=True))
    return torch.cat(generated, dim=1).numpy(), time.perf_counter() - start


def hf_model(config, weights: dict[str, np.ndarray]):
    """transformers' GPT2LMHeadModel with exactly TinyGPT's weights (via tinygpt.hf.mapping), in eval mode."""
    import transformers

    from tinygpt.hf.mapping import to_hf_config, to_hf_state_dict

    hf_config = transformers.GPT2Config(**{k: v for k, v in to_hf_config(config).items() if k != "architectures"})
    model = transformers.GPT2LMHeadModel(hf_config)
    state = {name: torch.from_numpy(array) for name, array in to_hf_state_dict(weights).items()}
    model.load_state_dict(state, strict=False)  # lm_head is tied to wte
    return model.eval()


@torch.no_grad()
def hf_generate(model, prompt: np.ndarray, new_tokens: int, num_beams: int = 1) -> np.ndarray:
    """transformers' `generate` (greedy, or beam search with `num_beams`), exactly `new_tokens` new ids."""
    idx = torch.from_numpy(np.asarray(prompt, dtype=np.int64))
    out = model.generate(idx, attention_mask=torch.ones_like(idx), do_sample=False, num_beams=num_beams,
                         max_new_tokens=new_tokens, min_new_tokens=new_tokens, use_cache=True,
                         pad_token_id=model.config.eos_token_id)
    return out[:, idx.shape[1]:].numpy()
