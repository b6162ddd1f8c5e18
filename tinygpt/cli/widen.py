"""`tinygpt widen`: the options of `tinygpt.train.widen` — write a checkpoint k times as wide that computes the same
logits, to train further with more capacity without losing what the narrow model learned."""

from __future__ import annotations

import sys
from pathlib import Path

from tinygpt.checkpoint import CheckpointError
from tinygpt.cli import ArgumentParser, print_stderr
from tinygpt.outputs import OutputError
from tinygpt.train.widen import widen_checkpoint


def main(argv: list[str] | None = None) -> int:
    """`tinygpt widen CHECKPOINT OUT [--factor 2] [--noise 0.5] [--seed 0] [--force]`."""
    parser = ArgumentParser(prog="tinygpt widen", description="Write a checkpoint k times as wide that computes "
                            "the same logits, to train further with more capacity.")
    parser.add_argument("checkpoint", type=Path, help="TinyGPT checkpoint (.safetensors) to widen")
    parser.add_argument("out", type=Path, help="widened checkpoint to write (its tokenizer is copied beside it)")
    parser.add_argument("--factor", type=int, default=2, help="width multiplier, an integer >= 2 (heads multiply "
                        "with it; the head size stays)")
    parser.add_argument("--noise", type=float, default=0.5, help="noise that lets the copies of each unit part, "
                        "relative to each matrix's spread; it cancels at the start (the logits stay the same)")
    parser.add_argument("--seed", type=int, default=0, help="seed of that noise")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")
    args = parser.parse_args(argv)
    if args.factor < 2:
        parser.error(f"--factor must be an integer >= 2, got {args.factor}")
    if not 0 <= args.noise < float("inf"):
        parser.error(f"--noise must be a finite number >= 0, got {args.noise}")
    try:
        wide = widen_checkpoint(args.checkpoint, args.out, args.factor, args.noise, args.seed, args.force)
    except (CheckpointError, OutputError, ValueError) as err:
        print_stderr(f"tinygpt widen: error: {' '.join(str(err).split())}")
        return 2
    except OSError as err:
        print_stderr(f"tinygpt widen: error: cannot write {args.out}: {err}")
        return 1
    c = wide.config
    print(f"wrote {args.out}: width {c.n_embd}, {c.n_head} heads, {c.num_parameters():,} parameters; train it with "
          f"--init_from={args.out} --n_embd={c.n_embd} --n_head={c.n_head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
