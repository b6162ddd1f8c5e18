"""Build verified exercises: short requests in words, each followed by a body that does exactly that.

    tinygpt exercises --out data/exercises --train 120000 --val 2000 --seed 0       # training exercises (seen words)
    tinygpt exercises --unseen 300 --seed 0 --out tinygpt/tasks/unseen.jsonl.gz  # the unseen-words set

`tinygpt exercises`: the options; how exercises are drawn, checked and written is `tinygpt.data.exercises.build`
(and `.unseen` for the evaluation set).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import Counter
from pathlib import Path

from tinygpt.cli import ArgumentParser
from tinygpt.data.exercises.build import (
    NGRAM,
    OUTPUT_FILES,
    ExerciseError,
    build,
    evaluation_sets,
    normalized,
    overlaps,
)
from tinygpt.data.exercises.sentences import request_sentences
from tinygpt.data.exercises.unseen import build_unseen, task_lines
from tinygpt.outputs import OutputError, atomic_directory, atomic_write_bytes, atomic_write_text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt exercises", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/exercises"),
                        help="output folder (with --unseen: the task file to write)")
    parser.add_argument("--train", type=int, default=120_000, help="exercises in train.jsonl")
    parser.add_argument("--val", type=int, default=2_000, help="exercises in val.jsonl (held out)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files, byte for byte")
    parser.add_argument("--max-per-shape", type=int, default=4, help="exercises kept per near-duplicate shape")
    parser.add_argument("--unseen", type=int, metavar="N", help="instead: write the unseen-words evaluation set of N "
                        "tasks, in words training never sees, to the file --out")
    args = parser.parse_args(argv)
    if args.unseen is not None and args.unseen < 1:
        parser.error(f"--unseen must be at least 1, got {args.unseen}")
    for option in ("train", "val", "max_per_shape"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    try:
        return write_unseen(args, rng) if args.unseen else write_exercises(args, rng)
    except (ExerciseError, OutputError, OSError) as err:
        print(f"exercises: error: {err}", file=sys.stderr)
        return 2 if isinstance(err, OutputError) else 1


def write_unseen(args: argparse.Namespace, rng: random.Random) -> int:
    evaluation = evaluation_sets(with_unseen=False)
    tasks = build_unseen(args.unseen, rng, evaluation.names)
    text = task_lines(tasks)
    if args.out.suffix == ".gz":  # as HumanEval ships its problems; mtime 0: the same bytes from the same seed
        atomic_write_bytes(args.out, gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        atomic_write_text(args.out, text)
    styles = Counter(task["task_id"].split("/")[1] for task in tasks)
    print(json.dumps({"seed": args.seed, "tasks": len(tasks), "styles": dict(styles),
                      "skills": dict(Counter(task["skill"] for task in tasks).most_common())}, indent=2))
    return 0


def write_exercises(args: argparse.Namespace, rng: random.Random) -> int:
    evaluation = evaluation_sets()
    report: Counter = Counter()
    produced: Counter = Counter()
    seen: set[str] = set()
    shapes: Counter = Counter()
    splits = {"val": build(args.val, rng, seen, shapes, args.max_per_shape, evaluation, report, produced)}
    splits["train"] = build(args.train, rng, seen, shapes, args.max_per_shape, evaluation, report, produced)
    for split, exercises in splits.items():
        found = overlaps(exercises, evaluation)
        if found:
            raise ExerciseError(f"{len(found)} {split} exercises share a {NGRAM}-gram or a request sentence with an "
                                f"evaluation task (first: {found[0]}); nothing written")
    drawn = report.pop("drawn")
    every = [e for exercises in splits.values() for e in exercises]
    summary = {"seed": args.seed, "drawn": drawn, "kept": {s: len(e) for s, e in splits.items()},
               "dropped": dict(sorted(report.items())),
               "exact_duplicate_share": round(report["exact duplicate"] / max(drawn, 1), 4),
               "distinct_functions": len(seen),
               "distinct_bodies": len({normalized(e["completion"]) for e in every}),
               "distinct_requests": len({normalized_request(e) for e in every}),
               "distinct_request_sentences": len(set().union(*(request_sentences(e["request"], e["params"])
                                                               for e in every))),
               "type_hinted_prompts": sum(") -> " in e["prompt"] for e in every),
               "ngram_check": f"{NGRAM}-grams of words, 0 overlaps",
               "sentence_check": f"request sentences of {len(evaluation.sentences)} evaluation sentences, 0 overlaps",
               "evaluation_tasks_whose_sentence_was_drawn": dict(sorted(produced.items())),
               "skills": dict(Counter(e["skill"] for e in splits["train"]).most_common()),
               "styles": dict(Counter(e["style"] for e in splits["train"]).most_common())}
    with atomic_directory(args.out, "--out", OUTPUT_FILES, "exercise set") as staging:
        for split, exercises in splits.items():
            with open(staging / f"{split}.jsonl", "w", encoding="utf-8") as file:
                file.writelines(json.dumps(e, sort_keys=True) + "\n" for e in exercises)
        (staging / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    for split in ("train", "val"):
        if len(splits[split]) < getattr(args, split):
            print(f"exercises: note: only {len(splits[split])} distinct {split} exercises", file=sys.stderr)
    return 0


def normalized_request(exercise: dict) -> str:
    return " ".join(exercise["request"].lower().split())


if __name__ == "__main__":
    sys.exit(main())
