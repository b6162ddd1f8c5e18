"""The finishing tries side by side: held-out figures at each evaluation of each run's log.csv, as a Markdown table.

    python benchmarks/results/finish_tries/summarize.py runs/try-a runs/try-b runs/try-d
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

COLUMNS = {"val_bpb_stdlib": "stdlib bpb", "val_bpb_thealgorithms": "thealgorithms bpb",
           "val_body_loss_exercises": "exercise body loss", "val_body_loss_mined": "mined body loss",
           "train_s": "training s"}


def main(runs: list[str]) -> None:
    print("| try | step | " + " | ".join(COLUMNS.values()) + " |")
    print("|---|---:|" + "---:|" * len(COLUMNS))
    for run in runs:
        for row in csv.DictReader((Path(run) / "log.csv").open(encoding="utf-8")):
            values = [f"{float(row[key]):.0f}" if key == "train_s" else f"{float(row[key]):.3f}" for key in COLUMNS]
            print(f"| {Path(run).name} | {row['step']} | " + " | ".join(values) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
