"""Training logs a person can read: every evaluation as JSON and CSV, every step's loss as CSV, the loss curve
(train and validation) as a PNG, and the capability timeline as a PNG (what the model can do, step by step). All
files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from tinygpt.outputs import atomic_write_bytes, atomic_write_text

LOG_FILES = ("train_loss.csv", "log.json", "log.csv", "loss.png")


def _csv(rows: list[dict] | list[list], header: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[k] for k in header] if isinstance(row, dict) else row)
    return buffer.getvalue()


def write_logs(out_dir: str | Path, history: list[list], evals: list[dict]) -> None:
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "train_loss.csv", _csv(history, ["step", "loss", "lr"]))
    if evals:
        atomic_write_text(out_dir / "log.json", json.dumps(evals, indent=1))
        atomic_write_text(out_dir / "log.csv", _csv(evals, list(evals[0])))
    if history:
        atomic_write_bytes(out_dir / "loss.png", plot_loss_curve(history, evals))


def plot_loss_curve(history: list[list], evals: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([h[0] for h in history])
    losses = np.array([h[1] for h in history])
    window = max(1, len(losses) // 50)
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(steps, losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="train (per step)")
    ax.plot(steps[window - 1:], smooth, color="tab:blue", label=f"train (mean of {window})")
    if evals:
        ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "o-", color="tab:orange",
                label="validation (held-out files)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("TinyGPT training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if evals:
        last = evals[-1]
        ax.annotate(f"val bpb {last['val_bpb']:.3f}", xy=(last["step"], last["val_loss"]), xytext=(-80, 20),
                    textcoords="offset points")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def write_timeline(out_dir: str | Path, timeline: list[dict], evals: list[dict]) -> None:
    """OUT/timeline.jsonl (one record per line, see tinygpt.train.timeline) and OUT/timeline.png."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "timeline.jsonl", "".join(json.dumps(record) + "\n" for record in timeline))
    atomic_write_bytes(out_dir / "timeline.png", plot_timeline(timeline, evals))


def plot_timeline(timeline: list[dict], evals: list[dict]) -> bytes:
    """Two panels over training tokens: held-out bits per byte for each source (from the evaluations), and what the
    model writes (the timeline: fixed prompts that compile; the task suite's compiles, bodies and passes; the passes of
    the unseen-words set and MBPP's validation split, where the timeline recorded them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bpb_ax, skill_ax) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    if evals:
        millions = [e["tokens"] / 1e6 for e in evals]
        sources = [key for key in evals[0] if key.startswith("val_bpb_")]
        for key in sources:
            bpb_ax.plot(millions, [e.get(key) for e in evals], linewidth=1, label=key.removeprefix("val_bpb_"))
        bpb_ax.plot(millions, [e["val_bpb"] for e in evals], "k-", linewidth=2, label="all held-out")
        bpb_ax.legend(fontsize=8)
    bpb_ax.set(xlabel="training tokens (millions)", ylabel="bits per byte", title="held-out bits per byte")
    bpb_ax.grid(alpha=0.3)
    if timeline:
        millions = [record["tokens"] / 1e6 for record in timeline]
        # timelines recorded before `compile()` became the test say "parses" (ast.parse, a weaker test): label them so
        valid = "compiles" if "compiles" in timeline[0]["completions"][0] else "parses"
        prompts = [100 * sum(c[valid] for c in r["completions"]) / max(len(r["completions"]), 1) for r in timeline]
        skill_ax.plot(millions, prompts, "o-", color="tab:gray", label=f"fixed prompts that {valid.removesuffix('s')}")
        lines = ((valid, "suite", f"suite: {valid}", "tab:blue"), ("has_body", "suite", "suite: has a body",
                 "tab:green"), ("passed", "suite", "suite: passes its tests", "tab:red"),
                 ("passed", "unseen", "unseen-words set: passes", "tab:purple"),
                 ("passed", "mbpp_validation", "MBPP validation: passes", "tab:orange"))
        for key, task_set, label, color in lines:
            if all(task_set in record for record in timeline):
                shares = [100 * r[task_set][key] / max(r[task_set]["attempts"], 1) for r in timeline]
                skill_ax.plot(millions, shares, "o-", color=color, label=label)
        skill_ax.legend(fontsize=8)
    skill_ax.set(xlabel="training tokens (millions)", ylabel="% (greedy)", title="what the model writes",
                 ylim=(0, 100))
    skill_ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
