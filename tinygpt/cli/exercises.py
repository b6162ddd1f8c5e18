"""Build verified exercises: short requests in words, each followed by a body that does exactly that.

`tinygpt exercises`: the options; how exercises are drawn, checked and written is `tinygpt.data.exercises.build`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from tinygpt.cli import ArgumentParser
from tinygpt.data.exercises.build import NGRAM, OUTPUT_FILES, ExerciseError, build, evaluation_sets, overlaps
from tinygpt.outputs import OutputError, atomic_directory


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt exercises", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/exercises"), help="output folder")
    parser.add_argument("--train", type=int, default=120_000, help="exercises in train.jsonl")
    parser.add_argument("--val", type=int, default=2_000, help="exercises in val.jsonl (held out)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files, byte for byte")
    parser.add_argument("--max-per-shape", type=int, default=4, help="exercises kept per near-duplicate shape")
    args = parser.parse_args(argv)
    for option in ("train", "val", "max_per_shape"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    forbidden, grams = evaluation_sets()
    report: Counter = Counter()
    seen: set[str] = set()
    shapes: Counter = Counter()
    splits = {"val": build(args.val, rng, seen, shapes, args.max_per_shape, forbidden, grams, report)}
    splits["train"] = build(args.train, rng, seen, shapes, args.max_per_shape, forbidden, grams, report)
    try:
        for split, exercises in splits.items():
            found = overlaps(exercises, grams)
            if found:
                raise ExerciseError(f"{len(found)} {split} exercises share a {NGRAM}-gram with the task suite or "
                                    f"HumanEval (first: {found[0]}); nothing written")
        summary = {"seed": args.seed, "drawn": report.pop("drawn"), "kept": {s: len(e) for s, e in splits.items()},
                   "dropped": dict(sorted(report.items())), "ngram_check": f"{NGRAM}-grams of words, 0 overlaps",
                   "skills": dict(Counter(e["skill"] for e in splits["train"]).most_common()),
                   "styles": dict(Counter(e["style"] for e in splits["train"]).most_common())}
        with atomic_directory(args.out, "--out", OUTPUT_FILES, "exercise set") as staging:
            for split, exercises in splits.items():
                with open(staging / f"{split}.jsonl", "w", encoding="utf-8") as file:
                    file.writelines(json.dumps(e, sort_keys=True) + "\n" for e in exercises)
            (staging / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    except (ExerciseError, OutputError) as err:
        print(f"exercises: error: {err}", file=sys.stderr)
        return 1 if isinstance(err, ExerciseError) else 2
    print(json.dumps(summary, indent=2))
    for split in ("train", "val"):
        if len(splits[split]) < getattr(args, split):
            print(f"exercises: note: only {len(splits[split])} distinct {split} exercises", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
