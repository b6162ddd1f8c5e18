"""Byte-level byte-pair encoding (BPE), the tokenizer family of GPT-2, trained here on Python source.

How text becomes token ids:

1. Special tokens (`<|endoftext|>`, which separates files) are cut out first and map straight to their ids.
2. The rest is pre-tokenized into words by a regex (see `pretokenize.py`): identifiers, numbers, punctuation runs,
   newline-plus-indentation runs.
3. Each word becomes its UTF-8 bytes, ids 0..255. Working on bytes rather than characters means every string
   (tabs, CRLF, NUL, emoji, CJK) is representable with no unknown token: `decode(encode(s)) == s` for any `s`.
4. Learned merges are applied to each word: repeatedly find the adjacent pair with the lowest merge rank (the
   earliest learned) and fuse it, leftmost first on ties, until no pair has a merge. This is exactly what Hugging
   Face `tokenizers` does, so an exported tokenizer gives identical ids. `merge_word` explains how this is done in
   O(n log n) for a word of n bytes, rather than rescanning the word after every merge.

Training (`BPETokenizer.train`) counts the distinct words of a corpus and learns merges from them (`bpe_trainer.py`).
Encoding keeps a cache from word to ids: source code repeats its words, so most words are looked up, not merged. The
cache forgets the least recently used words beyond `WORD_CACHE_SIZE`, and words longer than
`MAX_CACHED_WORD_LENGTH` characters (runs of spaces, a long string literal) are never cached, so its memory is
bounded however much text passes through.

Ids: 0..255 are bytes, then one id per learned token in order, then the special tokens.
`explain(text)` and `show_merges()` print the tokenizer's work for a human.
"""

from __future__ import annotations

import heapq
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from tqdm import tqdm

from . import hf
from .bpe_trainer import Merge, learn_merges
from .files import TokenizerFile
from .pretokenize import CODE_PATTERN, END_OF_TEXT, PreTokenizer, special_token_splitter, split_on_special_tokens

# The word cache holds at most WORD_CACHE_SIZE words of at most MAX_CACHED_WORD_LENGTH characters: ~25 MB when full
# of ASCII words, under 100 MB even for words of 4-byte characters that never merge. Encoding the 31 MB standard
# library (~180k distinct words, 99.9% of occurrences no longer than 32 characters) still finds 97% of words cached.
WORD_CACHE_SIZE = 2**16
MAX_CACHED_WORD_LENGTH = 32
# Words longer than this are left out when merges are learned, as SentencePiece leaves out over-long sentences: each
# merge inside a word rescans it, so one 2 MB word (a minified line) would take hours, and such text is not what the
# tokens should be made of. The longest word in the standard library and the six corpora is 201 characters.
MAX_TRAINING_WORD_CHARS = 1000


def replay_merges(merges: Sequence[Merge]) -> list[bytes]:
    """The bytes of every token, by id: the 256 single bytes, then what each merge spells, checking that each merge
    is three ids, joins two tokens that exist before it, and either creates the next id or names an existing token
    with the same bytes."""
    token_bytes = [bytes([byte]) for byte in range(256)]
    for rank, merge in enumerate(merges):
        if not is_merge(merge):
            raise ValueError(f"merge {rank} is {merge!r}, expected three token ids [left, right, merged]")
        left, right, merged = merge
        if not (0 <= left < len(token_bytes) and 0 <= right < len(token_bytes)):
            raise ValueError(
                f"merge {rank} {list(merge)} joins an id outside 0..{len(token_bytes) - 1}, the tokens before it"
            )
        spelled = token_bytes[left] + token_bytes[right]
        if merged == len(token_bytes):
            token_bytes.append(spelled)
        elif not 0 <= merged < len(token_bytes) or token_bytes[merged] != spelled:
            raise ValueError(f"merge {rank} {list(merge)} does not follow from the merges before it")
    return token_bytes


def is_merge(merge: object) -> bool:
    """Whether `merge` is `(left, right, merged)`: three ints (not bools, which Python counts as ints)."""
    return (
        isinstance(merge, list | tuple)
        and len(merge) == 3
        and all(isinstance(token_id, int) and not isinstance(token_id, bool) for token_id in merge)
    )


