"""Checkpoints: one safetensors file holding the weights (and, during training, the optimizer moments), with a
JSON document in its metadata: model config, train config, tokenizer, step, RNG states. One file means one atomic
write (temporary file, fsync, rename), so a crash mid-write never leaves a broken checkpoint behind.

Every way a file can be wrong — missing, unreadable, not a regular file, truncated, corrupt, another architecture,
integer weights, a header claiming tensors larger than its config implies — raises `CheckpointError` with the file
name and the problem, never a NumPy traceback; all but the last two kinds are found from the header, before any
tensor is read.

A checkpoint names its tokenizer relative to itself (`"tokenizer": "tokenizer.json"`, the file beside it) and records
the file's SHA-256 (`tokenizer_sha256`; `hf_tokenizer_sha256` for the Hugging Face files import-hf keeps), so a
tokenizer replaced after the checkpoint was written is refused instead of silently decoding other tokens. A tokenizer
given explicitly is checked instead of the file beside the checkpoint: the right one is accepted wherever it lies.
Checkpoints written before the hash existed load as they are.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from tinygpt.model import GPT, GPTConfig
from tinygpt.outputs import atomic_write_bytes, atomic_write_text, directory_sha256, file_sha256, temporary_name

__all__ = ["FORMAT", "CheckpointError", "atomic_write_bytes", "atomic_write_text", "check_tokenizer",
           "describe_checkpoint", "load_model", "optimizer_state_from", "read_checkpoint", "read_document",
           "save_checkpoint"]

FORMAT = "tinygpt-checkpoint-v1"
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
WEIGHT_DTYPES = {"F32": "float32", "F16": "float16"}  # what the model's weights may be stored as


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
        write_safetensors(tensors, tmp, {"tinygpt": json.dumps(document)})
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_safetensors(tensors: dict[str, np.ndarray], path: str | Path, metadata: dict[str, str]) -> None:
    """safetensors' `save_file`, with a failure to write (a full disk) raised as the `OSError` it is, naming the
    file, instead of a `SafetensorError` whose message spans the Rust error chain."""
    try:
        save_file(tensors, str(path), metadata=metadata)
    except SafetensorError as err:
        code = re.search(r"os error (\d+)", str(err))
        if code is None:
            raise OSError(f"cannot write {path}: {' '.join(str(err).split())}") from None
        raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), str(path)) from None


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
    return read_header(path)[0]


def read_header(path: str | Path) -> tuple[dict, dict]:
    """(metadata document, safetensors header) of a checkpoint, read without loading any tensor. Refuses anything
    but a regular file first: opening a FIFO would wait forever for a writer."""
    path = Path(path)
    if not path.is_file():
        if not path.exists():
            raise CheckpointError(f"checkpoint not found: {path}")
        if path.is_dir():
            raise CheckpointError(f"checkpoint {path} is a directory; pass the .safetensors file inside it")
        raise CheckpointError(f"checkpoint {path} is not a regular file (a FIFO, socket or device cannot be read)")
    try:
        header = safetensors_header(path)
        document = json.loads(header.get("__metadata__", {}).get("tinygpt", "null"))
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read: {err.strerror or err}") from None
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {err}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a TinyGPT checkpoint (no '{FORMAT}' metadata)")
    return document, header


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata document, tensors) of a checkpoint file, or CheckpointError. The weights' dtypes and sizes are
    checked from the header before any tensor is read."""
    path = Path(path)
    document, header = read_header(path)
    check_weight_entries(path, document, header)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {err}") from None
    return document, tensors


