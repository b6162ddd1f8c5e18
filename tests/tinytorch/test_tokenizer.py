"""Tokenizers: exact round trips on any text (fixed cases and hypothesis), the incremental BPE trainer against a naive
one, compression on code, JSON save/load, and parity of the Hugging Face export with `tokenizers` and `transformers`.
"""

from __future__ import annotations

import json
import sysconfig
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.text import END_OF_TEXT, BPETokenizer, CharTokenizer, PreTokenizer, load_tokenizer
from tinytorch.text.bpe_trainer import learn_merges

STDLIB = Path(sysconfig.get_paths()["stdlib"])
TRAIN_MODULES = ["textwrap.py", "string.py", "shlex.py"]
HELD_OUT_MODULES = ["bisect.py", "heapq.py", "json/decoder.py"]

FIXED_CASES = [
    "",
    "x",
    "def f(x):\n    return x + 1\n",
    "if a:\n\tif b:\n\t\tpass\n",
    "line one\r\nline two\r\n\r\n    indented\r\n",
    "nul \x00 byte and \x00\x00 more",
    "emoji 🐍🎉 and 👩‍💻 (a ZWJ sequence)",
    "中文字符 and 日本語 and 한국어",
    "naïve café — “quotes” ß ﬁ",
    "trailing spaces   \n   \n",
    "   ",
    "\n\n\n",
    f"first file{END_OF_TEXT}second file",
    f"{END_OF_TEXT}{END_OF_TEXT}",
    "<|endoftext",
    "x = '\\u00e9'  # escaped, not an é",
    "\u2028\u2029\x0b\x0c\x1c\x85\xa0 unusual whitespace",
]


@pytest.fixture(scope="module")
def code_corpus() -> list[str]:
    return [(STDLIB / name).read_text(encoding="utf-8") for name in TRAIN_MODULES]


@pytest.fixture(scope="module")
def bpe(code_corpus: list[str]) -> BPETokenizer:
    return BPETokenizer.train(code_corpus, vocab_size=600)


@pytest.fixture(scope="module")
def char_tokenizer(code_corpus: list[str]) -> CharTokenizer:
    return CharTokenizer.train(code_corpus)


# ---- round trips ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", FIXED_CASES)
def test_bpe_round_trip_fixed_cases(bpe: BPETokenizer, text: str) -> None:
    assert bpe.decode(bpe.encode(text)) == text
    assert bpe.decode(bpe.encode(text, allow_special=False)) == text


@pytest.mark.parametrize("text", FIXED_CASES)
def test_char_round_trip_fixed_cases(text: str) -> None:
    tokenizer = CharTokenizer.train(FIXED_CASES)
    assert tokenizer.decode(tokenizer.encode(text)) == text


@settings(deadline=None)
@given(st.text())
def test_bpe_round_trip_any_text(bpe: BPETokenizer, text: str) -> None:
    assert bpe.decode(bpe.encode(text)) == text


@settings(deadline=None)
@given(st.lists(st.sampled_from(["    ", "\n", "\r\n", "\t", " ", "def", "x", END_OF_TEXT, "é", "🐍", "\x00"])))
def test_bpe_round_trip_code_like_text(bpe: BPETokenizer, pieces: list[str]) -> None:
    text = "".join(pieces)
    assert bpe.decode(bpe.encode(text)) == text


@given(st.text())
def test_pretokenizer_loses_nothing(text: str) -> None:
    assert "".join(PreTokenizer()(text)) == text


@settings(deadline=None)
@given(st.data())
def test_char_round_trip_on_known_characters(char_tokenizer: CharTokenizer, data: st.DataObject) -> None:
    text = data.draw(st.text(alphabet=st.sampled_from(char_tokenizer.chars)))
    assert char_tokenizer.decode(char_tokenizer.encode(text)) == text


@given(st.text())
def test_char_unknown_characters_become_replacement_character(text: str) -> None:
    tokenizer = CharTokenizer("abc \n")
    expected = "".join(char if char in "abc \n" else "\N{REPLACEMENT CHARACTER}" for char in text)
    assert tokenizer.decode(tokenizer.encode(text, allow_special=False)) == expected


