"""Hugging Face interop: `tinygpt export-hf` writes a checkpoint as a GPT-2 model directory, `tinygpt import-hf`
reads one back.

    tinygpt export-hf CHECKPOINT OUTDIR [--tokenizer PATH]
        OUTDIR/config.json, model.safetensors, tokenizer.json, tokenizer_config.json, special_tokens_map.json
        -> transformers.GPT2LMHeadModel.from_pretrained(OUTDIR), AutoTokenizer.from_pretrained(OUTDIR)
    tinygpt import-hf DIR [--out PATH]
        any GPT-2 directory with config.json and safetensors weights -> a TinyGPT checkpoint

The weights cross unchanged (renamed, the four Conv1D matrices per block transposed: see `hf_mapping`), in
float32, or float16 when that is what the source holds, so import followed by export is bit-identical. An imported
checkpoint keeps the source `config.json` in its metadata and writes it back on export, dropout rates and all.

Tokenizers: ours exports with `BPETokenizer.save_hf`. On import, a `tokenizer.json` that a `BPETokenizer` can
represent (see `bpe_from_tokenizer_json`) is converted; any other tokenizer (GPT-2's own, for one) is copied
verbatim into `hf_tokenizer/` beside the checkpoint, and export copies it back out.

Every problem with an input raises `InteropError` (or `CheckpointError`) naming the file and what is wrong; the
commands print it on one line and exit with status 2. No torch: only NumPy and safetensors.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from tinytorch.text import BPETokenizer, CharTokenizer, load_tokenizer

from .checkpoint import CheckpointError, atomic_write_text, load_model, save_checkpoint
from .hf_mapping import (
    CONV1D_SUFFIXES,
    bpe_from_tokenizer_json,
    from_hf_config,
    from_hf_state_dict,
    to_hf_config,
    to_hf_state_dict,
)
from .model import GPT, GPTConfig

GPT2_ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
HF_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                      "merges.txt", "added_tokens.json")
HF_TOKENIZER_DIR = "hf_tokenizer"  # where import-hf copies a tokenizer it cannot convert, beside the checkpoint
BUFFER_SUFFIXES = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers in old GPT-2 files, not weights


class InteropError(ValueError):
    """A Hugging Face directory, or a checkpoint bound for one, that cannot be converted; names file and problem."""


def write_json(path: Path, document: dict) -> None:
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


# ---- export: TinyGPT checkpoint -> Hugging Face directory ----------------------------------------------------------

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


def export_hf(checkpoint: str | Path, out_dir: str | Path, tokenizer_path: str | Path | None = None) -> list[str]:
    """Write `checkpoint` as a GPT-2 model directory `out_dir`; returns one line per thing written."""
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    model, document, tensors = load_model(checkpoint)
    weights = {name[len("model."):]: array for name, array in tensors.items() if name.startswith("model.")}
    dtype = np.float16 if all(array.dtype == np.float16 for array in weights.values()) else np.float32
    tokenizer, kept_dir = None, kept_tokenizer_dir(checkpoint, document)
    if tokenizer_path is not None or kept_dir is None:
        kept_dir = None
        tokenizer_path = Path(tokenizer_path) if tokenizer_path else find_tokenizer(checkpoint, document)
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
    out_dir.mkdir(parents=True, exist_ok=True)
    hf_weights = {name: np.ascontiguousarray(array, dtype=dtype) for name, array in to_hf_state_dict(weights).items()}
    save_file(hf_weights, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    write_json(out_dir / "config.json", hf_config)
    lines = [f"model: {checkpoint} -> {out_dir / 'model.safetensors'} ({np.dtype(dtype).name}), config.json"]
    lines.append(write_tokenizer(out_dir, tokenizer, tokenizer_path, kept_dir))
    return lines


# ---- import: Hugging Face directory -> TinyGPT checkpoint ----------------------------------------------------------

def read_hf_config(directory: Path) -> tuple[dict, GPTConfig]:
    """config.json as a dict and as the GPTConfig it describes; InteropError if it is missing or not GPT-2."""
    path = directory / "config.json"
    if not directory.is_dir():
        raise InteropError(f"{directory}: not a directory")
    if not path.is_file():
        raise InteropError(f"{path}: missing; a Hugging Face model directory needs config.json")
    try:
        hf_config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InteropError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(hf_config, dict):
        raise InteropError(f"{path}: expected a JSON object, got {type(hf_config).__name__}")
    others = [name for name in hf_config.get("architectures") or [] if name not in GPT2_ARCHITECTURES]
    if others:
        raise InteropError(f"{path}: architecture {others[0]} is not GPT-2 (expected one of {GPT2_ARCHITECTURES})")
    if hf_config.get("tie_word_embeddings", True) is False:
        raise InteropError(f"{path}: tie_word_embeddings is false; TinyGPT ties lm_head to the token embedding")
    try:
        return hf_config, from_hf_config(hf_config)
    except KeyError as err:
        raise InteropError(f"{path}: missing key {err.args[0]!r}") from None
    except (ValueError, TypeError) as err:
        raise InteropError(f"{path}: {err}") from None


def read_hf_weights(directory: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """The tensors of model.safetensors, or of every shard that model.safetensors.index.json lists."""
    single, index = directory / "model.safetensors", directory / "model.safetensors.index.json"
    if single.is_file():
        shards, source = [single], single
    elif index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (ValueError, KeyError, TypeError) as err:
            raise InteropError(f"{index}: not a safetensors index ({err})") from None
        shards, source = [directory / name for name in sorted(set(weight_map.values()))], index
    elif (directory / "pytorch_model.bin").is_file():
        raise InteropError(f"{directory / 'pytorch_model.bin'}: only safetensors weights can be imported; "
                           "re-save with save_pretrained(safe_serialization=True)")
    else:
        raise InteropError(f"{single}: missing; no safetensors weights in {directory}")
    tensors = {}
    for shard in shards:
        try:
            tensors.update(load_file(str(shard)))
        except (SafetensorError, OSError, ValueError, TypeError) as err:
            if "bfloat16" in str(err):
                raise InteropError(f"{shard}: holds bfloat16 tensors, which NumPy cannot read; re-save it as float32 "
                                   "or float16 (model.float().save_pretrained(...))") from None
            raise InteropError(f"{shard}: cannot be read as safetensors: {err}") from None
    return source, tensors


def check_hf_weights(source: Path, tensors: dict[str, np.ndarray], model: GPT) -> dict[str, np.ndarray]:
    """Check names and shapes against the model config.json describes; returns the GPT-2 weights, buffers removed."""
    found = {name if name.startswith("transformer.") or name == "lm_head.weight" else f"transformer.{name}": array
             for name, array in tensors.items() if not name.endswith(BUFFER_SUFFIXES)}
    lm_head = found.pop("lm_head.weight", None)
    expected = {f"transformer.{name}": array.shape[::-1] if name.endswith(CONV1D_SUFFIXES) else array.shape
                for name, array in model.weights().items()}
    problems = [f"missing {name}" for name in expected if name not in found]
    problems += [f"unexpected {name}" for name in found if name not in expected]
    problems += [f"{name} has shape {tuple(found[name].shape)}, config.json implies {shape}"
                 for name, shape in expected.items() if name in found and found[name].shape != shape]
    if lm_head is not None and not problems and not np.array_equal(lm_head, found["transformer.wte.weight"]):
        problems.append("lm_head.weight differs from transformer.wte.weight (TinyGPT ties them)")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InteropError(f"{source}: does not match config.json: {'; '.join(problems[:3])}{more}")
    dtypes = {str(array.dtype) for array in found.values()}
    if not dtypes <= {"float16", "float32"}:
        raise InteropError(f"{source}: weights must be float32 or float16, found {sorted(dtypes)}")
    return found


def convert_tokenizer(path: Path) -> tuple[BPETokenizer | None, str]:
    """(the BPETokenizer that encodes like this tokenizer.json, "") or (None, why there is none)."""
    if not path.is_file():
        return None, "there is no tokenizer.json"
    try:
        return bpe_from_tokenizer_json(json.loads(path.read_text(encoding="utf-8"))), ""
    except (ValueError, TypeError, AttributeError) as err:
        return None, str(err)


def import_tokenizer(directory: Path, out: Path, vocab_size: int) -> tuple[dict, str]:
    """Convert DIR/tokenizer.json into a BPETokenizer beside `out`, or copy the tokenizer files when that cannot
    represent it. Returns (checkpoint metadata entries, a line saying what happened)."""
    present = [name for name in HF_TOKENIZER_FILES if (directory / name).is_file()]
    if not present:
        return {}, f"tokenizer: none in {directory}"
    tokenizer, reason = convert_tokenizer(directory / "tokenizer.json")
    if tokenizer is not None and tokenizer.vocab_size > vocab_size:
        raise InteropError(f"{directory / 'tokenizer.json'}: {tokenizer.vocab_size} tokens, more than config.json's "
                           f"vocab_size {vocab_size}")
    if tokenizer is not None:
        tokenizer.save(out.parent / "tokenizer.json")
        return {"tokenizer": "tokenizer.json"}, f"tokenizer: converted -> {out.parent / 'tokenizer.json'}"
    (out.parent / HF_TOKENIZER_DIR).mkdir(exist_ok=True)
    for name in present:
        shutil.copyfile(directory / name, out.parent / HF_TOKENIZER_DIR / name)
    note = (f"tokenizer: a BPETokenizer cannot represent it ({reason}); copied to {out.parent / HF_TOKENIZER_DIR}, "
            "export-hf writes it back")
    return {"hf_tokenizer": HF_TOKENIZER_DIR}, note


def import_hf(directory: str | Path, out: str | Path) -> list[str]:
    """Read the GPT-2 directory `directory` into the TinyGPT checkpoint `out`; returns one line per thing written."""
    directory, out = Path(directory), Path(out)
    if out.is_dir():
        raise InteropError(f"{out}: is a directory; --out names the checkpoint file to write")
    hf_config, config = read_hf_config(directory)
    source, tensors = read_hf_weights(directory)
    model = GPT(config)
    hf_weights = check_hf_weights(source, tensors, model)
    dtype = np.float16 if all(array.dtype == np.float16 for array in hf_weights.values()) else np.float32
    model.load_weights(from_hf_state_dict(hf_weights))
    out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer_entries, tokenizer_line = import_tokenizer(directory, out, config.vocab_size)
    metadata = {"hf_config": hf_config, "imported_from": str(directory), **tokenizer_entries}
    save_checkpoint(out, model, metadata, dtype=dtype)
    return [f"model: {source} -> {out} ({np.dtype(dtype).name})", tokenizer_line]


# ---- command line ---------------------------------------------------------------------------------------------------

def run(command: str, action: Callable[..., list[str]], *args) -> int:
    """Run `action`, print what it wrote; on bad input print one error line and return exit status 2."""
    try:
        lines = action(*args)
    except (InteropError, CheckpointError) as err:
        message = " ".join(str(err).split())  # one line, whatever the underlying library said
        print(f"tinygpt {command}: error: {message}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`tinygpt export-hf CHECKPOINT OUTDIR [--tokenizer PATH]`."""
    parser = argparse.ArgumentParser(prog="tinygpt export-hf",
                                     description="Write a TinyGPT checkpoint as a Hugging Face GPT-2 directory.")
    parser.add_argument("checkpoint", help="TinyGPT checkpoint (.safetensors)")
    parser.add_argument("out_dir", help="directory to write config.json, model.safetensors and tokenizer files to")
    parser.add_argument("--tokenizer", help="tokenizer file, if not the one the checkpoint names")
    args = parser.parse_args(argv)
    return run("export-hf", export_hf, args.checkpoint, args.out_dir, args.tokenizer)


def main_import(argv: list[str] | None = None) -> int:
    """`tinygpt import-hf DIR [--out PATH]`."""
    parser = argparse.ArgumentParser(prog="tinygpt import-hf",
                                     description="Read a Hugging Face GPT-2 directory into a TinyGPT checkpoint.")
    parser.add_argument("directory", help="directory with config.json and model.safetensors (and tokenizer files)")
    parser.add_argument("--out", help="checkpoint to write (default: models/<DIR name>/model.safetensors)")
    args = parser.parse_args(argv)
    out = args.out or Path("models") / Path(args.directory).resolve().name / "model.safetensors"
    return run("import-hf", import_hf, args.directory, out)

