"""Our byte-level BPE against Hugging Face `tokenizers`' ByteLevel BPE, trained on the same Python source.

    python benchmarks/bench_tokenizer.py [--source DIR] [--vocab-size 4096] [--val-fraction 0.05]

Both learn a vocabulary of the same size (256 bytes + merges + `<|endoftext|>`) from the train split that
`tinygpt prepare` would make; the table shows training time, the time to encode the whole train split, and the
compression (UTF-8 bytes per token) on the held-out split. A third row runs our tokenizer exported to
`tokenizer.json` inside `tokenizers`, and checks that it produces our ids on every held-out file.
`tokenizers` encodes a batch on all cores; ours runs on one.

    python benchmarks/bench_tokenizer.py --long-words [--tokenizer models/tinygpt-stdlib/tokenizer.json]

times instead the inputs where BPE's merge loop, not the word cache, sets the cost: one pre-token of 10,000 spaces, a
50,000-character line, a 20 KB string literal, and for scale 1 MB of the standard library. Each is encoded by a
freshly loaded tokenizer (an empty word cache) and by the same tokenizer exported to `tokenizers`, and the ids are
compared. Merging a word of n bytes costs O(n log n); before the heap-based merge it cost O(n²), and 10,000 spaces
took 10 s.
"""

from __future__ import annotations

import argparse
import random
import sysconfig
import tempfile
import time
from pathlib import Path

from tokenizers import ByteLevelBPETokenizer, Tokenizer

from tinygpt.data.prepare import is_held_out, read_sources
from tinytorch.text import END_OF_TEXT, BPETokenizer


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


SHIPPED_TOKENIZER = Path(__file__).resolve().parents[1] / "models" / "tinygpt-stdlib" / "tokenizer.json"


def long_word_texts(source: Path) -> dict[str, str]:
    """The long-word cases, by name; the hex digits are random but fixed (seed 0)."""
    hex_digits = "".join(random.Random(0).choices("0123456789abcdef", k=20_000))
    stdlib_texts, size = [], 0
    for path in sorted(source.rglob("*.py")):
        if size >= 1_000_000:
            break
        text = path.read_text(encoding="utf-8", errors="replace")
        stdlib_texts.append(text)
        size += len(text.encode("utf-8"))
    return {
        "10,000 spaces": " " * 10_000,
        "50,000-character line ('#' + '=' * 49,999)": "#" + "=" * 49_999,
        "20 KB string literal (hex digits)": f'BLOB = "{hex_digits}"\n',
        f"{size / 1e6:.1f} MB of {source.name}": "".join(stdlib_texts),
    }


def bench_long_words(source: Path, tokenizer_path: Path) -> None:
    with tempfile.TemporaryDirectory() as directory:
        BPETokenizer.load(tokenizer_path).save_hf(directory)
        exported = Tokenizer.from_file(str(Path(directory) / "tokenizer.json"))
    print(f"tokenizer {tokenizer_path}, each case on an empty word cache\n")
    print(f"{'case':<44} {'bytes':>10} {'ours s':>8} {'tokenizers s':>13} {'tokens':>9} {'same ids':>9}")
    for name, text in long_word_texts(source).items():
        ours = BPETokenizer.load(tokenizer_path)
        ids, ours_s = timed(ours.encode, text)
        theirs, theirs_s = timed(exported.encode, text)
        same = "yes" if theirs.ids == ids else "NO"
        print(f"{name:<44} {len(text.encode('utf-8')):>10,} {ours_s:>8.3f} {theirs_s:>13.3f} {len(ids):>9,} {same:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--val-fraction", type=float, default=0.05)
    parser.add_argument("--long-words", action="store_true", help="time long words instead of training")
    parser.add_argument("--tokenizer", type=Path, default=SHIPPED_TOKENIZER, help="for --long-words")
    args = parser.parse_args()
    if args.long_words:
        bench_long_words(args.source, args.tokenizer)
        return

    files, _ = read_sources(args.source, max_file_bytes=1_000_000)
    train = [f.text for f in files if not is_held_out(f.relative_path, args.val_fraction)]
    held_out = [f.text for f in files if is_held_out(f.relative_path, args.val_fraction)]
    held_out_bytes = sum(len(text.encode("utf-8")) for text in held_out)
    train_mb = sum(len(text.encode("utf-8")) for text in train) / 1e6
    print(f"{len(train)} train files ({train_mb:.1f} MB), {len(held_out)} held-out files, vocab {args.vocab_size}\n")

    ours, ours_train_s = timed(BPETokenizer.train, train, args.vocab_size)
    ours_train_ids, ours_encode_s = timed(ours.encode_batch, train)
    ours_held_out = ours.encode_batch(held_out)

    theirs = ByteLevelBPETokenizer()
    _, theirs_train_s = timed(
        theirs.train_from_iterator,
        train,
        vocab_size=args.vocab_size,
        min_frequency=2,
        special_tokens=[END_OF_TEXT],
        show_progress=False,
    )
    _, theirs_encode_s = timed(theirs.encode_batch, train)
    theirs_held_out = [encoding.ids for encoding in theirs.encode_batch(held_out)]

    with tempfile.TemporaryDirectory() as directory:
        ours.save_hf(directory)
        exported = Tokenizer.from_file(str(Path(directory) / "tokenizer.json"))
    _, exported_encode_s = timed(exported.encode_batch, train)
    exported_held_out = [encoding.ids for encoding in exported.encode_batch(held_out)]
    mismatches = sum(a != b for a, b in zip(exported_held_out, ours_held_out, strict=True))

    rows = [
        ("ours (tinytorch.text)", ours_train_s, ours_encode_s, ours_held_out),
        ("tokenizers ByteLevelBPE", theirs_train_s, theirs_encode_s, theirs_held_out),
        ("ours exported, run by tokenizers", float("nan"), exported_encode_s, exported_held_out),
    ]
    print(f"{'tokenizer':<34} {'train s':>8} {'encode train s':>15} {'held-out tokens':>16} {'bytes/token':>12}")
    for name, train_s, encode_s, held_out_ids in rows:
        tokens = sum(map(len, held_out_ids))
        print(f"{name:<34} {train_s:>8.1f} {encode_s:>15.1f} {tokens:>16,} {held_out_bytes / tokens:>12.3f}")
    print(f"\nexported tokenizer differs from ours on {mismatches} of {len(held_out)} held-out files")
    print(f"our train-split encoding: {sum(map(len, ours_train_ids)):,} tokens")


if __name__ == "__main__":
    main()
