"""Real requests as exercises: functions whose docstring says what they do, and MBPP's train and validation problems.

    tinygpt real-requests --source ../shared/corpora/thealgorithms-python ... --stdlib --mbpp --out data/real

`tinygpt real-requests`: the options, the split and the output; what is kept and why is
`tinygpt.data.exercises.real`. A function goes to val.jsonl when its file is held out by `tinygpt prepare`'s rule
(the hash of its path relative to its source, `--val-fraction`); MBPP's validation split goes to val.jsonl, its
train split to train.jsonl. Records are processed source by source (in the order given, then the standard library,
then MBPP), files in path order; an exact duplicate of a record kept before is dropped; each split is then shuffled
with `--seed`, so the same inputs and seed give the same files byte for byte. `report.json` says how many functions
were found and kept (per split and per source), why the rest were dropped, how many distinct request sentences were
kept, and shows a few requests. The build fails (exit 1, nothing written) if a kept record overlaps an evaluation set.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from tinygpt.cli import ArgumentParser
from tinygpt.data.corpus import is_held_out, read_sources, stdlib_path
from tinygpt.data.exercises.build import NGRAM, ExerciseError, evaluation_sets, normalized
from tinygpt.data.exercises.real import (
    MBPP,
    MBPP_SPLITS,
    OUTPUT_FILES,
    STDLIB,
    distinct_sentences,
    final_overlaps,
    function_records,
    is_stdlib_file,
    mbpp_records,
)
from tinygpt.outputs import OutputError, atomic_directory
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, check_isolation
from tinygpt.tasks import TaskFileError, mbpp

EXAMPLES = 8
MAX_FILE_BYTES = 1_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(prog="tinygpt real-requests", description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", type=Path, metavar="DIR",
                        help="a folder of .py files (repeatable)")
    parser.add_argument("--stdlib", action="store_true", help="also this Python's standard library (no tests, no GUI)")
    parser.add_argument("--mbpp", action="store_true", help="also MBPP's train and validation problems that pass")
    parser.add_argument("--mbpp-problems", type=Path, metavar="FILE",
                        help=f"MBPP's file (default: {mbpp.DEFAULT_PROBLEMS})")
    parser.add_argument("--out", type=Path, default=Path("data/real"), help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="orders the records and picks the report's examples")
    parser.add_argument("--max-body-lines", type=int, default=25, help="longest body kept, in lines")
    parser.add_argument("--val-fraction", type=float, default=0.05, help="as `tinygpt prepare`: held-out files")
    parser.add_argument("--allow-unconfined", action="store_true",
                        help="run MBPP's references even where bubblewrap is missing (no isolation)")
    args = parser.parse_args(argv)
    args.source = args.source or []
    if not (args.source or args.stdlib or args.mbpp):
        parser.error("nothing to read: pass --source DIR, --stdlib or --mbpp")
    for folder in args.source:
        if not folder.is_dir():
            parser.error(f"--source {folder} is not a directory")
    names = [folder.name for folder in args.source]
    repeated = sorted({name for name in names if names.count(name) > 1 or name in (STDLIB, MBPP)})
    if repeated:
        parser.error(f"--source folders need distinct names other than {STDLIB} and {MBPP}; got {', '.join(repeated)}")
    if args.mbpp_problems is not None and not args.mbpp:
        parser.error("--mbpp-problems needs --mbpp")
    if args.max_body_lines < 1:
        parser.error(f"--max-body-lines must be at least 1, got {args.max_body_lines}")
    if not 0 < args.val_fraction < 1:
        parser.error(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
    if args.mbpp:
        try:
            args.problems = mbpp.load_problems(args.mbpp_problems)
            check_isolation(SandboxLimits(allow_unconfined=args.allow_unconfined))
        except TaskFileError as err:
            parser.error(str(err).replace("--problems", "--mbpp-problems"))
        except SandboxUnavailable as err:
            parser.error(f"{err} (or pass --allow-unconfined)")
    return args


def corpus_records(name: str, folder: Path, args: argparse.Namespace, report: dict) -> list[tuple[str, dict]]:
    """(split, record) for every function of one source that passes, in path order; its counts go to `report`."""
    files, _ = read_sources(folder, MAX_FILE_BYTES)
    if name == STDLIB:
        files = [source_file for source_file in files if is_stdlib_file(source_file.relative_path)]
    found: list[tuple[str, dict]] = []
    for source_file in files:
        records, skipped = function_records(name, source_file, args.max_body_lines)
        report[name].update(skipped)
        split = "val" if is_held_out(source_file.relative_path, args.val_fraction) else "train"
        found += [(split, record) for record in records]
    report[name]["files"] += len(files)
    return found


def gather(args: argparse.Namespace, report: dict) -> list[tuple[str, dict]]:
    """Every candidate record with its split, source after source."""
    candidates = []
    for folder in args.source:
        candidates += corpus_records(folder.name, folder, args, report)
    if args.stdlib:
        candidates += corpus_records(STDLIB, stdlib_path(), args, report)
    if args.mbpp:
        problems = [problem for split in MBPP_SPLITS for problem in mbpp.select_split(args.problems, split)]
        file_name = (args.mbpp_problems or mbpp.DEFAULT_PROBLEMS).name
        records, skipped = mbpp_records(sorted(problems, key=lambda problem: problem.task_id), file_name,
                                        SandboxLimits(allow_unconfined=args.allow_unconfined))
        report[MBPP].update(skipped)
        candidates += [("val" if record["mbpp_split"] == "validation" else "train", record) for record in records]
    return candidates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    evaluation = evaluation_sets()
    report: dict[str, Counter] = {name: Counter() for name in
                                  [f.name for f in args.source] + [STDLIB] * args.stdlib + [MBPP] * args.mbpp}
    splits: dict[str, list[dict]] = {"train": [], "val": []}
    seen: set[str] = set()
    for split, record in gather(args, report):
        key = normalized(record["prompt"] + record["completion"])
        reason = evaluation.reason(record) or ("exact duplicate" if key in seen else "")
        seen.add(key)
        if reason:
            report[record["source"]][reason] += 1
        else:
            splits[split].append(record)
    rng = random.Random(args.seed)
    for records in splits.values():
        rng.shuffle(records)
    try:
        for split, records in splits.items():
            found = final_overlaps(records, evaluation)
            if found:
                raise ExerciseError(f"{len(found)} {split} records overlap an evaluation set (first: {found[0]}); "
                                    f"nothing written")
        summary = summarize(args, report, splits, evaluation, rng)
        with atomic_directory(args.out, "--out", OUTPUT_FILES, "exercise set") as staging:
            for split, records in splits.items():
                with open(staging / f"{split}.jsonl", "w", encoding="utf-8") as file:
                    file.writelines(json.dumps(record, sort_keys=True) + "\n" for record in records)
            (staging / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    except (ExerciseError, OutputError) as err:
        print(f"real-requests: error: {err}", file=sys.stderr)
        return 2 if isinstance(err, OutputError) else 1
    print(json.dumps(summary, indent=2))
    return 0


def summarize(args: argparse.Namespace, report: dict[str, Counter], splits: dict[str, list[dict]], evaluation,
              rng: random.Random) -> dict:
    kept = [record for records in splits.values() for record in records]
    dropped: Counter = Counter()
    for counts in report.values():
        dropped.update({reason: n for reason, n in counts.items() if reason not in ("found", "files")})
    examples = rng.sample(kept, min(EXAMPLES, len(kept)))
    return {"sources": [str(folder) for folder in args.source] + [STDLIB] * args.stdlib + [MBPP] * args.mbpp,
            "seed": args.seed, "val_fraction": args.val_fraction, "max_body_lines": args.max_body_lines,
            "found": {name: counts["found"] for name, counts in report.items()},
            "kept": {split: len(records) for split, records in splits.items()},
            "kept_by_source": {name: {split: sum(r["source"] == name for r in records)
                                      for split, records in splits.items()} for name in report},
            "dropped": dict(sorted(dropped.items())),
            "dropped_by_source": {name: dict(sorted((reason, n) for reason, n in counts.items()
                                                    if reason not in ("found", "files"))) for name, counts in
                                  report.items()},
            "files_read": {name: counts["files"] for name, counts in report.items() if name != MBPP},
            "distinct_request_sentences": distinct_sentences(kept),
            "distinct_requests": len({" ".join(r["request"].lower().split()) for r in kept}),
            "ngram_check": f"{NGRAM}-grams of words, 0 overlaps",
            "sentence_check": f"request sentences of {len(evaluation.sentences)} evaluation sentences, 0 overlaps",
            "examples": [{"source": r["source"], "name": r["name"], "request": r["request"]} for r in examples]}


if __name__ == "__main__":
    sys.exit(main())
