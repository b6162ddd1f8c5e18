"""Checkpoints: one safetensors file holding the weights (and, during training, the optimizer moments), with a
JSON document in its metadata: model config, train config, tokenizer, step, RNG states. One file means one atomic
write (temporary file, fsync, rename), so a crash mid-write never leaves a broken checkpoint behind.

Every way a file can be wrong — missing, truncated, corrupt, another architecture — raises `CheckpointError`
with the file name and the problem, never a NumPy traceback.

A checkpoint names its tokenizer relative to itself (`"tokenizer": "tokenizer.json"`, the file beside it) and records
the file's SHA-256 (`tokenizer_sha256`; `hf_tokenizer_sha256` for the Hugging Face files import-hf keeps), so a
tokenizer replaced after the checkpoint was written is refused instead of silently decoding other tokens.
Checkpoints written before the hash existed load as they are.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from .model import GPT, GPTConfig
from .outputs import atomic_write_bytes, atomic_write_text, directory_sha256, file_sha256, temporary_name

__all__ = ["FORMAT", "CheckpointError", "atomic_write_bytes", "atomic_write_text", "check_tokenizer",
           "describe_checkpoint", "load_model", "optimizer_state_from", "read_checkpoint", "read_document",
           "save_checkpoint"]

FORMAT = "tinygpt-checkpoint-v1"
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


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
    tmp = temporary_name(path)
    try:
        save_file(tensors, str(tmp), metadata={"tinygpt": json.dumps(document)})
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def safetensors_header(path: str | Path) -> dict:
    """The JSON header of a safetensors file (tensor names, dtypes, shapes, offsets, `__metadata__`), read without
    touching the tensor data; ValueError if its size field is out of range."""
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        if not 0 < size <= MAX_HEADER_BYTES:
            raise ValueError(f"header size {size} is out of range")
        return json.loads(handle.read(size))


def read_document(path: str | Path) -> dict:
    """The metadata document of a checkpoint, read from the file's header without loading any tensor."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}" if not path.exists() else f"{path} is not a file")
    try:
        header = safetensors_header(path)
        document = json.loads(header.get("__metadata__", {}).get("tinygpt", "null"))
    except (OSError, ValueError, UnicodeDecodeError, AttributeError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {err}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a TinyGPT checkpoint (no '{FORMAT}' metadata)")
    return document


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata document, tensors) of a checkpoint file, or CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory; pass the .safetensors file inside it")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {err}") from None
    return read_document(path), tensors


def check_tokenizer(checkpoint: str | Path, document: dict, tokenizer_path: str | Path | None = None) -> None:
    """Refuse a tokenizer that is not the one the checkpoint was written with. Checks `tokenizer_path` (default: the
    file the checkpoint names, beside it) and the kept Hugging Face tokenizer directory against the SHA-256s the
    checkpoint records; a checkpoint without them (older format) or a file that is absent is not checked."""
    checkpoint = Path(checkpoint)
    recorded, named = document.get("tokenizer_sha256"), document.get("tokenizer")
    if tokenizer_path is None and isinstance(named, str):
        tokenizer_path = checkpoint.parent / named
    if isinstance(recorded, str) and tokenizer_path is not None and Path(tokenizer_path).is_file():
        actual = file_sha256(tokenizer_path)
        if actual != recorded:
            raise CheckpointError(
                f"tokenizer {tokenizer_path} (sha256 {actual[:12]}) is not the one checkpoint {checkpoint} was "
                f"written with (sha256 {recorded[:12]}): it was replaced afterwards; restore it or pass the matching "
                "tokenizer")
    kept, recorded_kept = document.get("hf_tokenizer"), document.get("hf_tokenizer_sha256")
    if isinstance(kept, str) and isinstance(recorded_kept, str) and (checkpoint.parent / kept).is_dir():
        actual = directory_sha256(checkpoint.parent / kept)
        if actual != recorded_kept:
            raise CheckpointError(f"tokenizer files in {checkpoint.parent / kept} (sha256 {actual[:12]}) are not the "
                                  f"ones checkpoint {checkpoint} was written with (sha256 {recorded_kept[:12]})")


def load_model(path: str | Path) -> tuple[GPT, dict, dict[str, np.ndarray]]:
    """Build the model described by the checkpoint and load its weights (as float32)."""
    document, tensors = read_checkpoint(path)
    check_tokenizer(path, document)
    try:
        config = GPTConfig.from_dict(document["model_config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has an invalid model config: {err}") from None
    check_config_matches_weights(path, config, tensors)
    model = GPT(config)
    weights = {k[len("model."):]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_weights(weights)
    except KeyError as err:
        raise CheckpointError(f"checkpoint {path} does not match the TinyGPT architecture: {err.args[0]}") from None
    return model, document, tensors


def check_config_matches_weights(path: str | Path, config: GPTConfig, tensors: dict[str, np.ndarray]) -> None:
    """Before the model is built: the token embedding and the number of blocks the file holds must be what its model
    config says, so that a config claiming a billion layers or tokens is refused instead of allocated."""
    embedding = tensors.get("model.wte.weight")
    blocks = {name.split(".")[2] for name in tensors if name.startswith("model.h.")}
    if embedding is not None and embedding.shape != (config.vocab_size, config.n_embd):
        raise CheckpointError(f"checkpoint {path}: its model config implies a token embedding of shape "
                              f"{(config.vocab_size, config.n_embd)}, the weights hold {embedding.shape}")
    if len(blocks) != config.n_layer:
        raise CheckpointError(f"checkpoint {path}: its model config says n_layer={config.n_layer}, the weights hold "
                              f"{len(blocks)} blocks")


def optimizer_state_from(document: dict, tensors: dict[str, np.ndarray]) -> dict:
    """Rebuild an optimizer `state_dict()` from what `save_checkpoint` stored."""
    saved = document.get("optimizer")
    if saved is None:
        raise CheckpointError("checkpoint holds no optimizer state (a release checkpoint cannot be resumed)")
    state: dict[int, dict] = {}
    try:
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        for key, value in saved["scalars"].items():
            index, name = key.split(".", 1)
            state.setdefault(int(index), {})[name] = value
        groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else dict(g) for g in saved["param_groups"]]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"checkpoint's optimizer state is malformed ({type(err).__name__}: {err})") from None
    return {"state": state, "param_groups": groups}


def describe_checkpoint(path: str | Path) -> str:
    """What is on disk at `path`, in words: the step a checkpoint holds and whether its weights are all finite, or
    that there is none. For messages that must say exactly what a stopped run left behind."""
    path = Path(path)
    if not path.exists():
        return f"no checkpoint was written ({path} does not exist)"
    try:
        document, tensors = read_checkpoint(path)
    except CheckpointError as err:
        return f"{path} cannot be read ({err})"
    finite = all(np.isfinite(array).all() for name, array in tensors.items() if name.startswith("model."))
    state = "all weights finite" if finite else "NON-FINITE weights, do not resume from it"
    return f"{path} holds step {document.get('step')} ({state})"
