"""The distributed training loop of `tinygpt scale-train`: one process per rank, started by `torchrun`.

Each step, as `tinygpt.train.trainer` takes it, on every rank at once:
    lr <- warmup+cosine(step)                     (tinytorch.optim.warmup_cosine, each group scaled from its peak)
    grad_accum times: this rank's share of the global batch -> forward -> sum of masked losses / global targets
                      -> backward (DDP all-reduces the gradients on the last micro-batch only: `no_sync`)
    all-reduce the step's loss and the stop requests  ->  clip the global gradient norm  ->  optimizer step
DDP averages gradients over ranks; each rank scales its summed loss by world_size / (global targets * grad_accum),
so the gradient is that of the mean loss over the global batch's targets: N ranks of batch B compute the step one
process of batch N*B computes. Every rank then holds the same gradient and takes the same step, so the weights stay
identical (`--debug-log` writes each rank's weight digest per step to check it).

The same code runs on CPUs (gloo) and GPUs (NCCL, one GPU per rank: cuda:LOCAL_RANK). Without torchrun the command
is a world of one process. Rank 0 alone prints, evaluates into the logs and writes; SIGINT or SIGTERM on any rank
stops every rank after the current step, with a checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm
from transformers.utils import logging as transformers_logging

from tinygpt.checkpoint import CheckpointError
from tinygpt.data import dataset
from tinygpt.outputs import DirectoryLock, Interrupted, OutputError, remove_stale_temporaries, signal_handlers
from tinygpt.scale import state as checkpoints
from tinygpt.scale.batches import ShardedBatches, eval_shards
from tinygpt.scale.gpt2 import build_model, make_optimizers, non_finite_parameter, summed_loss, weights_sha256
from tinygpt.train.config import ConfigError, TrainConfig, parse_source_weights
from tinygpt.train.loss import bits_per_byte
from tinygpt.train.report import write_logs
from tinytorch.optim import warmup_cosine


class ScaleError(RuntimeError):
    """A problem rank 0 found before training (a config, a checkpoint): every rank stops with its message."""


class TrainingDiverged(RuntimeError):
    pass


class TrainingStopped(Exception):
    """Stopped by SIGINT or SIGTERM after saving a checkpoint; `exit_code` is 128 + the signal."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class StopRequest:
    """The first SIGINT or SIGTERM asks for a stop after this step; a second one stops at once."""

    def __init__(self):
        self.signum: int | None = None

    def __call__(self, signum: int, frame) -> None:
        if self.signum is not None:
            raise Interrupted(signum)
        self.signum = signum


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def lead(self) -> bool:
        return self.rank == 0


