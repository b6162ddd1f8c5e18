"""Where a scale-train run starts, and the checkpoints it leaves.

A run starts one of three ways, decided once by rank 0 (`plan_start`) and sent to the other ranks:
- from a config: the model `tinygpt train` would begin with (TinyGPT's own initialisation from `seed`);
- from a TinyGPT checkpoint (`--init_from=model.safetensors`): its weights, through the project's export mapping;
  the optimizer, schedule and logs start fresh, as `tinygpt train --init_from` does;
- `--resume`: OUT/checkpoint, with its optimizer state, step, logs and data-generator state; the command line
  overrides the stored config as `tinygpt train --resume` lets it (never the model's shape).

The checkpoint, OUT/checkpoint/, is a Hugging Face GPT-2 directory: what `save_pretrained` writes (config.json,
generation_config.json, model.safetensors) and the tokenizer files `tinygpt export-hf` writes, so `tinygpt import-hf
OUT/checkpoint` reads it back into a TinyGPT checkpoint, and transformers loads it as it is. Beside them lie
`optimizer.pt` (each optimizer's torch state dict) and `trainer_state.json` (step, logs, the batch generator's
state, the config, the tokenizer's SHA-256): what `--resume` needs. Rank 0 alone writes it, into a temporary
directory that replaces the previous checkpoint whole (`tinygpt.outputs.atomic_directory`), so a run killed at any
moment leaves the last checkpoint intact. Only rank 0 reads it back: the other ranks receive its content, so OUT
need exist only where rank 0 runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from tinygpt.checkpoint import CheckpointError, load_model
from tinygpt.hf.mapping import to_hf_config
from tinygpt.model import GPT, WEIGHT_SHAPE_KEYS, GPTConfig
from tinygpt.outputs import atomic_directory, file_sha256
from tinygpt.scale.gpt2 import build_model
from tinygpt.train.config import MODEL_KEYS, ConfigError, TrainConfig, build_config, convert_values, resume_config
from tinytorch.text import BPETokenizer, load_tokenizer

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
HF_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json")
CHECKPOINT_FILES = (*HF_FILES, STATE_FILE, OPTIMIZER_FILE)
FORMAT = "tinygpt-scale-train/1"


@dataclass
class Start:
    """What every rank needs to begin: the config, the model's GPT-2 config, and, when resuming, the run state and
    the optimizers' state dicts. The weights themselves stay with rank 0, whose model DDP copies to the others."""

    config: TrainConfig
    hf_config: dict
    step: int = 0
    history: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    data_rng: dict | None = None
    train_seconds: float = 0.0
    optimizers: list | None = None
    global_batch: int | None = None  # the resumed run's windows per micro-batch, over all its ranks
    notes: list = field(default_factory=list)


def checkpoint_dir(config: TrainConfig) -> Path:
    return Path(config.out_dir) / CHECKPOINT_DIR


def check_supported(config: TrainConfig) -> None:
    """The keys of `tinygpt train` that scale-train does not carry out are refused by name, not ignored."""
    refused = {"time_budget_minutes": config.time_budget_minutes > 0, "timeline_interval": config.timeline_interval > 0,
               "timeline_suite": config.timeline_suite, "release_dir": bool(config.release_dir)}
    for key, given in refused.items():
        if given:
            raise ConfigError(f"{key}={getattr(config, key)!r} is a `tinygpt train` feature scale-train does not have "
                              "(its checkpoint directory is the release: tinygpt import-hf reads it); drop it")
    if config.pos_encoding != "learned" or not config.bias:
        raise ConfigError("scale-train trains the GPT-2 layout (pos_encoding=learned, bias=true), got "
                          f"pos_encoding={config.pos_encoding!r} bias={config.bias}")


