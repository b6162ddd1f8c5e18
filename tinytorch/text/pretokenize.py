r"""Pre-tokenization: cut text into the pieces ("words") that byte-pair merges may never cross.

BPE on its own would happily learn a token for `x = 1\n` or `) -> None:\n    return`; pre-tokenizing first
keeps tokens meaningful and makes training fast, because the trainer only has to look at each distinct word once.

The pattern below is tuned for Python source. Reading its alternatives in order:

    [ .]?[\p{L}_][\p{L}\p{N}_]*  an identifier, optionally with the space or dot before it:
                                 ` self`, `.append`, `__init__`, `x2`
     ?\p{N}+                     a number, optionally with a leading space: ` 0`, `2024`
     ?[^\s\p{L}\p{N}_]+          a run of punctuation, optionally with a leading space: ` =`, `):`, ` #`
    \s*\n[ \t]*                  line breaks (blank lines, trailing spaces, CRLF) together with the indentation
                                 of the next line, so `\n        ` (newline + 8 spaces) can become one token
    [ \t]+(?!\S)                 other runs of spaces or tabs, leaving the last space to the word that follows
    \s+                          any whitespace left over (a trailing space at the very end of the text)

Every character is matched by some alternative, so `"".join(pretokenize(text)) == text` always holds: nothing is
lost before the bytes reach BPE. The pattern also runs unchanged in the Rust regex engine of Hugging Face
`tokenizers` (no possessive quantifiers, no `^`/`$`); both engines agree on `\s`, and on `\p{L}`/`\p{N}` up to the
characters added in the newest Unicode versions.

Special tokens such as `<|endoftext|>` are cut out before the pattern ever sees the text: they are never split and
never merged with their neighbours.

A pattern read from a file may be hostile, so every pattern is tried on `PROBE_TEXT` before it is used: it must
split the probe within `PROBE_SECONDS` (a pattern that backtracks catastrophically, such as `(a|aa)+$`, would hang
every encode) and, for our tokenizers, into words that join back to the probe (a pattern that skips characters
would make `decode(encode(s)) != s`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import regex

END_OF_TEXT = "<|endoftext|>"
CODE_PATTERN = r"[ .]?[\p{L}_][\p{L}\p{N}_]*| ?\p{N}+| ?[^\s\p{L}\p{N}_]+|\s*\n[ \t]*|[ \t]+(?!\S)|\s+"
# Python with letters, digits, punctuation, every kind of whitespace and characters beyond ASCII, then long runs of
# one character ended by another: where a backtracking pattern takes exponential time.
PROBE_TEXT = (
    'def área(x_1, y=2.5e-3):\r\n\t"""Ünïcödé 字 🐍\x00\x0b\x0c"""\n    return x_1 ** 2 + y  # done\n\n'
    + "".join(character * 32 + end for character, end in
              [("a", "!"), ("a", " "), (" ", "x"), ("1", "a"), ("_", "-"), ("\n", "."), (".", "a"), ("\t", "1")])
)
PROBE_SECONDS = 1.0  # the probe takes microseconds with any sensible pattern
CHUNK_CHARS = 1 << 20  # `PreTokenizer.chunks` hands out the words of a long text about this many characters at a time


def compile_pattern(pattern: str, lossless: bool = True) -> regex.Pattern:
    """`pattern` compiled, after splitting `PROBE_TEXT` with it: ValueError if it is not a regex, takes longer than
    `PROBE_SECONDS` on the probe, or (with `lossless`) drops characters of the probe."""
    if not isinstance(pattern, str):
        raise ValueError(f"pattern must be a regex string, got {pattern!r}")
    try:
        compiled = regex.compile(pattern)
    except regex.error as err:
        raise ValueError(f"pattern {pattern!r} is not a valid regex: {err}") from None
    try:
        words = compiled.findall(PROBE_TEXT, timeout=PROBE_SECONDS)
    except TimeoutError:
        raise ValueError(f"pattern {pattern!r} takes over {PROBE_SECONDS:g} s to split a {len(PROBE_TEXT)}-character "
                         "probe text (catastrophic backtracking); it would hang encoding") from None
    if lossless and "".join(map(str, words)) != PROBE_TEXT:
        raise ValueError(f"pattern {pattern!r} drops characters (the words it finds in a probe text do not join back "
                         "to it), so decode(encode(text)) would not give the text back")
    return compiled


class PreTokenizer:
    """Splits text into words with a regex; compiled (and checked on `PROBE_TEXT`) once, then reused for every
    call."""

    def __init__(self, pattern: str = CODE_PATTERN):
        self._compiled = compile_pattern(pattern)
        self.pattern = pattern

    def __call__(self, text: str) -> list[str]:
        return self._compiled.findall(text)

    def chunks(self, text: str, chars: int = CHUNK_CHARS) -> Iterator[list[str]]:
        """The words of `text` (exactly those of `self(text)`, in order) in consecutive lists of about `chars`
        characters each, so that work on a text of hundreds of megabytes can report its progress as it goes."""
        if len(text) <= chars:
            yield self._compiled.findall(text)
            return
        words, size = [], 0
        for match in self._compiled.finditer(text):
            words.append(match.group())
            size += len(words[-1])
            if size >= chars:
                yield words
                words, size = [], 0
        if words:
            yield words

    def __repr__(self) -> str:
        return f"PreTokenizer({self.pattern!r})"


def special_token_splitter(special_tokens: Iterable[str]) -> regex.Pattern | None:
    """A regex whose matches are the special tokens, longest first so `<|a|b|>` wins over `<|a|>`."""
    ordered = sorted(special_tokens, key=len, reverse=True)
    if not ordered:
        return None
    return regex.compile("|".join(regex.escape(token) for token in ordered))


def split_on_special_tokens(text: str, splitter: regex.Pattern | None) -> Iterator[tuple[str, bool]]:
    """Yield `(piece, is_special)` in order; ordinary pieces are non-empty and contain no special token."""
    if splitter is None:
        if text:
            yield text, False
        return
    start = 0
    for match in splitter.finditer(text):
        if match.start() > start:
            yield text[start : match.start()], False
        yield match.group(), True
        start = match.end()
    if start < len(text):
        yield text[start:], False
