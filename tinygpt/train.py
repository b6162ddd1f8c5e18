"""Train TinyGPT: a straight line of get batch -> forward -> backward -> clip -> schedule -> step, with periodic
held-out loss and bits per byte, atomic checkpoints that resume exactly, and a loss curve at the end.

    python train.py [config.json] [--key=value ...] [--resume]
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import tinytorch as tt
from tinytorch.optim import AdamW, clip_grad_norm_, warmup_cosine
from tinytorch.text import load_tokenizer

from . import data, timeline
from .checkpoint import CheckpointError, atomic_write_text, load_model, optimizer_state_from, save_checkpoint
from .config import ConfigError, TrainConfig, parse_args
from .model import GPT, GPTConfig
from .report import write_logs

CHECKPOINT_NAME = "ckpt.safetensors"


class TrainingDiverged(RuntimeError):
    pass


def bits_per_byte(loss_nats: float, tokens: int, num_bytes: int) -> float:
    """Convert mean nats per token into bits per byte of the underlying text."""
    return loss_nats / math.log(2) * tokens / num_bytes


@contextlib.contextmanager
def evaluating(model: GPT):
    """Evaluate in eval mode (no dropout, nothing drawn from the training RNG) without a graph; then restore the
    model's previous mode."""
    was_training = model.training
    model.eval()
    try:
        with tt.no_grad():
            yield
    finally:
        model.train(was_training)


def estimate_loss(model: GPT, tokens: np.ndarray, batches: int, batch_size: int, seed: int) -> float:
    """Mean loss over `batches` random windows, always the same windows for a given seed."""
    rng = np.random.default_rng(seed)
    block = model.config.block_size
    with evaluating(model):
        losses = [model(*data.get_batch(tokens, batch_size, block, rng))[1].item() for _ in range(batches)]
    return float(np.mean(losses))


def evaluate_split(model: GPT, tokens: np.ndarray, batch_size: int = 16, progress: bool = False) -> float:
    """Exact mean loss over the whole split: consecutive non-overlapping windows, every token predicted once."""
    block = model.config.block_size
    windows = (len(tokens) - 1) // block
    starts = np.arange(windows) * block
    total, count = 0.0, 0
    with evaluating(model):
        for first in tqdm(range(0, windows, batch_size), desc="evaluate", disable=not progress, leave=False):
            offsets = starts[first:first + batch_size, None] + np.arange(block)
            x, y = tokens[offsets].astype(np.int64), tokens[offsets + 1].astype(np.int64)
            total += model(x, y)[1].item() * y.size
            count += y.size
    return total / max(count, 1)