def check_weight_entries(path: Path, document: dict, header: dict) -> None:
    """From the header alone: every weight is float32 or float16 (an integer weight would train and decode as
    nonsense), and the weights are the shapes and size the model config implies, so that a header claiming a
    40000 x 40000 embedding is refused instead of read."""
    shapes = {}
    for name, entry in header.items():
        if not name.startswith("model."):
            continue
        try:
            dtype, shape = entry["dtype"], tuple(int(n) for n in entry["shape"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint {path} is corrupt: tensor {name} has no valid dtype and shape "
                                  f"({type(err).__name__})") from None
        if dtype not in WEIGHT_DTYPES:
            raise CheckpointError(f"checkpoint {path}: weight {name[len('model.'):]} is stored as {dtype}; weights "
                                  f"must be {' or '.join(WEIGHT_DTYPES.values())}")
        shapes[name] = shape
    config = model_config(path, document)
    check_config_matches_weights(path, config, shapes)
    held = sum(math.prod(shape) for shape in shapes.values())
    if held > config.num_parameters():  # fewer, or other names, are for load_state_dict to list
        raise CheckpointError(f"checkpoint {path}: its model config implies {config.num_parameters():,} weights, the "
                              f"file holds {held:,}")


def model_config(path: str | Path, document: dict) -> GPTConfig:
    try:
        return GPTConfig.from_dict(document["model_config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has an invalid model config: {err}") from None


def check_tokenizer(checkpoint: str | Path, document: dict, tokenizer_path: str | Path | None = None) -> None:
    """Refuse a tokenizer that is not the one the checkpoint was written with. Checks `tokenizer_path` (default: the
    file the checkpoint names, beside it) and the kept Hugging Face tokenizer directory against the SHA-256s the
    checkpoint records; a checkpoint without them (older format) or a file that is absent is not checked."""
    checkpoint = Path(checkpoint)
    recorded, named = document.get("tokenizer_sha256"), document.get("tokenizer")
    given = tokenizer_path is not None
    if not given and isinstance(named, str):
        tokenizer_path = checkpoint.parent / named
    if isinstance(recorded, str) and tokenizer_path is not None and Path(tokenizer_path).is_file():
        actual = file_sha256(tokenizer_path)
        if actual != recorded:
            advice = ("pass the one it was written with" if given
                      else "it was replaced afterwards; restore it or pass the matching tokenizer")
            raise CheckpointError(f"tokenizer {tokenizer_path} (sha256 {actual[:12]}) is not the one checkpoint "
                                  f"{checkpoint} was written with (sha256 {recorded[:12]}): {advice}")
    kept, recorded_kept = document.get("hf_tokenizer"), document.get("hf_tokenizer_sha256")
    if isinstance(kept, str) and isinstance(recorded_kept, str) and (checkpoint.parent / kept).is_dir():
        actual = directory_sha256(checkpoint.parent / kept)
        if actual != recorded_kept:
            raise CheckpointError(f"tokenizer files in {checkpoint.parent / kept} (sha256 {actual[:12]}) are not the "
                                  f"ones checkpoint {checkpoint} was written with (sha256 {recorded_kept[:12]})")


def load_model(path: str | Path, tokenizer_path: str | Path | None = None) -> tuple[GPT, dict, dict[str, np.ndarray]]:
    """Build the model described by the checkpoint and load its weights (as float32). `tokenizer_path`, when given,
    is the tokenizer the caller will use: it is checked against the checkpoint's record instead of the file beside
    the checkpoint."""
    document, tensors = read_checkpoint(path)
    check_tokenizer(path, document, tokenizer_path)
    config = model_config(path, document)
    model = GPT(config)
    weights = {k[len("model."):]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_weights(weights)
    except KeyError as err:
        raise CheckpointError(f"checkpoint {path} does not match the TinyGPT architecture: {err.args[0]}") from None
    return model, document, tensors


def check_config_matches_weights(path: str | Path, config: GPTConfig, shapes: dict[str, tuple[int, ...]]) -> None:
    """Before the model is built: the token embedding and the number of blocks the file holds (`shapes`, by tensor
    name) must be what its model config says, so that a config claiming a billion layers or tokens is refused
    instead of allocated."""
    embedding = shapes.get("model.wte.weight")
    blocks = {name.split(".")[2] for name in shapes if name.startswith("model.h.")}
    if embedding is not None and embedding != (config.vocab_size, config.n_embd):
        raise CheckpointError(f"checkpoint {path}: its model config implies a token embedding of shape "
                              f"{(config.vocab_size, config.n_embd)}, the weights hold {embedding}")
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
