"""`tinygpt export-hf` and `tinygpt import-hf`: the options of `tinygpt.hf`'s two conversions, and their errors.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tinygpt.checkpoint import (
    CheckpointError,
)
from tinygpt.cli import ArgumentParser
from tinygpt.hf import InteropError
from tinygpt.hf.export import export_hf
from tinygpt.hf.import_ import import_hf
from tinygpt.outputs import (
    OutputError,
)


def run(command: str, action: Callable[..., list[str]], *args) -> int:
    """Run `action`, print what it wrote; on bad input print one error line and return exit status 2 (1 when
    writing fails)."""
    try:
        lines = action(*args)
    except (InteropError, CheckpointError, OutputError) as err:
        message = " ".join(str(err).split())  # one line, whatever the underlying library said
        print(f"tinygpt {command}: error: {message}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"tinygpt {command}: error: cannot write the output: {err}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    """`tinygpt export-hf CHECKPOINT OUTDIR [--tokenizer PATH] [--force]`."""
    parser = ArgumentParser(prog="tinygpt export-hf",
                            description="Write a TinyGPT checkpoint as a Hugging Face GPT-2 directory.")
    parser.add_argument("checkpoint", help="TinyGPT checkpoint (.safetensors)")
    parser.add_argument("out_dir", help="directory to write config.json, model.safetensors and tokenizer files to")
    parser.add_argument("--tokenizer", help="tokenizer file, if not the one the checkpoint names")
    parser.add_argument("--force", action="store_true", help="overwrite the model files OUTDIR already holds "
                        "(config.json, model.safetensors, tokenizer files; an earlier export's too)")
    args = parser.parse_args(argv)
    return run("export-hf", export_hf, args.checkpoint, args.out_dir, args.tokenizer, args.force)


def main_import(argv: list[str] | None = None) -> int:
    """`tinygpt import-hf DIR [--out PATH] [--force]`."""
    parser = ArgumentParser(prog="tinygpt import-hf",
                            description="Read a Hugging Face GPT-2 directory into a TinyGPT checkpoint.")
    parser.add_argument("directory", help="directory with config.json and model.safetensors (and tokenizer files)")
    parser.add_argument("--out", help="checkpoint to write (default: models/<DIR name>/model.safetensors)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out checkpoint and the tokenizer.json beside it")
    args = parser.parse_args(argv)
    out = args.out or Path("models") / Path(args.directory).resolve().name / "model.safetensors"
    return run("import-hf", import_hf, args.directory, out, args.force)


if __name__ == "__main__":
    sys.exit(main())
