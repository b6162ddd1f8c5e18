"""Train TinyGPT: a straight line of get batch -> forward -> backward -> clip -> schedule -> step, with periodic
held-out loss and bits per byte, atomic checkpoints that resume exactly, and a loss curve at the end.

Every checkpoint is judged (`health.py`): the latest is OUT/ckpt.safetensors, the last healthy one also
OUT/healthy.safetensors, which a diverging run never overwrites. `--resume` continues the latest, `--resume=healthy`
the healthy one. Every step of a run uses the same number of BLAS threads (recorded in the checkpoint), so a resumed
run repeats the uninterrupted one bit for bit on the same machine and NumPy build.

`Trainer` owns one run: data, model, optimizer, schedule, the loop, checkpoints, logs, the capability timeline and
the release. The command line around it (`python train.py`, `tinygpt train`: flags, --resume, the directory lock,
signals, exit statuses) is `tinygpt/cli/train.py`; the loss estimates it logs are `loss.py`.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import tinytorch as tt
from tinygpt.checkpoint import (
    CheckpointError,
    atomic_write_text,
    describe_checkpoint,
    load_model,
    optimizer_state_from,
    read_document,
    save_checkpoint,
)
from tinygpt.data import dataset
from tinygpt.model import GPT, WEIGHT_SHAPE_KEYS, GPTConfig, decay_groups
from tinygpt.outputs import (
    Interrupted,
    atomic_copy,
    atomic_directory,
    file_sha256,
)
from tinygpt.train import health, timeline
from tinygpt.train.config import MODEL_KEYS, ConfigError, TrainConfig, parse_source_weights
from tinygpt.train.loss import bits_per_byte, estimate_loss, evaluate_split
from tinygpt.train.report import LOG_FILES, write_logs, write_timeline
from tinytorch.optim import AdamW, Combined, Muon, clip_grad_norm_, muon_split, warmup_cosine
from tinytorch.text import load_tokenizer
from tinytorch.threads import blas_threads, usable_blas_threads

CHECKPOINT_NAME = "ckpt.safetensors"  # the latest checkpoint
HEALTHY_NAME = "healthy.safetensors"  # the last checkpoint judged healthy (tinygpt.train.health)
TOKENIZER_NAME = "tokenizer.json"  # the copy of the dataset's tokenizer beside each checkpoint
RELEASE_FILES = ("model.safetensors", TOKENIZER_NAME, "metrics.json", "timeline.jsonl", "timeline.png", *LOG_FILES)
# The run state a checkpoint carries beside its weights and optimizer state: written by `run_state`, restored by
# `resume`. True: a checkpoint must hold it to be resumed; False: checkpoints of older versions may lack it, and the
# run continues with its default.
RUN_STATE = {"step": True, "history": True, "evals": True, "data_rng": True, "tt_rng": True,
             "train_seconds": False, "timeline": False, "healthy": False, "blas_threads": False}
RESUME_KEYS = tuple(key for key, required in RUN_STATE.items() if required)


class TrainingDiverged(RuntimeError):
    pass


class TrainingStopped(Exception):
    """The run stopped early on SIGINT or SIGTERM after saving a checkpoint; `exit_code` is 128 + the signal."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class StopRequest:
    """A signal handler: the first SIGINT or SIGTERM asks the training loop to stop after the current step (and save
    a checkpoint); a second one raises Interrupted at once."""

    def __init__(self):
        self.signum: int | None = None

    def __call__(self, signum: int, frame) -> None:
        if self.signum is not None:
            raise Interrupted(signum)
        self.signum = signum
        print(f"\ntrain: {signal.Signals(signum).name}: stopping after this step with a checkpoint (send it again to "
              "stop at once, without one)", file=sys.stderr, flush=True)