def join(device: str) -> World:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR...), or make a world of one."""
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise ScaleError("--device cuda: no CUDA device is visible to this process")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    target = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(target)
    backend = "nccl" if use_cuda else "gloo"
    if "WORLD_SIZE" in os.environ:
        dist.init_process_group(backend)
    else:
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    return World(dist.get_rank(), dist.get_world_size(), target)


def reduce_sum(values: list[float], world: World) -> list[float]:
    tensor = torch.tensor(values, dtype=torch.float64, device=world.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


class ScaleTrainer:
    def __init__(self, start: checkpoints.Start, model: torch.nn.Module, world: World, data_view: dict,
                 precision: str = "fp32", debug_log: Path | None = None):
        self.config, self.world, self.data = start.config, world, data_view
        c = self.config
        self.model = model.to(world.device)
        self.ddp = DistributedDataParallel(self.model)  # copies rank 0's weights to all
        self.optimizers = make_optimizers(self.model, c)
        self.peaks = [[group["lr"] for group in optimizer.param_groups] for optimizer in self.optimizers]
        if start.optimizers is not None:  # holds the lr of its last step: the schedule scales self.peaks instead
            try:
                for optimizer, saved in zip(self.optimizers, start.optimizers, strict=True):
                    optimizer.load_state_dict(saved)
            except (ValueError, KeyError, TypeError) as err:
                raise ScaleError(f"{checkpoints.checkpoint_dir(c)}: its optimizer state does not fit "
                                 f"optimizer={c.optimizer!r} ({type(err).__name__}: {err})") from None
        self.batches = ShardedBatches(data_view["meta"], data_view["train"], data_view["train_mask"], c.block_size,
                                      c.batch_size, world.rank, world.size, c.seed)
        if start.data_rng is not None:
            self.batches.rng.bit_generator.state = start.data_rng
        self.step, self.history, self.evals = start.step, start.history, start.evals
        self.train_seconds = start.train_seconds
        self.precision = precision
        self.debug_log = None
        if debug_log is not None:
            debug_log.mkdir(parents=True, exist_ok=True)
            self.debug_log = open(debug_log / f"rank-{world.rank}.jsonl", "a", encoding="utf-8")

    def autocast(self):
        """The forward pass's precision: float32, or bfloat16 autocast."""
        if self.precision == "bf16":
            return torch.autocast(self.world.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def tokens_per_step(self) -> int:
        c = self.config
        return self.batches.global_batch * c.block_size * c.grad_accum

    def learning_rate(self, step: int) -> float:
        c = self.config
        return c.lr * warmup_cosine(step, c.warmup_steps, c.max_steps, c.min_lr_ratio)

    def train_step(self, stop_requested: bool, out_of_time: bool) -> tuple[float, bool, bool]:
        """One optimizer step; returns (the global batch's mean loss, whether any rank asked to stop, whether any
        rank ran out of time)."""
        c, world = self.config, self.world
        lr = self.learning_rate(self.step)
        for optimizer, peaks in zip(self.optimizers, self.peaks):
            for group, peak in zip(optimizer.param_groups, peaks):
                group["lr"] = peak * (lr / c.lr)
        seed = np.random.SeedSequence([c.seed, self.step, world.rank]).generate_state(1)[0]
        torch.manual_seed(int(seed))  # dropout's masks: a function of (seed, step, rank), so a resume repeats them
        self.ddp.train()
        local = 0.0
        for micro in range(c.grad_accum):
            shard = self.batches.next()
            x = torch.from_numpy(shard.x).to(world.device)
            y = torch.from_numpy(shard.y).to(world.device)
            last = micro == c.grad_accum - 1
            with (contextlib.nullcontext() if last else self.ddp.no_sync()), self.autocast():
                loss_sum = summed_loss(self.ddp, x, y)
            denominator = max(shard.global_targets, 1) * c.grad_accum
            (loss_sum * (world.size / denominator)).backward()
            local += loss_sum.item() / denominator
        loss, stops, late = reduce_sum([local, float(stop_requested), float(out_of_time)], world)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} at step {self.step + 1}; stopped without saving. Try a lower "
                                   "lr or more warmup")
        if c.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
        for optimizer in self.optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.history.append([self.step, round(loss, 6), lr])
        if self.debug_log is not None:
            record = {"step": self.step, "rank": world.rank, "world_size": world.size, "loss": loss,
                      "weights_sha256": weights_sha256(self.model)}
            self.debug_log.write(json.dumps(record) + "\n")
            self.debug_log.flush()
        return loss, stops > 0, late > 0

    def estimate(self, tokens: np.ndarray, seed: int) -> float:
        """`tinygpt.train.loss.estimate_loss` over the ranks: the same windows, each rank its share."""
        c, world = self.config, self.world
        local = 0.0
        for shard in eval_shards(tokens, c.eval_batches, self.batches.global_batch, c.block_size, seed, world.rank,
                                 world.size):
            x = torch.from_numpy(shard.x).to(world.device)
            y = torch.from_numpy(shard.y).to(world.device)
            with self.autocast():
                local += summed_loss(self.model, x, y).item() / max(shard.global_targets, 1)
        return local / c.eval_batches

    @torch.no_grad()
    def evaluate(self, elapsed: float) -> dict:
        """Held-out and training loss estimates and held-out bits per byte (per source too), as the project logs
        them; every rank takes part and gets the same record."""
        c, meta = self.config, self.data["meta"]
        self.model.eval()
        sources = self.data["val_sources"]
        locals_ = [self.estimate(self.data["val"], c.seed + 1), self.estimate(self.data["train"], c.seed + 2)]
        locals_ += [self.estimate(self.data["val"][s.start:s.end], c.seed + 1) for s in sources]
        val_loss, train_loss, *per_source = reduce_sum(locals_, self.world)
        val = meta["splits"]["val"]
        record = {"step": self.step, "tokens": self.step * self.tokens_per_step, "train_loss": train_loss,
                  "val_loss": val_loss, "val_bpb": bits_per_byte(val_loss, val["tokens"], val["bytes"]),
                  "lr": self.learning_rate(self.step), "train_s": round(self.train_seconds, 1),
                  "wall_s": round(elapsed, 1), "world_size": self.world.size}
        for source, loss in zip(sources, per_source):
            record[f"val_bpb_{source.name}"] = bits_per_byte(loss, source.tokens, source.bytes)
        self.evals.append(record)
        return record

    def say(self, text: str) -> None:
        if self.world.lead:
            print(text, file=sys.stderr)

    def save(self) -> None:
        """Every rank checks its weights (identical everywhere); rank 0 writes the checkpoint and the logs."""
        broken = non_finite_parameter(self.model)
        if broken is not None:
            raise TrainingDiverged(f"weights became non-finite ({broken}) at step {self.step}; stopped without saving "
                                   "them. Try a lower lr or more warmup")
        if not self.world.lead:
            return
        state = {"step": self.step, "history": self.history, "evals": self.evals,
                 "data_rng": self.batches.rng.bit_generator.state, "train_seconds": self.train_seconds,
                 "world_size": self.world.size, "global_batch": self.batches.global_batch,
                 "train_config": self.config.to_dict(), "dataset": self.data["meta"]}
        checkpoints.save(checkpoints.checkpoint_dir(self.config), self.model, self.optimizers,
                         self.data["tokenizer"], state)
        write_logs(self.config.out_dir, self.history, self.evals)

    def run(self, stop: StopRequest) -> None:
        """Train to max_steps; stop early, with a checkpoint, at the time limit or on a signal."""
        c = self.config
        start = last = time.perf_counter()
        bar = tqdm(total=c.max_steps, initial=self.step, desc="scale-train", unit="step", mininterval=1.0,
                   disable=not (c.progress and self.world.lead))
        first_step, first_seconds, stopped, late = self.step, self.train_seconds, False, False
        try:
            while self.step < c.max_steps and not (stopped or late):
                out_of_time = bool(c.time_limit_minutes) and last - start > c.time_limit_minutes * 60
                loss, stopped, late = self.train_step(stop.signum is not None, out_of_time)
                now = time.perf_counter()
                self.train_seconds += now - last
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{self.tokens_per_step / (now - last):.0f}")
                bar.update(1)
                done = self.step >= c.max_steps
                if self.step % c.eval_interval == 0 or done or stopped or late:
                    record = self.evaluate(now - start)
                    if self.world.lead:
                        bar.write(f"step {record['step']}: train {record['train_loss']:.4f}  "
                                  f"val {record['val_loss']:.4f}  val bpb {record['val_bpb']:.3f}")
                if self.step % c.checkpoint_interval == 0 or done or stopped or late:
                    self.save()
                last = time.perf_counter()  # evaluation and checkpoint time is not training time
        finally:
            bar.close()
            if self.debug_log is not None:
                self.debug_log.close()
        steps, seconds = self.step - first_step, self.train_seconds - first_seconds
        if steps and seconds > 0:
            self.say(f"scale-train: {steps} steps on {self.world.size} rank(s), global batch "
                     f"{self.batches.global_batch} x {c.grad_accum} of {c.block_size} tokens: "
                     f"{steps * self.tokens_per_step / seconds:.0f} tokens/s")
        where = checkpoints.checkpoint_dir(c)
        if stopped:
            raise TrainingStopped(f"stopped by a signal at step {self.step}: {where} holds it; continue with --resume",
                                  stop.signum or 15)
        if late:
            self.say(f"scale-train: time limit of {c.time_limit_minutes} min reached at step {self.step}; continue "
                     "with --resume")


