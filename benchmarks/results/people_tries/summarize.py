"""The tries' table: held-out figures at the last step (log.csv) and the greedy passes of each task set.

    python benchmarks/results/people_tries/summarize.py runs/try-real0 runs/try-real0.1 ... > summary.md
"""

import csv
import json
import sys
from pathlib import Path

SETS = (("unseen", "unseen-words set"), ("mbpp_validation", "MBPP validation"), ("suite", "suite"))
LOSSES = (("val_bpb_stdlib", "stdlib bpb"), ("val_body_loss_exercises", "exercise body loss"),
          ("val_body_loss_real", "real-request body loss"), ("val_body_loss_mined", "mined body loss"))


def passes(run: Path, name: str) -> str:
    summary = json.loads((run / f"{name}.json").read_text(encoding="utf-8"))["summary"]
    return f"{summary['passed']}/{summary['attempts']}"


def main(runs: list[str]) -> None:
    print("| try | " + " | ".join(label for _, label in SETS + LOSSES) + " | training s |")
    print("|---|" + "---:|" * (len(SETS) + len(LOSSES) + 1))
    for run in map(Path, runs):
        with open(run / "log.csv", encoding="utf-8") as handle:
            last = list(csv.DictReader(handle))[-1]
        losses = [f"{float(last[key]):.3f}" if last.get(key) else "-" for key, _ in LOSSES]
        cells = [passes(run, name) for name, _ in SETS] + losses + [f"{float(last['train_s']):.0f}"]
        print(f"| {run.name} (step {last['step']}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