def test_char_unknown_character_has_the_unk_id() -> None:
    tokenizer = CharTokenizer("ab")
    assert tokenizer.encode("a?b") == [tokenizer.encode("a")[0], CharTokenizer.unk_id, tokenizer.encode("b")[0]]


# ---- special tokens and errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make_tokenizer", [lambda bpe: bpe, lambda bpe: CharTokenizer.train(["ab"])])
def test_special_tokens_are_single_ids_unless_disallowed(bpe: BPETokenizer, make_tokenizer) -> None:
    tokenizer = make_tokenizer(bpe)
    eot_id = tokenizer.special_tokens[END_OF_TEXT]
    ids = tokenizer.encode(f"a{END_OF_TEXT}b")
    assert ids.count(eot_id) == 1 and len(ids) == 3
    assert eot_id not in tokenizer.encode(f"a{END_OF_TEXT}b", allow_special=False)


def test_bpe_ids_are_bytes_then_merges_then_special_tokens(bpe: BPETokenizer) -> None:
    assert bpe.vocab_size == 600
    assert bpe.eot_id == 599
    assert bpe.token_bytes[:256] == [bytes([byte]) for byte in range(256)]
    assert len(set(bpe.token_bytes)) == len(bpe.token_bytes)


def test_bad_arguments_raise_clear_errors(bpe: BPETokenizer) -> None:
    with pytest.raises(ValueError, match="vocab_size must be at least 257"):
        BPETokenizer.train(["abc"], vocab_size=100)
    with pytest.raises(ValueError, match="token id 600 is out of range"):
        bpe.decode([600])
    with pytest.raises(ValueError, match="out of range"):
        CharTokenizer("ab").decode([99])


# ---- training ------------------------------------------------------------------------------------------------------


def naive_learn_merges(word_counts: dict[str, int], n_tokens: int) -> list[tuple[int, int, int]]:
    """The textbook algorithm: recount every pair after every merge. Same tie-break (smallest ids), same id reuse."""
    words = {tuple(word.encode("utf-8")): count for word, count in word_counts.items()}
    token_bytes = [bytes([byte]) for byte in range(256)]
    merges = []
    while len(token_bytes) < n_tokens:
        pair_counts: Counter = Counter()
        for symbols, count in words.items():
            for pair in zip(symbols, symbols[1:]):
                pair_counts[pair] += count
        if not pair_counts or max(pair_counts.values()) < 2:
            break
        best = min(pair_counts, key=lambda pair: (-pair_counts[pair], pair))
        spelled = token_bytes[best[0]] + token_bytes[best[1]]
        if spelled in token_bytes:
            merged = token_bytes.index(spelled)
        else:
            merged = len(token_bytes)
            token_bytes.append(spelled)
        merges.append((*best, merged))
        merged_words: Counter = Counter()
        for symbols, count in words.items():
            out, i = [], 0
            while i < len(symbols):
                if symbols[i : i + 2] == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged_words[tuple(out)] += count
        words = merged_words
    return merges


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(alphabet="abcab ", min_size=1, max_size=12), st.integers(1, 5), max_size=25))
def test_incremental_trainer_matches_naive_recount(word_counts: dict[str, int]) -> None:
    merges, _ = learn_merges(word_counts, n_tokens=290)
    assert merges == naive_learn_merges(word_counts, n_tokens=290)


def test_training_is_deterministic(code_corpus: list[str], bpe: BPETokenizer) -> None:
    assert BPETokenizer.train(code_corpus, vocab_size=600).merges == bpe.merges


