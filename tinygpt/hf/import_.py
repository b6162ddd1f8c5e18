"""`tinygpt import-hf`: a GPT-2 model directory read back as a TinyGPT checkpoint.

    tinygpt import-hf DIR [--out PATH] [--force]
        any GPT-2 directory with config.json and safetensors weights -> a TinyGPT checkpoint

Import checks everything before it allocates or writes anything: config.json, the weights' names and shapes read
from the safetensors headers (so a config.json claiming a billion-token vocabulary costs nothing), shards that must
lie inside DIR, the tokenizer files. It then writes the tokenizer and the checkpoint under temporary names and
renames them into place, the checkpoint last, recording the tokenizer's SHA-256 so the pair cannot be mixed. An
existing checkpoint, or a tokenizer.json beside it, is replaced only when asked (`overwrite`, the command's --force).

Tokenizers: a `tokenizer.json` that a `BPETokenizer` can represent (see `bpe_from_tokenizer_json`) is converted; any
other sound tokenizer (GPT-2's own, for one) is copied verbatim into `hf_tokenizer/` beside the checkpoint, and
export copies it back out. A corrupt one is an error.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from tinygpt.checkpoint import safetensors_header, save_checkpoint
from tinygpt.hf import HF_TOKENIZER_DIR, HF_TOKENIZER_FILES, InteropError, refuse_to_replace
from tinygpt.hf.mapping import (
    bpe_from_tokenizer_json,
    from_hf_config,
    from_hf_state_dict,
    gpt2_weight_shapes,
    tokenizer_json_largest_id,
    tokenizer_json_problem,
)
from tinygpt.model import GPT, GPTConfig
from tinygpt.outputs import (
    OutputError,
    atomic_directory,
    check_writable_parent,
    directory_sha256,
    file_sha256,
    temporary_name,
)
from tinytorch.text import BPETokenizer

__all__ = ["import_hf"]

GPT2_ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
BUFFER_SUFFIXES = (".attn.bias", ".attn.masked_bias")  # causal-mask buffers in old GPT-2 files, not weights


def read_hf_config(directory: Path) -> tuple[dict, GPTConfig]:
    """config.json as a dict and as the GPTConfig it describes; InteropError if it is missing or not GPT-2."""
    path = directory / "config.json"
    if not directory.is_dir():
        raise InteropError(f"{directory}: not a directory")
    if not path.is_file():
        raise InteropError(f"{path}: missing; a Hugging Face model directory needs config.json")
    try:
        hf_config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: JSON nested too deeply
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


def weight_files(directory: Path) -> tuple[Path, list[Path]]:
    """(the file that lists the weights, the safetensors shards): model.safetensors alone, or every shard
    model.safetensors.index.json names. A shard must be a plain relative path inside `directory`."""
    single, index = directory / "model.safetensors", directory / "model.safetensors.index.json"
    if single.is_file():
        return single, [single]
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            names = sorted(set(weight_map.values()))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            raise InteropError(f"{index}: not a safetensors index ({type(err).__name__}: {err})") from None
        for name in names:
            parts = PurePosixPath(name).parts if isinstance(name, str) else ()
            if not parts or name.startswith("/") or "\\" in name or ".." in parts:
                raise InteropError(f"{index}: weight_map names {name!r}, which is not a file inside {directory}")
        return index, [directory / name for name in names]
    if (directory / "pytorch_model.bin").is_file():
        raise InteropError(f"{directory / 'pytorch_model.bin'}: only safetensors weights can be imported; "
                           "re-save with save_pretrained(safe_serialization=True)")
    raise InteropError(f"{single}: missing; no safetensors weights in {directory}")


def shard_entries(shard: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Each tensor's (dtype, shape) from a safetensors file's header, without reading any tensor data."""
    try:
        header = safetensors_header(shard)
        return {name: (entry["dtype"], tuple(int(n) for n in entry["shape"]))
                for name, entry in header.items() if name != "__metadata__"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        raise InteropError(f"{shard}: cannot be read as safetensors: {type(err).__name__}: {err}") from None


def gpt2_name(name: str) -> str:
    """Weights saved from GPT2Model (OpenAI's files) lack the `transformer.` prefix."""
    return name if name.startswith("transformer.") or name == "lm_head.weight" else f"transformer.{name}"


def check_hf_shapes(source: Path, shards: list[Path], config: GPTConfig) -> None:
    """Check the shards' tensor names, dtypes and shapes against config.json from their headers alone, before any
    memory is spent on the weights or the model."""
    found: dict[str, tuple[str, tuple[int, ...]]] = {}
    for shard in shards:
        if not shard.is_file():
            raise InteropError(f"{source}: lists {shard.name}, which is missing")
        found.update({gpt2_name(name): entry for name, entry in shard_entries(shard).items()
                      if not name.endswith(BUFFER_SUFFIXES)})
    found.pop("lm_head.weight", None)
    dtypes = sorted({dtype for dtype, _ in found.values()})
    if "BF16" in dtypes:
        raise InteropError(f"{source}: holds bfloat16 tensors, which NumPy cannot read; re-save it as float32 or "
                           "float16 (model.float().save_pretrained(...))")
    if not set(dtypes) <= {"F16", "F32"}:
        raise InteropError(f"{source}: weights must be float32 or float16, found {dtypes}")
    layers = {int(name.split(".")[2]) for name in found if name.startswith("transformer.h.")
              and name.split(".")[2].isdigit()}
    if len(layers) != config.n_layer:
        raise InteropError(f"{source}: does not match config.json: n_layer is {config.n_layer}, the weights hold "
                           f"{len(layers)} blocks")
    expected = gpt2_weight_shapes(config)
    problems = [f"missing {name}" for name in expected if name not in found]
    problems += [f"unexpected {name}" for name in found if name not in expected]
    problems += [f"{name} has shape {found[name][1]}, config.json implies {shape}"
                 for name, shape in expected.items() if name in found and found[name][1] != shape]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InteropError(f"{source}: does not match config.json: {'; '.join(problems[:3])}{more}")


def read_hf_weights(source: Path, shards: list[Path]) -> dict[str, np.ndarray]:
    """The GPT-2 weights of shards that `check_hf_shapes` passed, buffers removed and the tied head checked."""
    tensors = {}
    for shard in shards:
        try:
            tensors.update(load_file(str(shard)))
        except (SafetensorError, OSError, ValueError, TypeError) as err:
            raise InteropError(f"{shard}: cannot be read as safetensors: {err}") from None
    found = {gpt2_name(name): array for name, array in tensors.items() if not name.endswith(BUFFER_SUFFIXES)}
    lm_head = found.pop("lm_head.weight", None)
    if lm_head is not None and not np.array_equal(lm_head, found["transformer.wte.weight"]):
        raise InteropError(f"{source}: does not match config.json: lm_head.weight differs from "
                           "transformer.wte.weight (TinyGPT ties them)")
    return found


def read_tokenizer_files(directory: Path, vocab_size: int) -> tuple[list[str], BPETokenizer | None, str]:
    """(the tokenizer files present, the BPETokenizer that encodes like tokenizer.json or None, why there is none).
    A file that is not what its name says (JSON that does not parse, a tokenizer.json no library could load, ids
    beyond the model's vocabulary) is an InteropError: it is neither converted nor copied."""
    present = [name for name in HF_TOKENIZER_FILES if (directory / name).is_file()]
    documents = {}
    for name in present:
        path = directory / name
        try:
            text = path.read_text(encoding="utf-8")
            documents[name] = json.loads(text) if name.endswith(".json") else text
        except (OSError, ValueError, RecursionError) as err:
            raise InteropError(f"{path}: cannot be read as {'JSON' if name.endswith('.json') else 'text'} "
                               f"({err})") from None
    if "tokenizer.json" not in documents:
        return present, None, "there is no tokenizer.json"
    path, document = directory / "tokenizer.json", documents["tokenizer.json"]
    problem = tokenizer_json_problem(document)
    if problem:
        raise InteropError(f"{path}: not a valid tokenizer: {problem}")
    if tokenizer_json_largest_id(document) >= vocab_size:
        raise InteropError(f"{path}: has token id {tokenizer_json_largest_id(document)}, beyond config.json's "
                           f"vocab_size {vocab_size}")
    try:
        return present, bpe_from_tokenizer_json(document), ""
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        return present, None, str(err)


def write_import(out: Path, model: GPT, metadata: dict, dtype, directory: Path, present: list[str],
                 tokenizer: BPETokenizer | None) -> str:
    """Write the tokenizer and the checkpoint through temporary names, then rename them into place, the checkpoint
    last; the checkpoint records the tokenizer's SHA-256, so a tokenizer that is not its own is refused on load.
    Returns a line saying what happened to the tokenizer."""
    staged_checkpoint = temporary_name(out)
    staged_tokenizer = temporary_name(out.parent / "tokenizer.json")
    try:
        if tokenizer is not None:
            tokenizer.save(staged_tokenizer)
            entries = {"tokenizer": "tokenizer.json", "tokenizer_sha256": file_sha256(staged_tokenizer)}
            save_checkpoint(staged_checkpoint, model, {**metadata, **entries}, dtype=dtype)
            os.replace(staged_tokenizer, out.parent / "tokenizer.json")
            line = f"tokenizer: converted -> {out.parent / 'tokenizer.json'}"
        elif present:
            kept = out.parent / HF_TOKENIZER_DIR
            with atomic_directory(kept, "--out", HF_TOKENIZER_FILES, "Hugging Face tokenizer") as staging:
                for name in present:
                    shutil.copyfile(directory / name, staging / name)
                entries = {"hf_tokenizer": HF_TOKENIZER_DIR, "hf_tokenizer_sha256": directory_sha256(staging)}
                save_checkpoint(staged_checkpoint, model, {**metadata, **entries}, dtype=dtype)
            line = f"tokenizer: a BPETokenizer cannot represent it; copied to {kept}, export-hf writes it back"
        else:
            save_checkpoint(staged_checkpoint, model, metadata, dtype=dtype)
            line = f"tokenizer: none in {directory}"
        os.replace(staged_checkpoint, out)
    finally:
        staged_checkpoint.unlink(missing_ok=True)
        staged_tokenizer.unlink(missing_ok=True)
    return line


def import_hf(directory: str | Path, out: str | Path, overwrite: bool = False) -> list[str]:
    """Read the GPT-2 directory `directory` into the TinyGPT checkpoint `out`; returns one line per thing written.
    Everything is checked (config, the weights' shapes from their headers, the tokenizer files) before the model
    is allocated or anything written. An existing `out`, or a `tokenizer.json` beside it where the tokenizer is
    converted, is refused (OutputError) unless `overwrite`."""
    directory, out = Path(directory), Path(out)
    if out.is_dir():
        raise InteropError(f"{out}: is a directory; --out names the checkpoint file to write")
    check_writable_parent(out, "--out")
    if not overwrite:
        refuse_to_replace([out], "the import", "choose another --out")
    hf_config, config = read_hf_config(directory)
    source, shards = weight_files(directory)
    check_hf_shapes(source, shards, config)
    present, tokenizer, reason = read_tokenizer_files(directory, config.vocab_size)
    if tokenizer is not None and not overwrite:
        refuse_to_replace([out.parent / "tokenizer.json"], "the converted tokenizer", "choose another --out")
    hf_weights = read_hf_weights(source, shards)
    dtype = np.float16 if all(array.dtype == np.float16 for array in hf_weights.values()) else np.float32
    model = GPT(config)
    model.load_weights(from_hf_state_dict(hf_weights))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"--out {out} cannot be written: {err.strerror or err}") from None
    metadata = {"hf_config": hf_config, "imported_from": str(directory)}
    tokenizer_line = write_import(out, model, metadata, dtype, directory, present, tokenizer)
    if reason and present and tokenizer is None:
        tokenizer_line += f" ({reason})"
    return [f"model: {source} -> {out} ({np.dtype(dtype).name})", tokenizer_line]