def load_data(config: TrainConfig, world: World) -> dict:
    """Every rank opens the prepared token files itself (memory-mapped): each node needs the dataset at the same
    path. Checked as `tinygpt train` checks it, with the global batch for the evaluation windows."""
    meta = dataset.reweighted(dataset.read_meta(config.data_dir), parse_source_weights(config.source_weights))
    dataset.check_block_size(meta, config.block_size, config.data_dir)
    dataset.check_eval_batches(meta, config.eval_batches, config.batch_size * world.size)
    tokenizer = Path(config.data_dir) / meta["tokenizer"]
    if not tokenizer.is_file():
        raise dataset.DatasetError(f"{tokenizer} is missing (meta.json names it); prepare the dataset again")
    val_sources = dataset.source_splits(meta, "val")
    return {"meta": meta, "tokenizer": tokenizer, "train": dataset.load_split(config.data_dir, "train"),
            "val": dataset.load_split(config.data_dir, "val"),
            "train_mask": dataset.load_mask(config.data_dir, "train") if config.loss_mask else None,
            "val_sources": [s for s in val_sources if s.tokens > config.block_size] if len(val_sources) > 1 else []}


def lead_plan(values: dict, resume: str, world: World, locks: contextlib.ExitStack):
    """Rank 0: the config (the stored one too, with --resume) and the lock on --out_dir; the error message that
    stops every rank instead, if there is one."""
    if not world.lead:
        return None
    try:
        config, state, changes = checkpoints.resolve_config(values, resume)
        locks.enter_context(DirectoryLock(config.out_dir, "--out_dir"))
        for path in remove_stale_temporaries(Path(config.out_dir)):
            print(f"scale-train: note: removed {path}, left by a run killed while writing it", file=sys.stderr)
        return config, state, changes
    except (ConfigError, CheckpointError, OutputError) as err:
        return str(err)