def log_line(bar, text: str) -> None:
    """A progress line on stdout (through the bar, which stays below it). A closed or full stdout loses the line, never
    the run: what a run writes to its files is its output."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        bar.write(text)


def check_dataset_tokenizer(path: Path, vocab_size: int) -> None:
    """The dataset's tokenizer must load and fit its vocabulary: a run copies it beside every checkpoint, and a
    damaged one would only fail later, when the model is used."""
    try:
        tokenizer = load_tokenizer(path)
    except (OSError, ValueError) as err:
        raise dataset.DatasetError(f"the dataset's tokenizer cannot be read: {err}; prepare the dataset "
                                   "again") from None
    if tokenizer.vocab_size > vocab_size:
        raise dataset.DatasetError(f"{path} has {tokenizer.vocab_size} tokens, more than meta.json's vocab_size "
                                f"{vocab_size}; prepare the dataset again")


def check_optimizer_steps(state: dict, step: int) -> None:
    """Each parameter's Adam step counter counts the optimizer's steps: a whole number from 0 to the run's `step`."""
    for index, values in state["state"].items():
        counter = values.get("step", 0)
        if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= step:
            raise CheckpointError(f"its optimizer step counter optimizer.{index}.step is {counter!r}, not a count "
                                  f"from 0 to the checkpoint's step {step}")


def make_optimizer(model: GPT, config: TrainConfig) -> AdamW | Combined:
    """AdamW over every parameter (decay on matrices only), or with optimizer "muon" Muon over the transformer
    blocks' weight matrices (`muon_split`) and that AdamW over the rest: embeddings, biases, norms."""
    betas = (config.beta1, config.beta2)
    if config.optimizer == "adamw":
        return AdamW(model.optimizer_groups(config.weight_decay), lr=config.lr, betas=betas)
    hidden, rest = muon_split(model)
    return Combined(Muon(hidden, lr=config.muon_lr, momentum=config.muon_momentum, weight_decay=0.0),
                    AdamW(decay_groups(rest, config.weight_decay), lr=config.lr, betas=betas))


