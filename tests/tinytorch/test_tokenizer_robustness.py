"""Tokenizers on hostile input: the O(n log n) BPE merge gives exactly the ids of the merge rule stated directly (on
random merge tables, on the shipped tokenizer and real files), long words cost a near-linear number of steps, the
word cache stays bounded, and every damaged tokenizer file is one `TokenizerFileError` naming the file.
"""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.text.bpe as bpe_module
from tests.helpers import REPO
from tinytorch.text import END_OF_TEXT, BPETokenizer, CharTokenizer, TokenizerFileError, load_tokenizer
from tinytorch.text.pretokenize import CHUNK_CHARS, PreTokenizer, split_on_special_tokens

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SHIPPED_TOKENIZER = REPO / "models" / "tinygpt-stdlib" / "tokenizer.json"
REAL_FILES = ["textwrap.py", "string.py", "shlex.py", "bisect.py", "heapq.py", "json/decoder.py", "ast.py"]
LONG_WORDS = {
    "spaces": " " * 3000,
    "newline and indentation": "\n" + " " * 3000,
    "rule of '='": "# " + "=" * 3000,
    "hex string literal": 'blob = "' + "0123456789abcdef" * 200 + '"',
    "identifier": "x_" * 1500,
}


# ---- the merge rule, stated directly ---------------------------------------------------------------------------------


def rescan_merge_word(word: str, merges: list[tuple[int, int, int]], rank_of_pair: dict | None = None) -> list[int]:
    """The definition of BPE encoding, with no cleverness: rescan the word for the adjacent pair of lowest merge
    rank (leftmost on ties), fuse it, repeat. O(n²) per word; this was the package's algorithm before the heap.
    A pair's rank is that of its last merge (`rank_of_pair`, built from `merges` unless given)."""
    if rank_of_pair is None:
        rank_of_pair = {(left, right): rank for rank, (left, right, _) in enumerate(merges)}
    ids = list(word.encode("utf-8"))
    while True:
        mergeable = [(rank_of_pair[pair], i) for i, pair in enumerate(zip(ids, ids[1:])) if pair in rank_of_pair]
        if not mergeable:
            return ids
        rank, i = min(mergeable)
        ids[i : i + 2] = [merges[rank][2]]


def rescan_encode(tokenizer: BPETokenizer, text: str) -> list[int]:
    """`tokenizer.encode(text)`, merging each word by `rescan_merge_word` and caching nothing."""
    rank_of_pair = {(left, right): rank for rank, (left, right, _) in enumerate(tokenizer.merges)}
    ids: list[int] = []
    for piece, is_special in split_on_special_tokens(text, tokenizer._special_splitter):
        if is_special:
            ids.append(tokenizer.special_tokens[piece])
        else:
            for word in tokenizer.pretokenize(piece):
                ids.extend(rescan_merge_word(word, tokenizer.merges, rank_of_pair))
    return ids


