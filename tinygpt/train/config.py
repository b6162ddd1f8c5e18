"""Training configuration: a dataclass with sensible defaults, overridable by a JSON config file and then by
`--key=value` flags. A wrong type, an unknown key or a value out of range is a clear `ConfigError` before anything
runs: every number must be finite (Python reads "nan" and "inf" as floats, JSON reads NaN and Infinity) and in the
range `RANGES` gives it, so that no run trains for hours on a NaN learning rate.

With `--resume` the checkpoint's stored config is the base instead of the defaults (`resume_config`): what the
command line gives (config file or flags) overrides it, except the model's shape, which a checkpoint fixes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from tinygpt.model import GPTConfig


class ConfigError(ValueError):
    pass


@dataclass
class TrainConfig:
    # data and output
    data_dir: str = "data/stdlib"
    out_dir: str = "runs/tinygpt"
    release_dir: str = ""  # if set, the finished model is also written there: fp16 weights, tokenizer, logs
    init_from: str = ""  # fine-tuning: start from this checkpoint's weights (fresh optimizer, schedule and logs)
    # model (vocab_size comes from the dataset)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    block_size: int = 256
    dropout: float = 0.0
    bias: bool = True
    pos_encoding: str = "learned"
    # optimisation
    batch_size: int = 16
    grad_accum: int = 1  # micro-batches per step; their gradients are averaged
    max_steps: int = 5000
    time_budget_minutes: float = 0.0  # if > 0: the cosine runs over this much training time, then training ends
    lr: float = 2e-3
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup_steps: int = 200
    optimizer: str = "muon"  # "muon": Muon for the blocks' weight matrices, AdamW (lr) for the rest; "adamw": all
    muon_lr: float = 0.02  # Muon's peak learning rate, on the same warmup and cosine as lr
    muon_momentum: float = 0.95
    weight_decay: float = 0.1  # AdamW's, on matrices only (Muon's matrices: none)
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 disables clipping
    loss_mask: bool = True  # exercises: the loss is on the body only (the dataset's mask); False = every token
    source_weights: str = ""  # "exercises=0.45,real=0.1": these sources' shares of batch rows instead of the dataset's
    # evaluation, checkpoints, reproducibility
    eval_interval: int = 250
    eval_batches: int = 16
    checkpoint_interval: int = 250
    timeline_interval: int = 0  # steps between capability-timeline records (fixed completions); 0 = none
    timeline_suite: bool = False  # the timeline also runs the suite, the unseen-words set and MBPP validation (~3 min)
    seed: int = 1337
    time_limit_minutes: float = 0.0  # stop (with a checkpoint) after this long; 0 = no limit
    # BLAS threads for every step of a run; 0 = the cores free when it starts. The checkpoint records the count and
    # --resume keeps it, so a resumed run repeats the uninterrupted one bit for bit.
    blas_threads: int = 0
    progress: bool = True

    def validate(self) -> None:
        self.validate_fields()
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}")

    def validate_fields(self) -> None:
        """Each value on its own: type, finiteness, range."""
        for field in fields(self):
            value = getattr(self, field.name)
            check_type(field.name, type(field.default), value)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{field.name} must be a finite number, got {value}")
            if field.name in RANGES:
                ok, expected = RANGES[field.name]
                if not ok(value):
                    raise ConfigError(f"{field.name} must be {expected}, got {value}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.pos_encoding not in ("learned", "sinusoidal"):
            raise ConfigError(f"pos_encoding must be 'learned' or 'sinusoidal', got {self.pos_encoding!r}")
        for name in PATH_KEYS:
            if "\0" in getattr(self, name):  # no file system takes one; the OS would refuse with a traceback
                raise ConfigError(f"{name} must not hold a NUL byte (no path can), got {getattr(self, name)!r}")
        for name in ("data_dir", "out_dir"):
            if not getattr(self, name).strip():
                raise ConfigError(f"{name} must name a directory, got {getattr(self, name)!r}")
        parse_source_weights(self.source_weights)

    def to_dict(self) -> dict:
        return asdict(self)


OPTIMIZERS = ("muon", "adamw")
PATH_KEYS = ("data_dir", "out_dir", "release_dir", "init_from")  # the settings that name a file or directory


def at_least(low: int) -> tuple:
    return (lambda value: value >= low), f">= {low}"


# The range of every numeric key (each must also be finite).
RANGES = {
    **{name: at_least(1) for name in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "grad_accum",
                                      "max_steps", "eval_interval", "eval_batches", "checkpoint_interval")},
    **{name: at_least(0) for name in ("warmup_steps", "timeline_interval", "seed", "time_budget_minutes",
                                      "time_limit_minutes", "weight_decay", "blas_threads")},
    "dropout": ((lambda value: 0 <= value < 1), "in [0, 1)"),
    "lr": ((lambda value: value > 0), "> 0"),
    "muon_lr": ((lambda value: value > 0), "> 0"),
    "muon_momentum": ((lambda value: 0 <= value < 1), "in [0, 1)"),
    "min_lr_ratio": ((lambda value: 0 <= value <= 1), "in [0, 1] (the share of lr the cosine decays to)"),
    "beta1": ((lambda value: 0 <= value < 1), "in [0, 1)"),
    "beta2": ((lambda value: 0 <= value < 1), "in [0, 1)"),
    "grad_clip": ((lambda value: value >= 0), ">= 0 (0 disables clipping)"),
}


def parse_source_weights(text: str) -> dict[str, float]:
    """`"exercises=0.45,real=0.1"` -> {"exercises": 0.45, "real": 0.1}: each weight finite and >= 0 (0 leaves the
    source out of training batches); the names are checked against the dataset when the run starts."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, raw = item.partition("=")
        try:
            weight = float(raw)
        except ValueError:
            weight = math.nan
        if not name.strip() or not math.isfinite(weight) or weight < 0 or name.strip() in weights:
            raise ConfigError(f"source_weights expects name=weight pairs (each weight finite and >= 0, each name "
                              f"once) separated by commas, got {item!r}")
        weights[name.strip()] = weight
    return weights


