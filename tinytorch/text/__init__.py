"""Tokenizers, from scratch: one token per character (`CharTokenizer`) and byte-level BPE (`BPETokenizer`) with a
pre-tokenizer tuned for Python source. Both save to and load from JSON; `load_tokenizer` reads either.

The package needs only `regex` and `tqdm`; it never imports the rest of tinytorch.
"""

from __future__ import annotations

import json
from pathlib import Path

from .bpe import BPETokenizer
from .char import CharTokenizer
from .pretokenize import CODE_PATTERN, END_OF_TEXT, PreTokenizer

__all__ = ["BPETokenizer", "CharTokenizer", "CODE_PATTERN", "END_OF_TEXT", "PreTokenizer", "load_tokenizer"]


def load_tokenizer(path: str | Path) -> BPETokenizer | CharTokenizer:
    """Load a tokenizer saved by `BPETokenizer.save` or `CharTokenizer.save`, whichever the file holds."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    for tokenizer_class in (BPETokenizer, CharTokenizer):
        if document.get("format") == f"tinytorch.text.{tokenizer_class.__name__}":
            return tokenizer_class.from_dict(document)
    raise ValueError(f"{path} is not a tinytorch tokenizer file (format={document.get('format')!r})")
