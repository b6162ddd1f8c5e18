"""Hugging Face interop: a TinyGPT checkpoint to a GPT-2 model directory and back, without torch.

    export.py   `tinygpt export-hf`: a checkpoint -> config.json, model.safetensors and the tokenizer files
    import_.py  `tinygpt import-hf`: any GPT-2 directory with safetensors weights -> a TinyGPT checkpoint
    mapping.py  the one-to-one map between the two: weight names and layouts, config, tokenizer.json

The weights cross unchanged (renamed, the four Conv1D matrices per block transposed: see `mapping`), in float32, or
float16 when that is what the source holds, so import followed by export is bit-identical. An imported checkpoint
keeps the source `config.json` in its metadata and writes it back on export, dropout rates and all; a tokenizer
that a `BPETokenizer` cannot represent is kept beside it (HF_TOKENIZER_DIR) and exported back verbatim.

Neither direction replaces files that are already there unless asked (`overwrite`, the commands' --force). Every
problem with an input raises `InteropError` (or `CheckpointError`, `OutputError`) naming the file and what is wrong;
the commands print it on one line and exit with status 2.
"""

from __future__ import annotations

from pathlib import Path

from tinygpt.outputs import OutputError

__all__ = ["HF_TOKENIZER_DIR", "HF_TOKENIZER_FILES", "InteropError", "refuse_to_replace"]

HF_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                      "merges.txt", "added_tokens.json")
HF_TOKENIZER_DIR = "hf_tokenizer"  # where import-hf copies a tokenizer it cannot convert, beside the checkpoint


class InteropError(ValueError):
    """A Hugging Face directory, or a checkpoint bound for one, that cannot be converted; names file and problem."""


def refuse_to_replace(paths: list[Path], what: str, instead: str) -> None:
    """OutputError naming those of `paths` that exist (`what` would replace them), --force, and what else to do."""
    present = [str(path) for path in paths if path.exists()]
    if present:
        one = len(present) == 1
        them = "it" if one else "them"
        raise OutputError(f"{', '.join(present)} already exist{'s' if one else ''}; {what} would replace {them}: "
                          f"pass --force to replace {them}, or {instead}")