class Trainer:
    def __init__(self, config: TrainConfig, resume: bool = False):
        self.config = config
        self.out_dir = Path(config.out_dir)
        self.meta = data.read_meta(config.data_dir)
        self.train_tokens = data.load_split(config.data_dir, "train")
        self.val_tokens = data.load_split(config.data_dir, "val")
        self.sample_batch = data.batch_sampler(self.meta, self.train_tokens)  # rows drawn by source weight
        val_sources = data.source_splits(self.meta, "val")
        self.val_sources = [s for s in val_sources if s.tokens > config.block_size] if len(val_sources) > 1 else []
        model_config = GPTConfig(
            vocab_size=self.meta["vocab_size"], block_size=config.block_size, n_layer=config.n_layer,
            n_head=config.n_head, n_embd=config.n_embd, dropout=config.dropout, bias=config.bias,
            pos_encoding=config.pos_encoding,
        )
        self.model = GPT(model_config, seed=config.seed)
        self.optimizer = AdamW(self.model.optimizer_groups(config.weight_decay), lr=config.lr,
                               betas=(config.beta1, config.beta2))
        self.data_rng = np.random.default_rng(config.seed)
        self.step, self.history, self.evals, self.train_seconds = 0, [], [], 0.0
        self.timeline: list[dict] = []  # capability records (see tinygpt.timeline)
        if resume:
            self._resume()

    # ---- checkpoints ---------------------------------------------------------------------------------------------
    def _metadata(self) -> dict:
        return {
            "train_config": self.config.to_dict(), "step": self.step,
            "tokenizer": str(Path(self.config.data_dir) / self.meta["tokenizer"]),
            "data_rng": self.data_rng.bit_generator.state, "tt_rng": tt.default_rng().bit_generator.state,
            "history": self.history, "evals": self.evals, "dataset": self.meta, "train_seconds": self.train_seconds,
            "timeline": self.timeline,
        }

    def save(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.out_dir / CHECKPOINT_NAME, self.model, self._metadata(), self.optimizer.state_dict())

    def _resume(self) -> None:
        path = self.out_dir / CHECKPOINT_NAME
        model, document, tensors = load_model(path)
        if model.config != self.model.config:
            raise CheckpointError(f"checkpoint {path} was trained with {model.config}, this run asks for "
                                  f"{self.model.config}")
        self.model.load_weights(model.weights())
        self.optimizer.load_state_dict(optimizer_state_from(document, tensors))
        self.step, self.history, self.evals = document["step"], document["history"], document["evals"]
        self.train_seconds = document.get("train_seconds", 0.0)
        self.timeline = document.get("timeline", [])
        self.data_rng.bit_generator.state = document["data_rng"]
        tt.default_rng().bit_generator.state = document["tt_rng"]

    # ---- the loop ------------------------------------------------------------------------------------------------
    def learning_rate(self, step: int) -> float:
        """Warmup over steps, then cosine over steps or, with a time budget, over the training time spent."""
        c = self.config
        if c.time_budget_minutes <= 0 or step < c.warmup_steps:
            return c.lr * warmup_cosine(step, c.warmup_steps, c.max_steps, c.min_lr_ratio)
        progress = min(self.train_seconds / (c.time_budget_minutes * 60), 1.0)
        return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def finished(self) -> bool:
        c = self.config
        over_budget = c.time_budget_minutes > 0 and self.train_seconds >= c.time_budget_minutes * 60
        return self.step >= c.max_steps or over_budget

    def train_step(self) -> float:
        c = self.config
        lr = self.learning_rate(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = 0.0
        for _ in range(c.grad_accum):
            x, y = self.sample_batch(c.batch_size, c.block_size, self.data_rng)
            _, loss = self.model(x, y)
            (loss * (1.0 / c.grad_accum)).backward()  # average, not sum, over micro-batches
            total += loss.item() / c.grad_accum
        if not math.isfinite(total):
            raise TrainingDiverged(f"loss became {total} at step {self.step + 1}; stopped, the last checkpoint in "
                                   f"{self.out_dir} is kept (try a lower lr or more warmup)")
        if c.grad_clip > 0:
            clip_grad_norm_(self.model.parameters(), c.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.step += 1
        self.history.append([self.step, round(total, 6), lr])
        return total

    def evaluate(self, elapsed: float) -> dict:
        c = self.config
        val_loss = estimate_loss(self.model, self.val_tokens, c.eval_batches, c.batch_size, seed=c.seed + 1)
        train_loss = estimate_loss(self.model, self.train_tokens, c.eval_batches, c.batch_size, seed=c.seed + 2)
        val = self.meta["splits"]["val"]
        record = {
            "step": self.step, "tokens": self.step * c.batch_size * c.block_size * c.grad_accum,
            "train_loss": train_loss, "val_loss": val_loss,
            "val_bpb": bits_per_byte(val_loss, val["tokens"], val["bytes"]), "lr": self.learning_rate(self.step),
            "train_s": round(self.train_seconds, 1), "wall_s": round(elapsed, 1),
        }
        for source in self.val_sources:  # several sources: held-out bits per byte of each
            tokens = self.val_tokens[source.start:source.end]
            loss = estimate_loss(self.model, tokens, c.eval_batches, c.batch_size, seed=c.seed + 1)
            record[f"val_bpb_{source.name}"] = bits_per_byte(loss, source.tokens, source.bytes)
        self.evals.append(record)
        return record

    def run(self) -> list[dict]:
        c = self.config
        tokens_per_step = c.batch_size * c.block_size * c.grad_accum
        start, last_time = time.perf_counter(), time.perf_counter()
        total = None if c.time_budget_minutes > 0 else c.max_steps  # a time budget ends the run, not a step count
        bar = tqdm(total=total, initial=self.step, desc="train", disable=not c.progress, unit="step", mininterval=1.0)
        while not self.finished():
            loss = self.train_step()
            now = time.perf_counter()
            self.train_seconds += now - last_time
            bar.set_postfix(loss=f"{loss:.3f}", lr=f"{self.learning_rate(self.step):.2e}",
                            tok_s=f"{tokens_per_step / (now - last_time):.0f}")
            bar.update(1)
            done = self.finished()
            out_of_time = c.time_limit_minutes and now - start > c.time_limit_minutes * 60
            if self.step % c.eval_interval == 0 or done or out_of_time:
                record = self.evaluate(now - start)
                bar.write(f"step {record['step']}: train {record['train_loss']:.4f}  val {record['val_loss']:.4f}  "
                          f"val bpb {record['val_bpb']:.3f}")
            if c.timeline_interval and (self.step % c.timeline_interval == 0 or done):
                self.record_timeline()
            if self.step % c.checkpoint_interval == 0 or done or out_of_time:
                self.save()
                write_logs(self.out_dir, self.history, self.evals)
            if out_of_time:
                bar.write(f"time limit of {c.time_limit_minutes} min reached at step {self.step}; resume with --resume")
                break
            last_time = time.perf_counter()  # evaluation and checkpoint time is not training time
        bar.close()
        if self.config.release_dir:
            self.release(Path(self.config.release_dir))
        return self.evals

    def record_timeline(self) -> None:
        """What the model writes now for the timeline's fixed prompts (and its suite counts): OUT/timeline.jsonl."""
        c = self.config
        tokenizer = load_tokenizer(Path(c.data_dir) / self.meta["tokenizer"])
        tokens = self.step * c.batch_size * c.block_size * c.grad_accum
        self.timeline.append(timeline.record(self.model, tokenizer, self.step, tokens, suite=c.timeline_suite))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out_dir / "timeline.jsonl", "".join(json.dumps(r) + "\n" for r in self.timeline))

    def release(self, release_dir: Path) -> dict:
        """Write the shippable model: fp16 weights, tokenizer, logs, and the exact held-out bits per byte."""
        release_dir.mkdir(parents=True, exist_ok=True)
        val = self.meta["splits"]["val"]
        shipped = GPT(self.model.config)  # measure exactly what ships: the weights rounded to fp16
        shipped.load_weights({k: v.astype(np.float16).astype(np.float32) for k, v in self.model.weights().items()})
        val_loss = evaluate_split(shipped, self.val_tokens, self.config.batch_size, progress=self.config.progress)
        metrics = {"step": self.step, "val_loss": val_loss, "val_bpb": bits_per_byte(val_loss, val["tokens"],
                                                                                       val["bytes"]),
                   "val_tokens": val["tokens"], "val_bytes": val["bytes"], "weights_dtype": "float16"}
        metadata = {**self._metadata(), "tokenizer": "tokenizer.json", "metrics": metrics}
        for key in ("data_rng", "tt_rng", "history"):
            metadata.pop(key)
        save_checkpoint(release_dir / "model.safetensors", self.model, metadata, dtype=np.float16)
        shutil.copyfile(Path(self.config.data_dir) / self.meta["tokenizer"], release_dir / "tokenizer.json")
        write_logs(release_dir, self.history, self.evals)
        if self.timeline:
            atomic_write_text(release_dir / "timeline.jsonl", "".join(json.dumps(r) + "\n" for r in self.timeline))
        atomic_write_text(release_dir / "metrics.json", json.dumps(metrics, indent=1))
        print(f"released {release_dir}: held-out bits per byte {metrics['val_bpb']:.4f} (loss {val_loss:.4f})")
        return metrics


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip() + "\n\nkeys: " + ", ".join(f"--{k}={v!r}" for k, v in TrainConfig().to_dict().items()))
        return 0
    try:
        config, resume = parse_args(argv)
        trainer = Trainer(config, resume)
    except (ConfigError, CheckpointError, data.DatasetError) as err:
        print(f"train: error: {err}", file=sys.stderr)
        return 2
    try:
        trainer.run()
    except TrainingDiverged as err:
        print(f"train: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