@st.composite
def merge_tables(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """Random merges over the bytes of 'abc', in any order: unlike trained merges, a rank need not follow pair
    frequency, the same pair may appear twice, and two merges may spell the same token ('a'+'bc', 'ab'+'c')."""
    token_bytes = {byte: bytes([byte]) for byte in b"abc"}
    id_of_bytes = {spelled: token_id for token_id, spelled in token_bytes.items()}
    next_id = 256
    merges = []
    for _ in range(draw(st.integers(0, 30))):
        left, right = draw(st.sampled_from(sorted(token_bytes))), draw(st.sampled_from(sorted(token_bytes)))
        spelled = token_bytes[left] + token_bytes[right]
        if spelled not in id_of_bytes:
            id_of_bytes[spelled], token_bytes[next_id] = next_id, spelled
            next_id += 1
        merges.append((left, right, id_of_bytes[spelled]))
    return merges


@settings(max_examples=300, deadline=None)
@given(merge_tables(), st.text(alphabet="abc", max_size=60))
def test_heap_merge_equals_rescan_on_random_merge_tables(merges: list, word: str) -> None:
    assert BPETokenizer(merges).merge_word(word) == rescan_merge_word(word, merges)


@pytest.fixture(scope="module")
def trained() -> BPETokenizer:
    texts = [(STDLIB / name).read_text(encoding="utf-8") for name in ("textwrap.py", "string.py")]
    return BPETokenizer.train(texts, vocab_size=500)


CODE_PIECES = [" ", "    ", "\n", "\t", "=", "self", "_", "é", "🐍", "0f", END_OF_TEXT]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(CODE_PIECES), max_size=80))
def test_heap_encode_equals_rescan_on_code_like_text(trained: BPETokenizer, pieces: list[str]) -> None:
    text = "".join(pieces)
    assert trained.encode(text) == rescan_encode(trained, text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_heap_encode_equals_rescan_on_any_text(trained: BPETokenizer, text: str) -> None:
    assert trained.encode(text) == rescan_encode(trained, text)


@pytest.fixture(scope="module")
def shipped() -> BPETokenizer:
    if not SHIPPED_TOKENIZER.is_file():
        pytest.skip(f"{SHIPPED_TOKENIZER} is not in this checkout")
    return BPETokenizer.load(SHIPPED_TOKENIZER)


@pytest.mark.parametrize("name", REAL_FILES)
def test_shipped_tokenizer_ids_unchanged_on_real_files(shipped: BPETokenizer, name: str) -> None:
    text = (STDLIB / name).read_text(encoding="utf-8")
    assert shipped.encode(text) == rescan_encode(shipped, text)


@pytest.mark.parametrize("name", list(LONG_WORDS))
def test_shipped_tokenizer_ids_unchanged_on_long_words(shipped: BPETokenizer, name: str) -> None:
    text = LONG_WORDS[name]
    ids = shipped.encode(text)
    assert ids == rescan_encode(shipped, text)
    assert shipped.decode(ids) == text


# ---- cost of long words ----------------------------------------------------------------------------------------------


class CountingRanks(dict):
    """A merge-rank table that counts how often it is consulted: the step count of a BPE merge loop."""

    lookups = 0

    def __contains__(self, pair: object) -> bool:
        self.lookups += 1
        return super().__contains__(pair)

    def __getitem__(self, pair: tuple[int, int]) -> int:
        self.lookups += 1
        return super().__getitem__(pair)

    def get(self, pair: tuple[int, int], default: int | None = None) -> int | None:
        self.lookups += 1
        return super().get(pair, default)


@pytest.mark.parametrize(
    "text", [" " * 20_000, "#" + "-" * 20_000, "0" + "abcdef0123456789" * 1250, "self" * 5000],
    ids=["spaces", "comment rule", "hex literal", "repeated identifier"],
)
def test_long_word_costs_linear_lookups(trained: BPETokenizer, text: str) -> None:
    # each merge removes a symbol and looks up at most 3 pairs; the rescan looked up every pair after every merge
    # (~n²/4 lookups here, 10⁸), which made 10,000 spaces take 10 s and a 50,000-character line 7 minutes
    counting = CountingRanks(trained.merge_rank)
    trained.merge_rank = counting
    try:
        ids = trained.merge_word(text)
    finally:
        trained.merge_rank = dict(counting)
    assert len(ids) < len(text)  # merges did happen: the count is not vacuous
    assert 0 < counting.lookups <= 5 * len(text)


# ---- text of hundreds of megabytes: progress inside it, and no merge learning from minified words ----------------


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet="ab _1\n=(", max_size=300), chars=st.integers(1, 40))
def test_chunks_are_the_words_in_order(text: str, chars: int) -> None:
    pretokenize = PreTokenizer()
    chunks = list(pretokenize.chunks(text, chars))
    assert [word for chunk in chunks for word in chunk] == pretokenize(text)
    assert all(sum(map(len, chunk)) >= chars for chunk in chunks[:-1])  # each but the last is a full chunk


def test_encode_reports_progress_inside_a_long_text(trained: BPETokenizer) -> None:
    text = "total = total + 1; value = value * 2;<|endoftext|> " * 60_000  # 3 MB on one line
    steps: list[int] = []
    ids = trained.encode(text, progress=steps.append)
    assert ids == trained.encode(text)
    assert sum(steps) == len(text) and len(steps) > 2 and max(steps) <= 2 * CHUNK_CHARS


def test_minified_words_are_left_out_of_merge_learning() -> None:
    code = (STDLIB / "textwrap.py").read_text()
    blob = "BLOB = " + "a1b2c3d4" * 250_000  # one 2 MB word: each merge inside it would rescan it (hours)
    assert BPETokenizer.train([code, blob], 400).merges == BPETokenizer.train([code, "BLOB = "], 400).merges


def test_word_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, trained: BPETokenizer) -> None:
    monkeypatch.setattr(bpe_module, "WORD_CACHE_SIZE", 50)
    tokenizer = BPETokenizer(trained.merges)
    words = [f" name{i}" for i in range(500)]
    text = "".join(words)
    assert tokenizer.encode(text) == trained.encode(text)
    assert tokenizer._merge_word_cached.cache_info().currsize == 50
    assert tokenizer.encode(text) == rescan_encode(tokenizer, text)  # evicted words are merged again, identically
    before = tokenizer._merge_word_cached.cache_info()
    tokenizer.encode(" " * (bpe_module.MAX_CACHED_WORD_LENGTH + 1))
    assert tokenizer._merge_word_cached.cache_info() == before  # long words never enter the cache


