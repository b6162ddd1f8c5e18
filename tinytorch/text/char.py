"""The simplest tokenizer: one token per character, with the vocabulary read off a corpus.

Ids are laid out as

    0                 the unknown token: any character the corpus never showed encodes to it
    1 .. k            the special tokens, e.g. `<|endoftext|>`
    k+1 ..            the corpus characters in code-point order

Unknown characters are the one lossy case, and it is explicit: `encode` maps them to `unk_id` and `decode` turns
`unk_id` into U+FFFD, the Unicode replacement character. Text made of corpus characters round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .files import TokenizerFile
from .pretokenize import END_OF_TEXT, special_token_splitter, split_on_special_tokens

REPLACEMENT_CHARACTER = "\N{REPLACEMENT CHARACTER}"


class CharTokenizer(TokenizerFile):
    """Maps each known character to an id; unknown characters to `unk_id` (0)."""

    FORMAT_NAME = "tinytorch.text.CharTokenizer"
    FIELDS = {"chars": str, "special_tokens": list}
    unk_id = 0

    def __init__(self, chars: Iterable[str], special_tokens: Sequence[str] = (END_OF_TEXT,)):
        self.chars = sorted(set(chars))
        if any(len(char) != 1 for char in self.chars):
            raise ValueError(f"chars must be single characters, got {[c for c in self.chars if len(c) != 1]!r}")
        if not all(isinstance(token, str) and token for token in special_tokens):
            raise ValueError(f"special_tokens must be non-empty strings, got {list(special_tokens)!r}")
        self.special_tokens = {token: 1 + i for i, token in enumerate(special_tokens)}
        if len(self.special_tokens) != len(special_tokens):
            raise ValueError(f"special_tokens must be distinct, got {list(special_tokens)}")
        first_char_id = 1 + len(self.special_tokens)
        self.id_of_char = {char: first_char_id + i for i, char in enumerate(self.chars)}
        self.text_of_id = {self.unk_id: REPLACEMENT_CHARACTER}
        self.text_of_id |= {token_id: token for token, token_id in self.special_tokens.items()}
        self.text_of_id |= {token_id: char for char, token_id in self.id_of_char.items()}
        self._special_splitter = special_token_splitter(self.special_tokens)

    @classmethod
    def train(cls, texts: Iterable[str], special_tokens: Sequence[str] = (END_OF_TEXT,)) -> CharTokenizer:
        """A tokenizer knowing every character of `texts`."""
        chars: set[str] = set()
        for text in texts:
            chars.update(text)
        return cls(chars, special_tokens)

    @property
    def vocab_size(self) -> int:
        return len(self.text_of_id)

    def encode(self, text: str, allow_special: bool = True,
               progress: Callable[[int], object] | None = None) -> list[int]:
        """One id per character (unknown ones become `unk_id`); special-token strings become their single id unless
        `allow_special=False`. `progress(len(text))` is called once done, as `BPETokenizer.encode` reports it."""
        ids: list[int] = []
        splitter = self._special_splitter if allow_special else None
        for piece, is_special in split_on_special_tokens(text, splitter):
            if is_special:
                ids.append(self.special_tokens[piece])
            else:
                ids.extend(self.id_of_char.get(char, self.unk_id) for char in piece)
        if progress is not None:
            progress(len(text))
        return ids

    def encode_batch(self, texts: Iterable[str], allow_special: bool = True) -> list[list[int]]:
        return [self.encode(text, allow_special) for text in texts]

    def decode(self, ids: Iterable[int]) -> str:
        try:
            return "".join(self.text_of_id[token_id] for token_id in ids)
        except KeyError as err:
            raise ValueError(f"token id {err.args[0]} is out of range for a vocabulary of {self.vocab_size}") from None

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, special_tokens={list(self.special_tokens)})"

    def to_dict(self) -> dict:
        return {
            **self.format_header(),
            "special_tokens": list(self.special_tokens),
            "chars": "".join(self.chars),
        }

    @classmethod
    def from_fields(cls, document: dict) -> CharTokenizer:
        return cls(document["chars"], document["special_tokens"])