def lead_start(resolved: tuple, data_view: dict, world: World) -> tuple:
    """Rank 0: the start of the run and its model with the starting weights, or the error message."""
    if not world.lead:
        return None, None
    try:
        return checkpoints.plan_start(*resolved, data_view["meta"], data_view["tokenizer"])
    except (ConfigError, CheckpointError, OutputError, dataset.DatasetError) as err:
        return str(err), None


def agreed(value, world: World):
    """Rank 0's `value` on every rank; an error message there stops them all (ScaleError)."""
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    if isinstance(holder[0], str):
        raise ScaleError(holder[0])
    return holder[0]


def run(values: dict, resume: str, device: str = "auto", precision: str = "fp32",
        debug_log: Path | None = None) -> None:
    """The whole command on one rank: join the group; rank 0 reads the config and plans the start, sending both
    to the others; every rank opens the data and trains; leave the group."""
    world = join(device)
    transformers_logging.disable_progress_bar()
    stop = StopRequest()
    try:
        with signal_handlers(stop), contextlib.ExitStack() as locks:
            resolved = lead_plan(values, resume, world, locks)  # rank 0: (config, state, changes) or an error
            config = agreed(resolved[0] if isinstance(resolved, tuple) else resolved, world)
            data_view = load_data(config, world)
            start, model = lead_start(resolved, data_view, world)
            start = agreed(start, world)
            if not world.lead:
                model = build_model(start.hf_config)
            global_batch = start.config.batch_size * world.size
            if start.global_batch not in (None, global_batch):
                start.notes.append(f"the global batch was {start.global_batch} windows and is now {global_batch} "
                                   f"({world.size} ranks x batch_size {start.config.batch_size}): the run continues "
                                   "with other batches than it would have")
            for note in start.notes if world.lead else []:
                print(f"scale-train: note: {note}", file=sys.stderr)
            if start.config.blas_threads:
                torch.set_num_threads(start.config.blas_threads)
            ScaleTrainer(start, model, world, data_view, precision, debug_log).run(stop)
    finally:
        dist.destroy_process_group()