# ---- damaged tokenizer files -----------------------------------------------------------------------------------------

GOOD_BPE = {"format": "tinytorch.text.BPETokenizer", "version": 1, "pattern": r"\S+|\s+",
            "special_tokens": [END_OF_TEXT], "merges": [[97, 98, 256], [256, 99, 257]]}
BAD_BPE_DOCUMENTS = {
    "a list": ([GOOD_BPE], "holds a JSON array, expected a JSON object"),
    "no format": ({k: v for k, v in GOOD_BPE.items() if k != "format"}, 'no "format" field'),
    "unknown format": ({**GOOD_BPE, "format": "gpt2"}, "format='gpt2'"),
    "newer version": ({**GOOD_BPE, "version": 2}, "version=2"),
    "invalid regex": ({**GOOD_BPE, "pattern": "[a-"}, "pattern '[a-' is not a valid regex"),
    "pattern not a string": ({**GOOD_BPE, "pattern": 5}, '"pattern" is a JSON number, expected a JSON string'),
    "no merges": ({k: v for k, v in GOOD_BPE.items() if k != "merges"}, 'the "merges" field is missing'),
    "merges not a list": ({**GOOD_BPE, "merges": {"a": 1}}, '"merges" is a JSON object, expected a JSON array'),
    "merge id out of range": ({**GOOD_BPE, "merges": [[97, 300, 256]]}, "merge 0 [97, 300, 256] joins an id outside"),
    "merge of a later token": ({**GOOD_BPE, "merges": [[256, 99, 256]]}, "merge 0 [256, 99, 256] joins an id"),
    "negative id": ({**GOOD_BPE, "merges": [[97, -1, 256]]}, "joins an id outside 0..255"),
    "merge skips an id": ({**GOOD_BPE, "merges": [[97, 98, 300]]}, "does not follow from the merges before it"),
    "merge of two ids": ({**GOOD_BPE, "merges": [[97, 98]]}, "merge 0 is [97, 98], expected three token ids"),
    "merge not a list": ({**GOOD_BPE, "merges": ["ab"]}, "merge 0 is 'ab', expected three token ids"),
    "merge of floats": ({**GOOD_BPE, "merges": [[97.0, 98, 256]]}, "expected three token ids"),
    "merge of booleans": ({**GOOD_BPE, "merges": [[True, False, 256]]}, "expected three token ids"),
    "empty special token": ({**GOOD_BPE, "special_tokens": [""]}, "special_tokens must be non-empty strings"),
    "special token not a string": ({**GOOD_BPE, "special_tokens": [7]}, "special_tokens must be non-empty strings"),
}


def assert_one_line_error_naming(err: pytest.ExceptionInfo, path: Path, problem: str) -> None:
    """The error is a ValueError whose message is one line naming the file and the problem, with no chained
    traceback from inside the tokenizer."""
    message = str(err.value)
    assert isinstance(err.value, ValueError) and str(path) in message and problem in message, message
    assert "\n" not in message
    assert err.value.__cause__ is None and (err.value.__suppress_context__ or err.value.__context__ is None)


@pytest.mark.parametrize("case", list(BAD_BPE_DOCUMENTS))
@pytest.mark.parametrize("load", [load_tokenizer, BPETokenizer.load], ids=["load_tokenizer", "BPETokenizer.load"])
def test_damaged_bpe_file_is_one_clear_error(tmp_path: Path, case: str, load) -> None:
    document, problem = BAD_BPE_DOCUMENTS[case]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(TokenizerFileError) as err:
        load(path)
    assert_one_line_error_naming(err, path, problem)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"", "not valid JSON"),
        (b"42", "holds a JSON number"),
    ],
)
def test_unreadable_tokenizer_file_is_one_clear_error(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_bytes(content)
    for load in (load_tokenizer, BPETokenizer.load, CharTokenizer.load):
        with pytest.raises(TokenizerFileError) as err:
            load(path)
        assert_one_line_error_naming(err, path, problem)


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"chars": ["a", "b"]}, '"chars" is a JSON array, expected a JSON string'),
        ({"special_tokens": None}, '"special_tokens" is a JSON null, expected a JSON array'),
    ],
)
def test_damaged_char_file_is_one_clear_error(tmp_path: Path, change: dict, problem: str) -> None:
    path = tmp_path / "chars.json"
    path.write_text(json.dumps({**CharTokenizer("ab").to_dict(), **change}), encoding="utf-8")
    for load in (load_tokenizer, CharTokenizer.load):
        with pytest.raises(TokenizerFileError) as err:
            load(path)
        assert_one_line_error_naming(err, path, problem)


def test_good_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(GOOD_BPE), encoding="utf-8")
    assert load_tokenizer(path).encode("abc abd") == [257, 32, 256, 100]
