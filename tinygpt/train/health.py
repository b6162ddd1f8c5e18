"""Is a checkpoint healthy? Finite weights are not enough: a run whose learning rate is far too high writes finite
garbage (held-out loss 6.7e11, weights of size 3e16) for a few checkpoints before anything becomes NaN. So every
checkpoint a run saves is judged against the run's own history, and the last one judged healthy is kept beside the
latest (`healthy.safetensors`), where a diverging run cannot overwrite it.

A checkpoint is healthy when
- its held-out loss is at most `LOSS_RATIO` times the lowest the run has measured before (or, with no measurement
  yet, than the loss of guessing uniformly over the vocabulary, ln vocab_size), and
- the norm of all its weights together is at most `NORM_RATIO` times that of the last healthy checkpoint.
Both bounds are far outside what a learning run does between two checkpoints (its loss goes down, its weights grow
slowly), and far inside what a diverging one does.
"""

from __future__ import annotations

import math

import numpy as np

LOSS_RATIO = 1.5
NORM_RATIO = 10.0


def weight_norm(weights: dict[str, np.ndarray]) -> float:
    """The L2 norm of all the weights together (float64, so it never overflows on its way to a verdict)."""
    return math.sqrt(sum(float(np.square(array, dtype=np.float64).sum()) for array in weights.values()))


def best_loss(evals: list[dict], healthy: dict | None, before_step: int) -> float | None:
    """The lowest finite held-out loss the run measured before `before_step`, in its logs or at its last healthy
    checkpoint."""
    losses = [record.get("val_loss") for record in evals if record.get("step", before_step) < before_step]
    if healthy is not None:
        losses.append(healthy.get("val_loss"))
    finite = [loss for loss in losses if isinstance(loss, (int, float)) and math.isfinite(loss)]
    return min(finite, default=None)


def judge(val_loss: float, norm: float, evals: list[dict], healthy: dict | None, step: int,
          vocab_size: int) -> str | None:
    """None for a healthy checkpoint at `step`, else why it is not (a phrase for a log line)."""
    best = best_loss(evals, healthy, step)
    reference, against = (best, "the run's best") if best is not None else (math.log(vocab_size), "uniform guessing")
    if not math.isfinite(val_loss) or val_loss > LOSS_RATIO * reference:
        return f"held-out loss {val_loss:.4g} is more than {LOSS_RATIO}x {against} ({reference:.4g})"
    if healthy is not None and not norm <= NORM_RATIO * healthy["weight_norm"]:
        return (f"weight norm {norm:.4g} is more than {NORM_RATIO:g}x that of the healthy checkpoint of step "
                f"{healthy['step']} ({healthy['weight_norm']:.4g})")
    return None


def read_healthy(document: dict) -> dict | None:
    """The last healthy checkpoint's figures a checkpoint records (`{"step", "val_loss", "weight_norm"}`), or None
    for one that records none (written before health was judged, or malformed: the next checkpoint starts afresh)."""
    healthy = document.get("healthy")
    if not isinstance(healthy, dict):
        return None
    numbers = [healthy.get(key) for key in ("step", "val_loss", "weight_norm")]
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
               for value in numbers):
        return None
    return healthy
