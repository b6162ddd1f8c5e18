"""Train here, finish in transformers, come back: the TinyGPT <-> Hugging Face round trip end to end.

    python examples/hf_roundtrip.py [--workdir DIR] [--checkpoint models/tinygpt-finish/model.safetensors]

1. Start from the shipped checkpoint when there is one; otherwise train a tiny TinyGPT here for a few dozen steps
   on a little of the standard library (a fresh BPE tokenizer included).
2. `tinygpt export-hf`: write it as a GPT-2 directory, load it with transformers, check the logits agree.
3. Continue training in PyTorch: 3 AdamW steps, then `save_pretrained`.
4. `tinygpt import-hf`: bring the fine-tuned model back and check TinyGPT's logits against PyTorch's once more.

Needs torch and transformers (`pip install -e .[test]`); tinygpt itself never imports them.
"""

from __future__ import annotations

import argparse
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, GPT2LMHeadModel

import tinytorch as tt
from tinygpt.checkpoint import load_model, save_checkpoint
from tinygpt.hf.export import export_hf
from tinygpt.hf.import_ import import_hf
from tinygpt.model import GPT, GPTConfig
from tinytorch.optim import AdamW
from tinytorch.text import BPETokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SHIPPED = Path("models/tinygpt-finish/model.safetensors")


def train_tiny(workdir: Path, steps: int = 40) -> Path:
    """A 2-layer TinyGPT trained for `steps` steps on a few stdlib modules; returns its checkpoint."""
    texts = [(STDLIB / name).read_text(encoding="utf-8") for name in ("textwrap.py", "string.py", "shlex.py")]
    tokenizer = BPETokenizer.train(texts, vocab_size=1024)
    tokenizer.save(workdir / "tokenizer.json")
    tokens = np.array(tokenizer.encode("<|endoftext|>".join(texts)))
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64), seed=0)
    optimizer = AdamW(model.optimizer_groups(weight_decay=0.1), lr=3e-3)
    rng = np.random.default_rng(0)
    for step in range(1, steps + 1):
        starts = rng.integers(0, len(tokens) - 65, size=16)
        x = np.stack([tokens[s:s + 64] for s in starts])
        y = np.stack([tokens[s + 1:s + 65] for s in starts])
        _, loss = model(x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 10 == 0:
            print(f"  tinygpt step {step}: loss {loss.item():.3f}")
    save_checkpoint(workdir / "model.safetensors", model, {"tokenizer": "tokenizer.json", "step": steps})
    return workdir / "model.safetensors"


@tt.no_grad()
def max_logit_difference(model: GPT, hf_model: GPT2LMHeadModel, ids: list[int]) -> float:
    ours = model(np.array([ids]))[0].data
    with torch.no_grad():
        theirs = hf_model(torch.tensor([ids])).logits.numpy()
    return float(np.abs(ours - theirs).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to write everything (default: a temporary directory)")
    parser.add_argument("--checkpoint", type=Path, help="TinyGPT checkpoint to start from (default: the shipped one "
                                                        "if present, else one trained here)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hf_roundtrip_"))
    workdir.mkdir(parents=True, exist_ok=True)

    checkpoint = args.checkpoint or (SHIPPED if SHIPPED.exists() else None)
    if checkpoint is None:
        print(f"1. training a tiny TinyGPT in {workdir}")
        checkpoint = train_tiny(workdir)
    print(f"1. TinyGPT checkpoint: {checkpoint}")

    print("2. export-hf")
    print("  " + "\n  ".join(export_hf(checkpoint, workdir / "hf", overwrite=True)))  # the workdir is ours
    hf_model = GPT2LMHeadModel.from_pretrained(workdir / "hf").float()  # the shipped weights are float16
    hf_tokenizer = AutoTokenizer.from_pretrained(workdir / "hf")
    model, _, _ = load_model(checkpoint)
    text = (STDLIB / "json" / "decoder.py").read_text(encoding="utf-8")
    ids = hf_tokenizer.encode(text)[: model.config.block_size]
    print(f"  max |logits(TinyGPT) - logits(transformers)| = {max_logit_difference(model, hf_model.eval(), ids):.2e}")

    print("3. three AdamW steps in PyTorch")
    hf_model.train()
    optimizer = torch.optim.AdamW(hf_model.parameters(), lr=1e-4)
    batch = torch.tensor([ids])
    for step in range(1, 4):
        loss = hf_model(batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(f"  torch step {step}: loss {loss.item():.3f}")
    hf_model.save_pretrained(workdir / "hf-finetuned")
    hf_tokenizer.save_pretrained(workdir / "hf-finetuned")

    print("4. import-hf")
    print("  " + "\n  ".join(import_hf(workdir / "hf-finetuned", workdir / "finetuned" / "model.safetensors",
                                        overwrite=True)))
    finetuned, _, _ = load_model(workdir / "finetuned" / "model.safetensors")
    difference = max_logit_difference(finetuned, hf_model.eval(), ids)
    print(f"  max |logits(TinyGPT) - logits(transformers)| after fine-tuning = {difference:.2e}")
    print(f"done: everything is in {workdir}")


if __name__ == "__main__":
    main()