class Trainer:
    def __init__(self, config: TrainConfig, resume_from: Path | None = None):
        """A run of `config`: from `resume_from` (a checkpoint of this run: weights, optimizer, RNGs and logs) if
        given, else from `config.init_from`'s weights if set (never read when resuming: the checkpoint has the
        weights, and the init's shape may be the one the run grew from), else from a fresh initialisation."""
        self.config = config
        self.out_dir = Path(config.out_dir)
        self.meta = dataset.reweighted(dataset.read_meta(config.data_dir), parse_source_weights(config.source_weights))
        dataset.check_block_size(self.meta, config.block_size, config.data_dir)
        self.tokenizer_path = Path(config.data_dir) / self.meta["tokenizer"]
        if not self.tokenizer_path.is_file():
            raise dataset.DatasetError(f"{self.tokenizer_path} is missing (meta.json names it); prepare the dataset "
                                    "again")
        self.tokenizer_sha256 = file_sha256(self.tokenizer_path)
        self.train_tokens = dataset.load_split(config.data_dir, "train")
        self.val_tokens = dataset.load_split(config.data_dir, "val")
        check_dataset_tokenizer(self.tokenizer_path, self.meta["vocab_size"])
        dataset.check_eval_batches(self.meta, config.eval_batches, config.batch_size)
        if config.timeline_suite and config.timeline_interval > 0:
            from tinygpt.sandbox import isolation_problem  # the suite runs generated code: only in the sandbox
            if (problem := isolation_problem()) is not None:
                raise ConfigError(f"timeline_suite runs generated code, which needs the sandbox: {problem} "
                                  "(apt-get install bubblewrap), or set --timeline_suite=false")
        mask = dataset.load_mask(config.data_dir, "train") if config.loss_mask else None  # exercises: body only
        self.val_mask = dataset.load_mask(config.data_dir, "val")
        self.sample_batch = dataset.batch_sampler(self.meta, self.train_tokens, mask)  # rows drawn by source weight
        val_sources = dataset.source_splits(self.meta, "val")
        self.val_sources = [s for s in val_sources if s.tokens > config.block_size] if len(val_sources) > 1 else []
        for source in val_sources if len(val_sources) > 1 else []:
            if source.tokens <= config.block_size:
                print(f"train: note: source {source.name!r} holds {source.tokens} held-out tokens, not more than "
                      f"block_size={config.block_size}; its bits per byte are not logged", file=sys.stderr)
        chosen = {key: getattr(config, key) for key in MODEL_KEYS}
        model_config = GPTConfig(vocab_size=self.meta["vocab_size"], **chosen)
        self.model = GPT(model_config, seed=config.seed)
        self.optimizer = make_optimizer(self.model, config)
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]  # the schedule scales each
        self.data_rng = np.random.default_rng(config.seed)
        self.step, self.history, self.evals, self.train_seconds = 0, [], [], 0.0
        self.timeline: list[dict] = []  # capability records (see tinygpt.train.timeline)
        self.healthy: dict | None = None  # the last healthy checkpoint's step, held-out loss and weight norm
        self.unhealthy: str | None = None  # why the latest checkpoint is not healthy, if it is not
        self.blas_threads = config.blas_threads or None  # None: counted when the run starts, then fixed
        if resume_from is not None:
            self.resume(resume_from)
        elif config.init_from:
            self.start_from(Path(config.init_from))

    # ---- checkpoints ---------------------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_NAME

    def run_state(self) -> dict:
        """Where the run stands (the keys of RUN_STATE): what `resume` restores."""
        return {"step": self.step, "history": self.history, "evals": self.evals,
                "data_rng": self.data_rng.bit_generator.state, "tt_rng": tt.default_rng().bit_generator.state,
                "train_seconds": self.train_seconds, "timeline": self.timeline, "healthy": self.healthy,
                "blas_threads": self.blas_threads}

    def _metadata(self) -> dict:
        """The checkpoint's document: the config, the tokenizer and dataset it was trained on, and the run state."""
        return {"train_config": self.config.to_dict(), "tokenizer": TOKENIZER_NAME,
                "tokenizer_sha256": self.tokenizer_sha256, "tokenizer_source": str(self.tokenizer_path),
                "dataset": self.meta, **self.run_state()}

    def check_finite(self) -> None:
        """Raise TrainingDiverged if any weight is NaN or infinite: such weights are never saved."""
        broken = [name for name, array in self.model.weights().items() if not np.isfinite(array).all()]
        if broken:
            raise TrainingDiverged(f"weights became non-finite ({broken[0]}) at step {self.step}; stopped without "
                                   f"saving them. On disk: {self.on_disk()}. Try a lower lr or more warmup")

    def save(self) -> str | None:
        """Write the checkpoint (atomically), with the tokenizer it was trained with beside it, and judge it: a healthy
        one is also copied to OUT/healthy.safetensors. Returns why it is not healthy, or None."""
        self.check_finite()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        beside = self.out_dir / TOKENIZER_NAME
        if not beside.is_file() or file_sha256(beside) != self.tokenizer_sha256:
            atomic_copy(self.tokenizer_path, beside)
        val_loss, norm = self.held_out_loss(), health.weight_norm(self.model.weights())
        problem = health.judge(val_loss, norm, self.evals, self.healthy, self.step, self.meta["vocab_size"])
        self.unhealthy = problem
        if problem is None:
            self.healthy = {"step": self.step, "val_loss": val_loss, "weight_norm": norm}
        save_checkpoint(self.checkpoint_path, self.model, self._metadata(), self.optimizer.state_dict())
        if problem is None:
            atomic_copy(self.checkpoint_path, self.out_dir / HEALTHY_NAME)
        elif self.healthy is None:  # this run has no healthy checkpoint: one there is another run's
            (self.out_dir / HEALTHY_NAME).unlink(missing_ok=True)
        return problem

    def held_out_loss(self) -> float:
        """The held-out loss now: this step's evaluation, or the same estimate (the same windows) made for it."""
        if self.evals and self.evals[-1].get("step") == self.step:
            return self.evals[-1]["val_loss"]
        c = self.config
        return estimate_loss(self.model, self.val_tokens, c.eval_batches, c.batch_size, seed=c.seed + 1)

    def on_disk(self) -> str:
        """What a stopped run leaves, in words: the latest checkpoint and, when it is not the same step, the last
        healthy one, with which --resume continues each."""
        latest = describe_checkpoint(self.checkpoint_path)
        path = self.out_dir / HEALTHY_NAME
        if self.healthy is None or not path.is_file():
            return latest
        try:
            if read_document(self.checkpoint_path).get("step") == self.healthy["step"]:
                return latest
        except CheckpointError:
            pass
        return (f"{latest}; the last healthy checkpoint is {path} (step {self.healthy['step']}, held-out loss "
                f"{self.healthy['val_loss']:.4g}): --resume continues the latest, --resume=healthy the healthy one")

    def resume(self, path: Path | None = None) -> None:
        """Continue from OUT/ckpt.safetensors (or the checkpoint at `path`) exactly where it stopped: weights,
        optimizer, RNGs, logs, BLAS threads."""
        path = path or self.checkpoint_path
        model, document, tensors = load_model(path)
        if model.config != self.model.config:
            raise CheckpointError(f"checkpoint {path} was trained with {model.config}, this run asks for "
                                  f"{self.model.config}")
        missing = [key for key in RESUME_KEYS if key not in document]
        if missing:
            raise CheckpointError(f"checkpoint {path} cannot be resumed: it lacks {', '.join(missing)} (a release "
                                  "or an imported checkpoint holds weights only)")
        step = document["step"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0 or not all(
                isinstance(document[key], list) for key in ("history", "evals")):
            raise CheckpointError(f"checkpoint {path} cannot be resumed: its step ({step!r}) is not a count or its "
                                  "history or evals is not a list")
        if len(document["history"]) != step:  # one row per step since the run began
            raise CheckpointError(f"checkpoint {path} cannot be resumed: its step ({step}) is not the number of steps "
                                  f"its history logs ({len(document['history'])}); the file was altered")
        self.check_tokenizer(path, document)
        self.model.load_weights(model.weights())
        try:
            optimizer_state = optimizer_state_from(document, tensors)
            check_optimizer_steps(optimizer_state, step)
            self.optimizer.load_state_dict(optimizer_state)
            self.data_rng.bit_generator.state = document["data_rng"]
            tt.default_rng().bit_generator.state = document["tt_rng"]
        except CheckpointError as err:
            raise CheckpointError(f"checkpoint {path} cannot be resumed: {err}") from None
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise CheckpointError(f"checkpoint {path} cannot be resumed: its optimizer or RNG state is malformed "
                                  f"({type(err).__name__}: {err})") from None
        self.step, self.history, self.evals = document["step"], document["history"], document["evals"]
        self.train_seconds = document.get("train_seconds", 0.0)
        self.timeline = document.get("timeline", [])
        self.healthy = health.read_healthy(document)
        recorded = document.get("blas_threads")
        if not self.config.blas_threads and isinstance(recorded, int) and not isinstance(recorded, bool) \
                and recorded >= 1:
            self.blas_threads = recorded  # the count the run began with: the same sums, the same results

    def start_from(self, path: Path) -> None:
        """Fine-tuning: this run's model starts with the weights of the checkpoint at `path` (a release or a run's
        checkpoint), whose shape and tokenizer must be this run's; optimizer, schedule, RNGs and logs start fresh."""
        try:
            model, document, _ = load_model(path)
        except CheckpointError as err:
            raise CheckpointError(f"--init_from: {err}") from None
        differ = [key for key in WEIGHT_SHAPE_KEYS if getattr(model.config, key) != getattr(self.model.config, key)]
        if differ:
            theirs = " ".join(f"--{key}={getattr(model.config, key)}" for key in differ if key != "vocab_size")
            raise CheckpointError(f"--init_from {path} differs from this run in {', '.join(differ)}: give the "
                                  f"checkpoint's shape ({theirs or 'its vocabulary'}) and a dataset prepared with its "
                                  "tokenizer")
        beside = path.with_name(TOKENIZER_NAME)
        recorded = document.get("tokenizer_sha256") or (file_sha256(beside) if beside.is_file() else None)
        if recorded is not None and recorded != self.tokenizer_sha256:
            raise CheckpointError(f"--init_from {path} was trained with a tokenizer of sha256 {recorded[:12]}, the "
                                  f"dataset {self.config.data_dir} has {self.tokenizer_sha256[:12]}: prepare it with "
                                  f"`tinygpt prepare ... --tokenizer {beside}`")
        self.model.load_weights(model.weights())

    def check_tokenizer(self, path: Path, document: dict) -> None:
        """Refuse to resume on a dataset whose tokenizer is not the checkpoint's. A checkpoint from before the hash
        was recorded is taken to match the dataset's tokenizer, whose hash the next checkpoint records."""
        recorded = document.get("tokenizer_sha256")
        if recorded is None:
            print(f"train: note: checkpoint {path} records no tokenizer hash (an older format); assuming it was "
                  f"trained with {self.tokenizer_path} (sha256 {self.tokenizer_sha256[:12]}), which the next "
                  "checkpoint records", file=sys.stderr)
        elif recorded != self.tokenizer_sha256:
            raise CheckpointError(
                f"checkpoint {path} was trained with a tokenizer of sha256 {str(recorded)[:12]}, but "
                f"{self.tokenizer_path} has sha256 {self.tokenizer_sha256[:12]}: the dataset was prepared again since; "
                "resume on the original dataset or train into a new --out_dir")

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
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * (lr / c.lr)
        total = 0.0
        for _ in range(c.grad_accum):
            x, y = self.sample_batch(c.batch_size, c.block_size, self.data_rng)
            _, loss = self.model(x, y)
            (loss * (1.0 / c.grad_accum)).backward()  # average, not sum, over micro-batches
            total += loss.item() / c.grad_accum
        if not math.isfinite(total):
            raise TrainingDiverged(f"loss became {total} at step {self.step + 1}; stopped without saving. On disk: "
                                   f"{self.on_disk()}. Try a lower lr or more warmup")
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
            mask = None if self.val_mask is None else self.val_mask[source.start:source.end]
            if mask is not None and not mask.all():  # exercises: the loss of their bodies alone
                record[f"val_body_loss_{source.name}"] = estimate_loss(self.model, tokens, c.eval_batches,
                                                                      c.batch_size, seed=c.seed + 1, mask=mask)
        self.evals.append(record)
        return record

    def run(self, stop: StopRequest | None = None) -> list[dict]:
        """Train until max_steps or the time budget; then release if --release_dir is set. Stops early, with a
        checkpoint, at the time limit (no release) and when `stop` has seen a signal (raises TrainingStopped)."""
        c = self.config
        stop = stop or StopRequest()
        tokens_per_step = c.batch_size * c.block_size * c.grad_accum
        start, last_time = time.perf_counter(), time.perf_counter()
        total = None if c.time_budget_minutes > 0 else c.max_steps  # a time budget ends the run, not a step count
        bar = tqdm(total=total, initial=self.step, desc="train", disable=not c.progress, unit="step", mininterval=1.0)
        saved_step = self.step
        if self.blas_threads is None:
            self.blas_threads = usable_blas_threads()  # one BLAS thread while another job holds a core; then fixed
        try:
            while not self.finished() and stop.signum is None:
                with blas_threads(self.blas_threads):
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
                    log_line(bar, f"step {record['step']}: train {record['train_loss']:.4f}  "
                                  f"val {record['val_loss']:.4f}  val bpb {record['val_bpb']:.3f}")
                if c.timeline_interval and (self.step % c.timeline_interval == 0 or done):
                    self.record_timeline()
                if self.step % c.checkpoint_interval == 0 or done or out_of_time:
                    problem = self.save()
                    if problem:
                        log_line(bar, f"step {self.step}: saved, but not healthy: {problem}; {self.on_disk()}")
                    saved_step = self.step
                    write_logs(self.out_dir, self.history, self.evals)
                if out_of_time:
                    no_release = "; no release is written for an unfinished run" if c.release_dir else ""
                    log_line(bar, f"time limit of {c.time_limit_minutes} min reached at step {self.step}; resume "
                                  f"with --resume{no_release}")
                    break
                last_time = time.perf_counter()  # evaluation and checkpoint time is not training time
        finally:
            bar.close()
        if stop.signum is not None:
            self.stop_on_signal(stop.signum, saved_step)
        if c.release_dir and self.finished():
            self.release(Path(c.release_dir))
        return self.evals

    def stop_on_signal(self, signum: int, saved_step: int) -> None:
        """Save what the steps since the last checkpoint learned, then raise TrainingStopped saying what is on disk."""
        if self.step != saved_step:
            self.save()
            write_logs(self.out_dir, self.history, self.evals)
        name = signal.Signals(signum).name
        release = "; no release written" if self.config.release_dir else ""
        raise TrainingStopped(f"stopped by {name} at step {self.step}: {self.on_disk()}{release}; continue with "
                              "--resume", signum)

    def record_timeline(self) -> None:
        """What the model writes now for the timeline's fixed prompts (and its suite counts): OUT/timeline.jsonl."""
        c = self.config
        tokenizer = load_tokenizer(self.tokenizer_path)
        tokens = self.step * c.batch_size * c.block_size * c.grad_accum
        self.timeline.append(timeline.record(self.model, tokenizer, self.step, tokens, suite=c.timeline_suite))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        write_timeline(self.out_dir, self.timeline, self.evals)

    def release(self, release_dir: Path) -> dict:
        """Write the shippable model: fp16 weights, tokenizer, logs, and the exact held-out bits per byte; all the
        files together, replacing a previous release in `release_dir` whole. Never a model judged unhealthy."""
        self.check_finite()
        if self.unhealthy:
            raise TrainingDiverged(f"no release written: the model of step {self.step} is not healthy "
                                   f"({self.unhealthy}). On disk: {self.on_disk()}")
        val = self.meta["splits"]["val"]
        shipped = GPT(self.model.config)  # measure exactly what ships: the weights rounded to fp16
        shipped.load_weights({k: v.astype(np.float16).astype(np.float32) for k, v in self.model.weights().items()})
        val_loss = evaluate_split(shipped, self.val_tokens, self.config.batch_size, progress=self.config.progress)
        metrics = {"step": self.step, "val_loss": val_loss, "val_bpb": bits_per_byte(val_loss, val["tokens"],
                                                                                       val["bytes"]),
                   "val_tokens": val["tokens"], "val_bytes": val["bytes"], "weights_dtype": "float16"}
        metadata = {**self._metadata(), "metrics": metrics}
        for key in ("data_rng", "tt_rng", "history"):
            metadata.pop(key)
        with atomic_directory(release_dir, "--release_dir", RELEASE_FILES, "release") as staging:
            save_checkpoint(staging / "model.safetensors", self.model, metadata, dtype=np.float16)
            atomic_copy(self.tokenizer_path, staging / TOKENIZER_NAME)
            write_logs(staging, self.history, self.evals)
            if self.timeline:
                write_timeline(staging, self.timeline, self.evals)
            atomic_write_text(staging / "metrics.json", json.dumps(metrics, indent=1))
        log_line(tqdm, f"released {release_dir}: held-out bits per byte {metrics['val_bpb']:.4f} (loss {val_loss:.4f})")
        return metrics
