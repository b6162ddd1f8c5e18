"""Checkpoints: one safetensors file holding the weights (and, during training, the optimizer moments), with a
JSON document in its metadata: model config, train config, tokenizer, step, RNG states. One file means one atomic
write (temporary file, fsync, rename), so a crash mid-write never leaves a broken checkpoint behind.

Every way a file can be wrong — missing, truncated, corrupt, another architecture — raises `CheckpointError`
with the file name and the problem, never a NumPy traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from .model import GPT, GPTConfig

FORMAT = "tinygpt-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(path: str | Path, model: GPT, metadata: dict, optimizer_state: dict | None = None,
                    dtype=np.float32) -> None:
    """Write weights (cast to `dtype`), optional optimizer state and `metadata` atomically to `path`."""
    path = Path(path)
    tensors = {f"model.{name}": np.ascontiguousarray(array, dtype=dtype) for name, array in model.weights().items()}
    document = {"format": FORMAT, "model_config": model.config.to_dict(), **metadata}
    if optimizer_state is not None:
        scalars = {}
        for index, values in optimizer_state["state"].items():
            for key, value in values.items():
                if isinstance(value, np.ndarray):
                    tensors[f"optimizer.{index}.{key}"] = np.ascontiguousarray(value)
                else:
                    scalars[f"{index}.{key}"] = value
        document["optimizer"] = {"scalars": scalars, "param_groups": optimizer_state["param_groups"]}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, str(tmp), metadata={"tinygpt": json.dumps(document)})
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata document, tensors) of a checkpoint file, or CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory; pass the .safetensors file inside it")
    try:
        tensors = load_file(str(path))
        with open(path, "rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(header_size))
        document = json.loads(header.get("__metadata__", {}).get("tinygpt", "null"))
    except (SafetensorError, OSError, ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {err}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a TinyGPT checkpoint (no '{FORMAT}' metadata)")
    return document, tensors


def load_model(path: str | Path) -> tuple[GPT, dict, dict[str, np.ndarray]]:
    """Build the model described by the checkpoint and load its weights (as float32)."""
    document, tensors = read_checkpoint(path)
    try:
        config = GPTConfig.from_dict(document["model_config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has an invalid model config: {err}") from None
    model = GPT(config)
    weights = {k[len("model."):]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_weights(weights)
    except KeyError as err:
        raise CheckpointError(f"checkpoint {path} does not match the TinyGPT architecture: {err.args[0]}") from None
    return model, document, tensors


def optimizer_state_from(document: dict, tensors: dict[str, np.ndarray]) -> dict:
    """Rebuild an optimizer `state_dict()` from what `save_checkpoint` stored."""
    saved = document.get("optimizer")
    if saved is None:
        raise CheckpointError("checkpoint holds no optimizer state (a release checkpoint cannot be resumed)")
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in saved["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in saved["param_groups"]]
    return {"state": state, "param_groups": groups}
