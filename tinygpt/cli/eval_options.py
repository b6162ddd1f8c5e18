"""The command-line options that `tinygpt eval-suite` and `tinygpt eval-humaneval` share, and how they become a
decoding config and sandbox limits (the engine they drive is `task_eval.py`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinygpt.cli import output_file, print_stderr
from tinygpt.cli.generate import add_sampling_arguments, option_message
from tinygpt.generate import DEFAULT_CHECKPOINT, GenerateError
from tinygpt.generate import decoding_config as api_decoding_config
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, check_isolation
from tinytorch.generation import GenerationConfig, GenerationConfigError

__all__ = ["BEAM_OPTIONS", "MAX_MEMORY_MB", "MAX_TIMEOUT_S", "SAMPLING_OPTIONS", "add_beam_arguments",
           "add_common_arguments", "decoding_config", "sandbox_limits", "timeout_problem"]

SAMPLING_OPTIONS = ("temperature", "top_k", "top_p", "min_p", "seed")
BEAM_OPTIONS = ("num_beams", "length_penalty")
# The sandbox's limits as the kernel takes them (setrlimit): the CPU time in whole seconds and the address space in
# bytes. Far beyond these they overflow and every program ends in "error"; these bounds are far past any test.
MAX_TIMEOUT_S = 600
MAX_MEMORY_MB = 1 << 20  # 1 TiB


def add_common_arguments(parser: argparse.ArgumentParser, max_new_tokens: int, with_strategy: bool = True) -> None:
    """Model, decoding (as `tinygpt generate`; greedy unless a sampling option, --seed included, or --num-beams is
    given), sandbox and output. `with_strategy` adds --strategy and beam search's options."""
    model = parser.add_argument_group("model")
    model.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained TinyGPT (.safetensors)")
    model.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    decoding = parser.add_argument_group("decoding")
    if with_strategy:
        decoding.add_argument("--strategy", choices=["greedy", "sample", "beam"],
                              help="(default: greedy; sample when a sampling option is given, beam with --num-beams)")
        add_beam_arguments(decoding)
    decoding.add_argument("--max-new-tokens", type=int, default=max_new_tokens, help="tokens to generate at most")
    add_sampling_arguments(decoding)
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
    group.add_argument("--num-beams", type=int, help="beam: beams kept (default 4); the best one is judged")
    group.add_argument("--length-penalty", type=float, help="beam: exponent of the length normalisation (1)")


def decoding_config(args: argparse.Namespace, strategy: str | None = None, **overrides) -> GenerationConfig:
    """The GenerationConfig the decoding options ask for, validated; errors name the option (GenerateError).
    `strategy` overrides --strategy; greedy and beam ignore the sampling options when `strategy` is given. Beam
    search returns its best hypothesis only: one attempt per task, as greedy."""
    given = [name for name in SAMPLING_OPTIONS if getattr(args, name) is not None]
    beam_given = [name for name in BEAM_OPTIONS if getattr(args, name, None) is not None]
    if strategy is None:
        strategy = getattr(args, "strategy", None) or ("sample" if given else "beam" if beam_given else "greedy")
        if strategy != "sample" and given:
            raise GenerateError(f"--{given[0].replace('_', '-')} needs sampling; drop --strategy {strategy}")
        if strategy != "beam" and beam_given:
            raise GenerateError(f"--{beam_given[0].replace('_', '-')} needs --strategy beam")
    settings = {name: getattr(args, name) for name in (*SAMPLING_OPTIONS, "repetition_penalty",
                                                          "no_repeat_ngram_size")}
    if strategy != "sample":
        settings |= {name: None for name in SAMPLING_OPTIONS}
    elif args.seed is None:
        settings["seed"] = 0  # samples are reproducible unless asked otherwise
    if strategy == "beam":
        settings |= {name: getattr(args, name, None) for name in BEAM_OPTIONS}
    try:
        return api_decoding_config(strategy, args.max_new_tokens, **settings, **overrides)
    except GenerationConfigError as err:
        raise GenerateError(option_message(err)) from None


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
