"""The command-line options that `tinygpt eval-suite`, `eval-mbpp` and `eval-humaneval` share, and how they become a
decoding config (the one builder, `tinygpt.generate.decoding_config`, at each command's door) and sandbox limits (the
engine they drive is `task_eval.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinygpt.cli import output_file, print_stderr
from tinygpt.cli.generate import (
    add_sampling_arguments,
    config_from_args,
    decoding_request,
    setting_default,
    strategy_help,
)
from tinygpt.generate import DEFAULT_CHECKPOINT, DOOR_DEFAULTS, GenerateError, chosen_strategy
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, check_isolation
from tinytorch.generation import STRATEGIES, STRATEGY_SETTINGS, GenerationConfig

__all__ = ["BEAM_OPTIONS", "MAX_MEMORY_MB", "MAX_TIMEOUT_S", "SAMPLING_OPTIONS", "add_beam_arguments",
           "add_common_arguments", "eval_config", "sandbox_limits", "timeout_problem"]

SAMPLING_OPTIONS = ("temperature", "top_k", "top_p", "min_p", "seed")
BEAM_OPTIONS = ("num_beams", "length_penalty")
# The sandbox's limits as the kernel takes them (setrlimit): the CPU time in whole seconds and the address space in
# bytes. Far beyond these they overflow and every program ends in "error"; these bounds are far past any test.
MAX_TIMEOUT_S = 600
MAX_MEMORY_MB = 1 << 20  # 1 TiB


def add_common_arguments(parser: argparse.ArgumentParser, door: str, with_strategy: bool = True) -> None:
    """Model, decoding (as `tinygpt generate`, with the defaults of `door`: greedy unless a sampling option, --seed
    included, or --num-beams is given), sandbox and output. `with_strategy` adds --strategy and beam search's
    options."""
    model = parser.add_argument_group("model")
    model.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained TinyGPT (.safetensors)")
    model.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    decoding = parser.add_argument_group("decoding")
    if with_strategy:
        decoding.add_argument("--strategy", choices=STRATEGIES, help=strategy_help(door))
        add_beam_arguments(decoding)
    decoding.add_argument("--max-new-tokens", type=int, default=DOOR_DEFAULTS[door].max_new_tokens,
                          help="tokens to generate at most")
    add_sampling_arguments(decoding, door)
    parser.set_defaults(door=door)
    sandbox = parser.add_argument_group("sandbox and output")
    sandbox.add_argument("--timeout", type=float, default=5.0,
                         help=f"seconds per program, wall clock, at most {MAX_TIMEOUT_S} (default 5)")
    sandbox.add_argument("--memory-mb", type=int, default=1024,
                         help=f"address-space limit per program, in [64, {MAX_MEMORY_MB}] (default 1024)")
    sandbox.add_argument("--verify", type=int, metavar="K", help="also: pick each task's completion from K (greedy, "
                         "then samples) by the examples in its prompt, never its tests; reported apart")
    sandbox.add_argument("--allow-unconfined", action="store_true",
                         help="where bubblewrap is missing, run generated code without isolation instead of refusing")
    sandbox.add_argument("--json", type=output_file, help="also write every completion and its results here")


def add_beam_arguments(group) -> None:
    """--num-beams and --length-penalty; beam search's best hypothesis is the one attempt judged."""
    group.add_argument("--num-beams", type=int,
                       help=f"beam: beams kept (default {setting_default('num_beams')}); the best one is judged")
    group.add_argument("--length-penalty", type=float,
                       help=f"beam: exponent of the length normalisation ({setting_default('length_penalty')})")


def eval_config(args: argparse.Namespace, strategy: str | None = None, sampling_options: bool = True,
                **overrides) -> GenerationConfig:
    """The GenerationConfig the decoding options ask for, validated; errors name the option (GenerateError). Beam
    search returns its best hypothesis only: one attempt per task, as greedy.

    `strategy` is a run the command decides (HumanEval's sampled run): the options only another strategy reads are
    left out of it. `sampling_options=False` leaves the sampling options out (HumanEval's pass@1 run, greedy or beam
    search, when they belong to its sampled run)."""
    request = decoding_request(args)
    if not sampling_options:
        request |= dict.fromkeys(SAMPLING_OPTIONS)
    if strategy is None:
        chosen = chosen_strategy(request["strategy"], request, args.door)
        given = [name for name in SAMPLING_OPTIONS if request[name] is not None]
        beam_given = [name for name in BEAM_OPTIONS if request[name] is not None]
        if chosen != "sample" and given:
            raise GenerateError(f"--{given[0].replace('_', '-')} needs sampling; drop --strategy {chosen}")
        if chosen != "beam" and beam_given:
            raise GenerateError(f"--{beam_given[0].replace('_', '-')} needs --strategy beam")
    else:
        others = {name for other, own in STRATEGY_SETTINGS.items() if other != strategy for name in own}
        request = {name: None if name in others else value for name, value in request.items()}
        request["strategy"] = strategy
    return config_from_args(args, {**request, **overrides})


def timeout_problem(seconds: float) -> str | None:
    """Why `--timeout seconds` cannot bound one sandboxed program (not > 0, not finite, past MAX_TIMEOUT_S); None
    when it can. Every command with a sandbox timeout checks it here."""
    if not 0 < seconds <= MAX_TIMEOUT_S:
        return f"--timeout must be > 0 seconds and at most {MAX_TIMEOUT_S}, got {seconds:g}"
    return None


def sandbox_limits(args: argparse.Namespace) -> SandboxLimits:
    """The sandbox settings the options ask for. Where bubblewrap cannot run, refuses in one line (GenerateError)
    unless --allow-unconfined, which is then said on stderr."""
    if problem := timeout_problem(args.timeout):
        raise GenerateError(problem)
    if args.verify is not None and not 1 <= args.verify <= 100:
        raise GenerateError(f"--verify must be between 1 and 100 candidates, got {args.verify}")
    if not 64 <= args.memory_mb <= MAX_MEMORY_MB:
        raise GenerateError(f"--memory-mb must be in [64, {MAX_MEMORY_MB}], got {args.memory_mb}")
    limits = SandboxLimits(timeout_s=args.timeout, memory_mb=args.memory_mb, allow_unconfined=args.allow_unconfined)
    try:
        confined = check_isolation(limits)
    except SandboxUnavailable as err:
        raise GenerateError(f"{err}, or pass --allow-unconfined to run it without one") from None
    if not confined:
        print_stderr("warning: no sandbox here: generated code runs WITHOUT isolation (--allow-unconfined)")
    return limits
