"""Our byte-level BPE against Hugging Face `tokenizers`' ByteLevel BPE, trained on the same Python source.

    python benchmarks/bench_tokenizer.py [--source DIR] [--vocab-size 4096] [--val-fraction 0.05]

Both learn a vocabulary of the same size (256 bytes + merges + `<|endoftext|>`) from the train split that
`tinygpt prepare` would make; the table shows training time, the time to encode the whole train split, and the
compression (UTF-8 bytes per token) on the held-out split. A third row runs our tokenizer exported to
`tokenizer.json` inside `tokenizers`, and checks that it produces our ids on every held-out file.
`tokenizers` encodes a batch on all cores; ours runs on one.
"""

from __future__ import annotations

import argparse
import sysconfig
import tempfile
import time
from pathlib import Path

from tokenizers import ByteLevelBPETokenizer, Tokenizer

from tinygpt.prepare import is_held_out, read_sources
from tinytorch.text import END_OF_TEXT, BPETokenizer


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--val-fraction", type=float, default=0.05)
    args = parser.parse_args()

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
