"""Training logs a person can read: every evaluation as JSON and CSV, every step's loss as CSV, and the loss
curve (train and validation) as a PNG. All files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from .outputs import atomic_write_bytes, atomic_write_text

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
