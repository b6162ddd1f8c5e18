"""Tokenizers, from scratch: one token per character (`CharTokenizer`) and byte-level BPE (`BPETokenizer`) with a
pre-tokenizer tuned for Python source. Both save to and load from JSON; `load_tokenizer` reads either.

The package needs only `regex` and `tqdm`; it never imports the rest of tinytorch.
"""

from __future__ import annotations

from pathlib import Path

from .bpe import BPETokenizer
from .char import CharTokenizer
from .files import TokenizerFileError, read_document
from .pretokenize import CODE_PATTERN, END_OF_TEXT, PreTokenizer

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "CODE_PATTERN",
    "END_OF_TEXT",
    "PreTokenizer",
    "TokenizerFileError",
    "load_tokenizer",
]


def load_tokenizer(path: str | Path) -> BPETokenizer | CharTokenizer:
    """Load a tokenizer saved by `BPETokenizer.save` or `CharTokenizer.save`, whichever the file holds. A file that
    is not one of them, or is damaged, raises one `TokenizerFileError` (a `ValueError`) naming the file."""
    document = read_document(path)
    formats = {cls.FORMAT_NAME: cls for cls in (BPETokenizer, CharTokenizer)}
    format_name = document.get("format")
    if format_name not in formats:
        found = f"format={format_name!r}" if "format" in document else 'no "format" field'
        raise TokenizerFileError(
            f"{path} is not a tinytorch tokenizer file ({found}); expected format {' or '.join(map(repr, formats))}"
        )
    return formats[format_name].from_file_document(path, document)
