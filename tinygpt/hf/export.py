"""`tinygpt export-hf`: a TinyGPT checkpoint written as a GPT-2 model directory.

    tinygpt export-hf CHECKPOINT OUTDIR [--tokenizer PATH] [--force]
        OUTDIR/config.json, model.safetensors, tokenizer.json, tokenizer_config.json, special_tokens_map.json
        -> transformers.GPT2LMHeadModel.from_pretrained(OUTDIR), AutoTokenizer.from_pretrained(OUTDIR)

An OUTDIR holding any model file (MODEL_DIR_FILES) is refused unless asked (`overwrite`, the command's --force).
The weights go out in float16 when the checkpoint holds float16, else float32; config.json is the imported source's
own when it still describes the model. The tokenizer: ours with `BPETokenizer.save_hf`; one that import-hf kept
verbatim (`tinygpt.hf.HF_TOKENIZER_DIR`) copied back out. The way back is `import_.py`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from tinygpt.checkpoint import check_tokenizer, load_model, write_safetensors
from tinygpt.hf import HF_TOKENIZER_FILES, InteropError, refuse_to_replace
from tinygpt.hf.mapping import from_hf_config, to_hf_config, to_hf_state_dict
from tinygpt.model import GPTConfig
from tinygpt.outputs import atomic_write_text
from tinytorch.text import BPETokenizer, CharTokenizer, load_tokenizer

__all__ = ["MODEL_DIR_FILES", "export_hf"]

# The files of a model directory that export may write: one holding any of them is someone's model (or an earlier
# export), replaced only when asked (`overwrite`, the commands' --force); other files there are left alone.
MODEL_DIR_FILES = ("config.json", "model.safetensors", *HF_TOKENIZER_FILES)


def write_json(path: Path, document: dict) -> None:
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def find_tokenizer(checkpoint: Path, document: dict) -> Path | None:
    """The checkpoint's tokenizer file: the one `document["tokenizer"]` names, looked for beside the checkpoint, then
    a `tokenizer.json` beside the checkpoint, then the named file from the working directory."""
    named = document.get("tokenizer")
    candidates = [checkpoint.parent / named] if named else []
    candidates.append(checkpoint.parent / "tokenizer.json")
    candidates += [Path(named)] if named else []
    return next((path for path in candidates if path.is_file()), None)


def kept_tokenizer_dir(checkpoint: Path, document: dict) -> Path | None:
    """The Hugging Face tokenizer files that import-hf copied beside an imported checkpoint, if there are any."""
    kept = document.get("hf_tokenizer")
    return checkpoint.parent / kept if kept and (checkpoint.parent / kept).is_dir() else None


def export_config(config: GPTConfig, document: dict, eos_token_id: int | None, dtype: np.dtype) -> dict:
    """config.json: the source config of an imported checkpoint, verbatim, when it still describes the model;
    else the one `to_hf_config` writes. Either way it names the dtype of the weights."""
    source, dtype_name = document.get("hf_config"), np.dtype(dtype).name
    if source and replace(from_hf_config(source), dropout=0.0) == replace(config, dropout=0.0):
        hf_config = dict(source)
    else:
        hf_config = to_hf_config(config, eos_token_id)
    if hf_config.get("dtype", hf_config.get("torch_dtype")) != dtype_name:
        hf_config["dtype"] = dtype_name
    return hf_config


def read_tokenizer(path: Path) -> BPETokenizer | CharTokenizer:
    try:
        return load_tokenizer(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InteropError(f"{path}: cannot load tokenizer: {err}") from None


def write_tokenizer(out_dir: Path, tokenizer: BPETokenizer | CharTokenizer | None, tokenizer_path: Path | None,
                    kept_dir: Path | None) -> str:
    """Write the tokenizer files into `out_dir`; returns a line saying what was written."""
    if kept_dir is not None:
        for path in sorted(kept_dir.iterdir()):
            shutil.copyfile(path, out_dir / path.name)
        return f"tokenizer: copied the Hugging Face tokenizer files kept in {kept_dir}"
    if tokenizer is None:
        return "tokenizer: none found (pass --tokenizer PATH); wrote the model only"
    if not isinstance(tokenizer, BPETokenizer):
        return f"tokenizer: {tokenizer_path} is a {type(tokenizer).__name__}, which has no Hugging Face form; skipped"
    tokenizer.save_hf(out_dir)
    return f"tokenizer: {tokenizer_path} -> tokenizer.json, tokenizer_config.json, special_tokens_map.json"


def export_hf(checkpoint: str | Path, out_dir: str | Path, tokenizer_path: str | Path | None = None,
              overwrite: bool = False) -> list[str]:
    """Write `checkpoint` as a GPT-2 model directory `out_dir`; returns one line per thing written. An `out_dir`
    that holds any of MODEL_DIR_FILES is refused (OutputError) unless `overwrite`."""
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    model, document, tensors = load_model(checkpoint, tokenizer_path)
    weights = {name[len("model."):]: array for name, array in tensors.items() if name.startswith("model.")}
    broken = next((name for name, array in weights.items() if not np.isfinite(array).all()), None)
    if broken is not None:
        raise InteropError(f"{checkpoint}: weight {broken} holds NaN or infinity (the training run that wrote it "
                           "diverged); export an earlier checkpoint")
    dtype = np.float16 if all(array.dtype == np.float16 for array in weights.values()) else np.float32
    tokenizer, kept_dir = None, kept_tokenizer_dir(checkpoint, document)
    if tokenizer_path is not None or kept_dir is None:
        kept_dir = None
        tokenizer_path = Path(tokenizer_path) if tokenizer_path else find_tokenizer(checkpoint, document)
        if tokenizer_path is not None:
            check_tokenizer(checkpoint, document, tokenizer_path)  # the one it was written with, when it says
        tokenizer = read_tokenizer(tokenizer_path) if tokenizer_path else None
    eos_token_id = (document.get("hf_config") or {}).get("eos_token_id")
    if isinstance(tokenizer, BPETokenizer):
        eos_token_id = tokenizer.eot_id
    try:
        hf_config = export_config(model.config, document, eos_token_id, dtype)
    except ValueError as err:
        raise InteropError(f"{checkpoint}: cannot be written as GPT-2: {err}") from None
    if out_dir.exists() and not out_dir.is_dir():
        raise InteropError(f"{out_dir}: exists and is not a directory")
    if not overwrite:
        refuse_to_replace([out_dir / name for name in MODEL_DIR_FILES], "the export", "choose a new or empty "
                          "directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    hf_weights = {name: np.ascontiguousarray(array, dtype=dtype) for name, array in to_hf_state_dict(weights).items()}
    write_safetensors(hf_weights, out_dir / "model.safetensors", {"format": "pt"})
    write_json(out_dir / "config.json", hf_config)
    lines = [f"model: {checkpoint} -> {out_dir / 'model.safetensors'} ({np.dtype(dtype).name}), config.json"]
    lines.append(write_tokenizer(out_dir, tokenizer, tokenizer_path, kept_dir))
    return lines