def check_type(name: str, kind: type, value) -> None:
    """`value` must be of the key's type; an int is a float too, but a bool is not an int."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{name} expects {kind.__name__}, got {value!r} ({type(value).__name__})")


def _convert(name: str, kind: type, raw):
    if isinstance(raw, str):
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"--{name} expects true or false, got {raw!r}")
        try:
            return kind(raw)
        except ValueError:
            raise ConfigError(f"--{name} expects {kind.__name__}, got {raw!r}") from None
    check_type(name, kind, raw)
    if kind is float and not isinstance(raw, float):
        try:
            return float(raw)
        except OverflowError:  # an integer beyond float range, from JSON
            raise ConfigError(f"{name} must be a finite number, got {raw}") from None
    return raw


def convert_values(values: dict) -> dict:
    """Each value (a string from a flag or a typed value from JSON) as its key's type; unknown keys are an error."""
    types = {f.name: type(f.default) for f in fields(TrainConfig)}
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}; known keys: {', '.join(types)}")
    return {k: _convert(k, types[k], v) for k, v in values.items()}


def build_config(values: dict) -> TrainConfig:
    """TrainConfig from a dict of overrides (strings from flags or typed values from JSON)."""
    return checked_config(convert_values(values))


def checked_config(converted: dict) -> TrainConfig:
    """TrainConfig from values already converted (`convert_values`), validated as a whole."""
    config = TrainConfig(**converted)
    config.validate()
    return config


# What a checkpoint fixes: its model, i.e. the GPTConfig settings a run chooses (vocab_size comes with the dataset,
# whose tokenizer is checked; `causal` is not a training setting).
MODEL_KEYS = tuple(f.name for f in fields(GPTConfig) if f.name in {f.name for f in fields(TrainConfig)})


# Never taken from a checkpoint: a release is written only where this command asks for one (a resumed copy of a run
# directory must not write into the original's release directory), and a time limit is for this session only.
NOT_RESUMED = frozenset({"release_dir", "time_limit_minutes"})


def resume_config(given: dict, stored: dict, checkpoint: str) -> TrainConfig:
    """The config of a resumed run: the checkpoint's `stored` train config, with `given` (the command line's values,
    converted by `convert_values`) over it. A model key given with another value than the checkpoint's is a
    ConfigError; stored keys that this version does not know are dropped, keys it added since take their defaults.
    Each value is converted once: the command line's by the caller, the stored ones here."""
    stored = {"optimizer": "adamw", **stored}  # checkpoints from before Muon were all trained with AdamW
    known = {f.name for f in fields(TrainConfig)} - NOT_RESUMED
    kept = convert_values({key: value for key, value in stored.items() if key in known})
    for key in MODEL_KEYS:
        if key in given and key in kept and given[key] != kept[key]:
            raise ConfigError(f"{key}={given[key]!r} conflicts with checkpoint {checkpoint}, which was trained with "
                              f"{key}={kept[key]!r}; --resume keeps the checkpoint's model (drop the flag, or train "
                              "a new model into another --out_dir)")
    return checked_config({**kept, **given})


RESUME_FROM = ("latest", "healthy")  # --resume continues the latest checkpoint; --resume=healthy the last healthy one


def read_command_line(argv: list[str]) -> tuple[dict, str]:
    """`[config.json] [--key=value ...] [--resume[=healthy]]` -> (the values given, flags over the file; which
    checkpoint to resume: "latest", "healthy", or "" for a new run)."""
    values, resume = {}, ""
    for arg in argv:
        if arg == "--resume":
            resume = "latest"
        elif arg.startswith("--resume="):
            resume = arg.partition("=")[2]
            if resume not in RESUME_FROM:
                raise ConfigError(f"--resume takes no value or one of {', '.join(RESUME_FROM)}, got {resume!r}")
        elif arg.startswith("--"):
            key, sep, value = arg[2:].partition("=")
            if not sep:
                raise ConfigError(f"flags take the form --key=value, got {arg!r}")
            values[key.replace("-", "_")] = value
        else:
            path = Path(arg)
            if not path.is_file():
                raise ConfigError(f"config file not found: {arg}")
            try:
                from_file = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique_keys(arg))
            except OSError as err:
                raise ConfigError(f"cannot read config file {arg}: {err.strerror or err}") from None
            except UnicodeDecodeError as err:
                raise ConfigError(f"cannot read config file {arg}: not UTF-8 text (byte {err.start}: "
                                  f"{err.reason})") from None
            except (json.JSONDecodeError, RecursionError) as err:  # RecursionError: nested too deeply
                raise ConfigError(f"config file {arg} is not valid JSON: {err}") from None
            if not isinstance(from_file, dict):
                raise ConfigError(f"config file {arg} must hold a JSON object")
            values = {**from_file, **values}
    return values, resume


def unique_keys(source: str):
    """A `json.loads` object hook that refuses a key given twice in one object (JSON would keep the last silently)."""
    def build(pairs: list[tuple[str, object]]) -> dict:
        document = {}
        for key, value in pairs:
            if key in document:
                raise ConfigError(f"config file {source} gives key {key!r} twice ({document[key]!r}, then "
                                  f"{value!r}); keep one")
            document[key] = value
        return document
    return build