class BPETokenizer(TokenizerFile):
    """A byte-level BPE tokenizer: merges (left id, right id, merged id) in rank order, special tokens and the
    pre-tokenizer regex. Build one with `train` or `load`."""

    FORMAT_NAME = "tinytorch.text.BPETokenizer"
    FIELDS = {"pattern": str, "special_tokens": list, "merges": list}

    def __init__(
        self, merges: Sequence[Merge], special_tokens: Sequence[str] = (END_OF_TEXT,), pattern: str = CODE_PATTERN
    ):
        merges = list(merges)
        self.token_bytes = replay_merges(merges)
        self.merges = [tuple(merge) for merge in merges]
        self.merge_rank = {(left, right): rank for rank, (left, right, _) in enumerate(self.merges)}
        if not all(isinstance(token, str) and token for token in special_tokens):
            raise ValueError(f"special_tokens must be non-empty strings, got {list(special_tokens)!r}")
        self.special_tokens = {token: len(self.token_bytes) + i for i, token in enumerate(special_tokens)}
        if len(self.special_tokens) != len(special_tokens):
            raise ValueError(f"special_tokens must be distinct, got {list(special_tokens)}")
        self.special_token_of_id = {token_id: token for token, token_id in self.special_tokens.items()}
        self.pattern = pattern
        self.pretokenize = PreTokenizer(pattern)
        self._special_splitter = special_token_splitter(self.special_tokens)
        # the word cache: its lists are shared between calls, so they are copied out and never changed
        self._merge_word_cached = lru_cache(maxsize=WORD_CACHE_SIZE)(self.merge_word)

    # ---- training ----------------------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        special_tokens: Sequence[str] = (END_OF_TEXT,),
        pattern: str = CODE_PATTERN,
        min_pair_count: int = 2,
        progress: bool = False,
    ) -> BPETokenizer:
        """Learn merges from `texts` until the vocabulary (bytes + merged tokens + special tokens) has `vocab_size`
        entries, or no pair of tokens occurs `min_pair_count` times (then the vocabulary comes out smaller).
        Special tokens inside the texts are skipped, never learned from."""
        minimum = 256 + len(special_tokens)
        if vocab_size < minimum:
            raise ValueError(
                f"vocab_size must be at least {minimum} (256 bytes + {len(special_tokens)} special "
                f"tokens), got {vocab_size}"
            )
        pretokenize = PreTokenizer(pattern)
        splitter = special_token_splitter(special_tokens)
        word_counts: Counter[str] = Counter()
        total = sum(map(len, texts)) if isinstance(texts, Sequence) else None
        with tqdm(total=total, desc="pre-tokenizing", unit="char", unit_scale=True, disable=not progress) as bar:
            for text in texts:
                for piece, is_special in split_on_special_tokens(text, splitter):
                    if is_special:
                        bar.update(len(piece))
                        continue
                    for words in pretokenize.chunks(piece):
                        word_counts.update(words)
                        bar.update(sum(map(len, words)))
        too_long = [word for word in word_counts if len(word) > MAX_TRAINING_WORD_CHARS]
        for word in too_long:
            del word_counts[word]
        if too_long and progress:
            tqdm.write(f"left {len(too_long):,} words longer than {MAX_TRAINING_WORD_CHARS:,} characters out of "
                       "merge learning (minified or generated text)", file=sys.stderr)
        merges, _ = learn_merges(word_counts, vocab_size - len(special_tokens), min_pair_count, progress)
        return cls(merges, special_tokens, pattern)

    # ---- encoding and decoding ---------------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.token_bytes) + len(self.special_tokens)

    @property
    def eot_id(self) -> int:
        """Id of `<|endoftext|>`, the separator between documents."""
        return self.special_tokens[END_OF_TEXT]

    def encode(self, text: str, allow_special: bool = True,
               progress: Callable[[int], object] | None = None) -> list[int]:
        """Token ids of `text`. With `allow_special=False`, special-token strings in the text are encoded as plain
        text, which is what you want for untrusted input. `progress(n)` is called as each further `n` characters are
        encoded (a long text in steps of about a million), e.g. with a progress bar's `update`. Raises
        UnicodeEncodeError for lone surrogates, the only strings that have no UTF-8 bytes."""
        ids: list[int] = []
        splitter = self._special_splitter if allow_special else None
        for piece, is_special in split_on_special_tokens(text, splitter):
            if is_special:
                ids.append(self.special_tokens[piece])
                if progress is not None:
                    progress(len(piece))
                continue
            for words in self.pretokenize.chunks(piece):
                for word in words:
                    if len(word) <= MAX_CACHED_WORD_LENGTH:
                        ids.extend(self._merge_word_cached(word))
                    else:
                        ids.extend(self.merge_word(word))
                if progress is not None:
                    progress(sum(map(len, words)))
        return ids

    def encode_batch(self, texts: Iterable[str], allow_special: bool = True) -> list[list[int]]:
        """`encode` for many texts; they share the word cache, so a batch of similar texts encodes fast."""
        return [self.encode(text, allow_special) for text in texts]

    def merge_word(self, word: str) -> list[int]:
        """Apply the learned merges to one pre-tokenized word: fuse the lowest-rank adjacent pair (leftmost on
        ties) until no adjacent pair has a merge.

        Rescanning the word for its best pair after every merge is O(n) per merge and O(n²) per word of n bytes
        (10,000 spaces took 10 s). Instead, as fast BPE implementations do:

        - The symbols form a doubly linked list over the word's byte offsets. A symbol is named by the offset of
          its first byte, which never changes: merging the pair that starts at `start` keeps the merged symbol at
          `start` and unlinks its right neighbour. Offsets grow left to right, so "leftmost" is "smallest offset".
        - A heap holds `(rank, start)` for every adjacent pair that has a merge. Its top is the lowest rank,
          leftmost on ties: exactly the pair the rescan would choose.
        - A merge changes only the pairs on either side of the new symbol, so it pushes at most two entries. The
          entries it invalidates stay in the heap; each is recognised when popped (the symbol at `start` is gone,
          or it and its right neighbour no longer form a pair of that rank) and skipped.

        Each merge removes a symbol, so a word has fewer than n merges, at most 3n heap entries and O(n log n) work.
        """
        symbols = list(word.encode("utf-8"))  # symbols[start]: id of the symbol at byte `start`, -1 once merged away
        ranks = self.merge_rank
        heap = [(ranks[pair], start) for start, pair in enumerate(zip(symbols, symbols[1:])) if pair in ranks]
        if not heap:
            return symbols
        heapq.heapify(heap)
        end = len(symbols)
        next_start = list(range(1, end + 1))  # where the right neighbour starts; `end` after the last symbol
        prev_start = list(range(-1, end - 1))  # where the left neighbour starts; -1 before the first symbol
        while heap:
            rank, start = heapq.heappop(heap)
            right = next_start[start]
            if symbols[start] < 0 or right == end or ranks.get((symbols[start], symbols[right])) != rank:
                continue  # stale: this pair was changed by a merge after the entry was pushed
            merged = self.merges[rank][2]
            symbols[start], symbols[right] = merged, -1
            after = next_start[right]
            next_start[start] = after
            if after < end:
                prev_start[after] = start
                rank_after = ranks.get((merged, symbols[after]))
                if rank_after is not None:
                    heapq.heappush(heap, (rank_after, start))
            before = prev_start[start]
            if before >= 0:
                rank_before = ranks.get((symbols[before], merged))
                if rank_before is not None:
                    heapq.heappush(heap, (rank_before, before))
        return [symbol for symbol in symbols if symbol >= 0]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`. Byte sequences that are not valid UTF-8 (a model can emit half a character) decode to
        U+FFFD, the replacement character."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        pieces = []
        for token_id in ids:
            if 0 <= token_id < len(self.token_bytes):
                pieces.append(self.token_bytes[token_id])
            elif token_id in self.special_token_of_id:
                pieces.append(self.special_token_of_id[token_id].encode("utf-8"))
            else:
                raise ValueError(f"token id {token_id} is out of range for a vocabulary of {self.vocab_size}")
        return b"".join(pieces)

    # ---- showing the work --------------------------------------------------------------------------------------

    def token_text(self, token_id: int) -> str:
        """A printable form of one token: its text, with bytes that are not valid UTF-8 shown as escapes."""
        if token_id in self.special_token_of_id:
            return self.special_token_of_id[token_id]
        return self.token_bytes[token_id].decode("utf-8", errors="backslashreplace")

    def explain(self, text: str) -> str:
        """One line per pre-tokenized word: the word and the tokens it became, e.g. `' self' -> [' self']`."""
        lines = []
        for piece, is_special in split_on_special_tokens(text, self._special_splitter):
            words = [piece] if is_special else self.pretokenize(piece)
            for word in words:
                tokens = [self.token_text(token_id) for token_id in self.encode(word)]
                lines.append(f"{word!r:>24} -> {tokens!r}")
        return "\n".join(lines)

    def show_merges(self, first: int = 0, count: int = 20) -> str:
        """The merges learned from rank `first` on: `rank: left + right -> merged`."""
        lines = []
        for rank, (left, right, merged) in enumerate(self.merges[first : first + count], start=first):
            parts = [repr(self.token_text(token_id)) for token_id in (left, right, merged)]
            lines.append(f"{rank:>5}: {parts[0]} + {parts[1]} -> {parts[2]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={list(self.special_tokens)})"
        )

    # ---- saving and loading ------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The file `save` writes: the regex, the special tokens and the merges as `[left, right, merged]`."""
        return {
            **self.format_header(),
            "pattern": self.pattern,
            "special_tokens": list(self.special_tokens),
            "merges": [list(merge) for merge in self.merges],
        }

    @classmethod
    def from_fields(cls, document: dict) -> BPETokenizer:
        return cls(document["merges"], document["special_tokens"], document["pattern"])

    def save_hf(self, directory: str | Path) -> None:
        """Export for Hugging Face: `tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`, loadable
        with `tokenizers.Tokenizer.from_file` and `transformers.AutoTokenizer.from_pretrained`."""
        hf.save_hf(self, directory)
