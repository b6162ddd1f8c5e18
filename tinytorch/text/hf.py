"""Export a `BPETokenizer` in the Hugging Face format, so `tokenizers` and `transformers` produce the same ids.

`tokenizer.json` describes the same pipeline `BPETokenizer.encode` runs, in Hugging Face's vocabulary:

    added_tokens   the special tokens, cut out before anything else
    pre_tokenizer  Split(our regex, behavior "isolated"), then ByteLevel(use_regex=False), which only rewrites each
                   word's UTF-8 bytes as printable characters (see `bytes_to_unicode`)
    model          BPE with our vocabulary and merges, spelled in those printable characters
    decoder        ByteLevel, which turns the printable characters back into bytes

The two JSON files beside it tell `transformers.AutoTokenizer` to wrap it as a plain fast tokenizer and which special
token ends a text.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .pretokenize import END_OF_TEXT

if TYPE_CHECKING:
    from .bpe import BPETokenizer


@cache
def bytes_to_unicode() -> tuple[str, ...]:
    """GPT-2's printable stand-in for each byte value, indexed by byte.

    Vocabulary files store tokens as strings, but a token may hold any bytes: a space, a newline, half of a UTF-8
    character. Bytes that are already visible Latin-1 characters stand for themselves; the 68 others (control
    characters, space, ...) are mapped, in order, to the characters from U+0100 on, so a space shows as `Ġ` and a
    newline as `Ċ`.
    """
    visible = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)}
    characters = {}
    next_stand_in = 256
    for byte in range(256):
        if byte in visible:
            characters[byte] = chr(byte)
        else:
            characters[byte] = chr(next_stand_in)
            next_stand_in += 1
    return tuple(characters[byte] for byte in range(256))


def printable(token: bytes) -> str:
    """The byte-level string of a token, as it appears in `tokenizer.json`."""
    byte_chars = bytes_to_unicode()
    return "".join(byte_chars[byte] for byte in token)


def tokenizer_json(tokenizer: BPETokenizer) -> dict:
    """The `tokenizer.json` document of `tokenizer`."""
    vocab = {printable(token): token_id for token_id, token in enumerate(tokenizer.token_bytes)}
    merges = [
        [printable(tokenizer.token_bytes[left]), printable(tokenizer.token_bytes[right])]
        for left, right, _ in tokenizer.merges
    ]
    added_tokens = [
        {
            "id": token_id,
            "content": token,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for token, token_id in tokenizer.special_tokens.items()
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": tokenizer.pattern}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def special_tokens_map(tokenizer: BPETokenizer) -> dict:
    """`<|endoftext|>` both starts and ends texts, as in GPT-2; any other special tokens are listed as additional."""
    tokens = {}
    if END_OF_TEXT in tokenizer.special_tokens:
        tokens = {"bos_token": END_OF_TEXT, "eos_token": END_OF_TEXT}
    others = [token for token in tokenizer.special_tokens if token != END_OF_TEXT]
    if others:
        tokens["additional_special_tokens"] = others
    return tokens


def save_hf(tokenizer: BPETokenizer, directory: str | Path) -> None:
    """Write `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False,
        "add_prefix_space": False,
        **special_tokens_map(tokenizer),
    }
    documents = {
        "tokenizer.json": tokenizer_json(tokenizer),
        "tokenizer_config.json": config,
        "special_tokens_map.json": special_tokens_map(tokenizer),
    }
    for name, document in documents.items():
        (directory / name).write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