def read_state(directory: Path) -> dict:
    path = directory / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: no scale-train checkpoint to resume in {directory.parent} "
                              "(start without --resume)")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise CheckpointError(f"{path} cannot be read as JSON: {err}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or not isinstance(state.get("train_config"), dict):
        raise CheckpointError(f"{path} is not a {FORMAT} state file")
    step = state.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not isinstance(state.get("history"), list) \
            or len(state["history"]) != step or not isinstance(state.get("data_rng"), dict):
        raise CheckpointError(f"{path}: its step, history or data_rng is malformed (the file was altered)")
    return state


def resolve_config(values: dict, resume: str) -> tuple[TrainConfig, dict | None, list[str]]:
    """(config, the state to resume or None, what the command line changed in the stored config)."""
    if not resume:
        config, state, changes = build_config(values), None, []
    else:
        if resume != "latest":
            raise ConfigError(f"scale-train keeps one checkpoint: --resume takes no value, got --resume={resume}")
        given = convert_values(values)
        given.setdefault("out_dir", TrainConfig.out_dir)
        state = read_state(Path(given["out_dir"]) / CHECKPOINT_DIR)
        stored = state["train_config"]
        config = resume_config(given, stored, str(Path(given["out_dir"]) / CHECKPOINT_DIR))
        changes = [f"{key} {stored[key]!r} -> {value!r}" for key, value in config.to_dict().items()
                   if key in stored and key != "out_dir" and stored[key] != value]
    check_supported(config)
    return config, state, changes


def model_config(config: TrainConfig, vocab_size: int) -> GPTConfig:
    return GPTConfig(vocab_size=vocab_size, **{key: getattr(config, key) for key in MODEL_KEYS})


def init_weights(config: TrainConfig, chosen: GPTConfig, tokenizer_sha256: str) -> dict:
    """TinyGPT weights to start from: --init_from's (checked as `Trainer.start_from` checks them), else a new
    model initialised from the seed exactly as `tinygpt train` initialises it."""
    if not config.init_from:
        return GPT(chosen, seed=config.seed).weights()
    path = Path(config.init_from)
    try:
        model, document, _ = load_model(path)
    except CheckpointError as err:
        raise CheckpointError(f"--init_from: {err}") from None
    differ = [key for key in WEIGHT_SHAPE_KEYS if getattr(model.config, key) != getattr(chosen, key)]
    if differ:
        theirs = " ".join(f"--{key}={getattr(model.config, key)}" for key in differ if key != "vocab_size")
        raise CheckpointError(f"--init_from {path} differs from this run in {', '.join(differ)}: give the checkpoint's "
                              f"shape ({theirs or 'its vocabulary'}) and a dataset prepared with its tokenizer")
    beside = path.with_name("tokenizer.json")
    recorded = document.get("tokenizer_sha256") or (file_sha256(beside) if beside.is_file() else None)
    if recorded is not None and recorded != tokenizer_sha256:
        raise CheckpointError(f"--init_from {path} was trained with a tokenizer of sha256 {recorded[:12]}, the "
                              f"dataset {config.data_dir} has {tokenizer_sha256[:12]}: prepare it with "
                              f"`tinygpt prepare ... --tokenizer {beside}`")
    return model.weights()


def plan_start(config: TrainConfig, state: dict | None, changes: list[str], meta: dict,
               tokenizer_path: Path) -> tuple[Start, torch.nn.Module]:
    """Rank 0: how the run starts (`resolve_config`'s answer) and its model, holding the starting weights."""
    tokenizer = load_tokenizer(tokenizer_path)
    eos = tokenizer.eot_id if isinstance(tokenizer, BPETokenizer) else None
    chosen = model_config(config, meta["vocab_size"])
    hf_config = to_hf_config(chosen, eos)
    sha256 = file_sha256(tokenizer_path)
    if state is None:
        return Start(config, hf_config), build_model(hf_config, init_weights(config, chosen, sha256))
    directory = checkpoint_dir(config)
    if state.get("tokenizer_sha256") != sha256:
        raise CheckpointError(f"{directory} was trained with a tokenizer of sha256 "
                              f"{str(state.get('tokenizer_sha256'))[:12]}, but {tokenizer_path} has {sha256[:12]}: "
                              "resume on the original dataset or train into a new --out_dir")
    model = build_model(hf_config)
    try:
        result = model.load_state_dict(load_file(str(directory / "model.safetensors")), strict=False)
        optimizers = torch.load(directory / OPTIMIZER_FILE, weights_only=True)
    except (OSError, RuntimeError, ValueError) as err:
        raise CheckpointError(f"{directory} cannot be resumed: {type(err).__name__}: {err}") from None
    if result.unexpected_keys or set(result.missing_keys) - {"lm_head.weight"} or not isinstance(optimizers, list):
        raise CheckpointError(f"{directory} cannot be resumed: its weights do not fit the config "
                              f"({[*result.unexpected_keys, *result.missing_keys][:3]}) or optimizer.pt is malformed")
    notes = [f"resuming step {state['step']} with the checkpoint's config, changed by the command line: "
             f"{', '.join(changes)}"] if changes else []
    start = Start(config, hf_config, state["step"], state["history"], state.get("evals", []), state["data_rng"],
                  state.get("train_seconds", 0.0), optimizers, state.get("global_batch"), notes)
    return start, model


def save(directory: Path, model, optimizers: list, tokenizer_path: Path, state: dict) -> None:
    """Write the checkpoint (rank 0 only): the Hugging Face directory and the resume state, replacing the previous
    one whole."""
    with atomic_directory(directory, "--out_dir", CHECKPOINT_FILES, "scale-train checkpoint") as staging:
        model.save_pretrained(staging)
        tokenizer = load_tokenizer(tokenizer_path)
        if isinstance(tokenizer, BPETokenizer):
            tokenizer.save_hf(staging)
        torch.save([optimizer.state_dict() for optimizer in optimizers], staging / OPTIMIZER_FILE)
        document = {"format": FORMAT, **state, "tokenizer_sha256": file_sha256(tokenizer_path)}
        (staging / STATE_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")