def test_merges_compress_code(bpe: BPETokenizer) -> None:
    for word in ["    ", "\n    ", "\n        ", "\n\n    ", "self", " self", "def", "return", "):", " ="]:
        assert len(bpe.encode(word)) == 1, f"{word!r} -> {[bpe.token_text(i) for i in bpe.encode(word)]}"
    held_out = "".join((STDLIB / name).read_text(encoding="utf-8") for name in HELD_OUT_MODULES)
    assert len(held_out.encode("utf-8")) / len(bpe.encode(held_out)) > 1.8  # ~2 bytes/token from 35 KB of training


def test_explain_and_show_merges_are_readable(bpe: BPETokenizer) -> None:
    assert "' self'" in bpe.explain("x = self")
    assert bpe.show_merges(0, 3).count("\n") == 2


# ---- saving and loading --------------------------------------------------------------------------------------------


def test_bpe_save_load_identity(bpe: BPETokenizer, tmp_path: Path) -> None:
    bpe.save(tmp_path / "tokenizer.json")
    loaded = BPETokenizer.load(tmp_path / "tokenizer.json")
    assert loaded.to_dict() == bpe.to_dict()
    assert isinstance(load_tokenizer(tmp_path / "tokenizer.json"), BPETokenizer)
    text = "".join(FIXED_CASES)
    assert loaded.encode(text) == bpe.encode(text)


def test_char_save_load_identity(char_tokenizer: CharTokenizer, tmp_path: Path) -> None:
    char_tokenizer.save(tmp_path / "chars.json")
    loaded = load_tokenizer(tmp_path / "chars.json")
    assert isinstance(loaded, CharTokenizer) and loaded.to_dict() == char_tokenizer.to_dict()


def test_load_rejects_foreign_json(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a tinytorch tokenizer"):
        load_tokenizer(tmp_path / "other.json")
    with pytest.raises(ValueError, match="not a tinytorch.text.BPETokenizer"):
        BPETokenizer.load(tmp_path / "other.json")


# ---- Hugging Face export -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_dir(bpe: BPETokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hf")
    bpe.save_hf(directory)
    return directory


@pytest.fixture(scope="module")
def hf_tokenizer(hf_dir: Path):
    tokenizers = pytest.importorskip("tokenizers")
    return tokenizers.Tokenizer.from_file(str(hf_dir / "tokenizer.json"))


def held_out_texts() -> list[str]:
    return [(STDLIB / name).read_text(encoding="utf-8") for name in HELD_OUT_MODULES] + FIXED_CASES


def test_hf_tokenizers_gives_our_ids(bpe: BPETokenizer, hf_tokenizer) -> None:
    for text in held_out_texts():
        ids = hf_tokenizer.encode(text).ids
        assert ids == bpe.encode(text)
        assert hf_tokenizer.decode(ids, skip_special_tokens=False) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])))
def test_hf_tokenizers_gives_our_ids_on_any_text(bpe: BPETokenizer, hf_tokenizer, text: str) -> None:
    # the Basic Multilingual Plane only: the Rust regex engine may know fewer of the newest Unicode letters
    assert hf_tokenizer.encode(text).ids == bpe.encode(text)


def test_hf_parity_when_two_merges_spell_the_same_token(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    a, b, c = b"abc"
    merges = [(b, c, 256), (a, b, 257), (a, 256, 258), (257, c, 258)]  # 'a'+'bc' and 'ab'+'c' are both 'abc' (258)
    ours = BPETokenizer(merges)
    ours.save_hf(tmp_path)
    theirs = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for text in ["abc", "abcabc", "aabcc", "ab bc xabcx", "cabcab"]:
        assert theirs.encode(text).ids == ours.encode(text)
        assert ours.decode(ours.encode(text)) == text


def test_transformers_auto_tokenizer_gives_our_ids(bpe: BPETokenizer, hf_dir: Path) -> None:
    transformers = pytest.importorskip("transformers")
    auto = transformers.AutoTokenizer.from_pretrained(str(hf_dir))
    assert auto.eos_token == END_OF_TEXT and auto.eos_token_id == bpe.eot_id
    for text in held_out_texts():
        ids = auto(text)["input_ids"]
        assert ids == bpe.encode(text)
        assert auto.decode(ids) == text
