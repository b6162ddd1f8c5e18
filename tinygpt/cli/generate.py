"""`tinygpt generate`: the command line around the `generate` API of generate.py.

    tinygpt generate --prompt "def fibonacci(n):" --strategy sample --top-p 0.95 --seed 0
    tinygpt generate --prompt-file head.py --strategy beam --num-beams 4 --complete-function
    echo "for i in" | tinygpt generate --strategy greedy
    tinygpt generate --interactive
    tinygpt generate --prompt "def add(a, b):" --strategy sample --temperature 0.7 --top-k 20 --explain

Options left out keep the defaults of the one builder (`tinygpt.generate.decoding_config` at the "generate" door,
which the evaluation commands and the playground reach at theirs, so a setting means the same everywhere). Bad
command-line input is one line on stderr and exit status 2; a checkpoint that cannot produce finite logits, or output
that cannot be written, one line and exit status 1; output piped into a reader that stops early (`| head`) ends
quietly (status 141, as for SIGPIPE).

--explain prints, after the text, each generated token's candidates after each logits processor, in the order they
ran, and which token was finally chosen (`format_trace`):

    --- step 3: chose ' return' (p 0.412 after the processors, 0.231 from the model) ---
      model                   ' return' 0.231  ' if' 0.120  ' self' 0.090  ...  (4096 tokens possible)
      RepetitionPenalty(1.3)  ' return' 0.244  ' if' 0.127  ' self' 0.081  ...  (4096 kept)
      Temperature(0.8)        ' return' 0.301  ' if' 0.133  ' self' 0.079  ...  (4096 kept)
      TopPFilter(0.95)        ' return' 0.412  ' if' 0.182  ' self' 0.108  ...  (37 kept)

The numbers are probabilities (the softmax of the scores at that stage); a filtered token has probability 0, so
"kept" counts the tokens a draw could still pick. The browser playground (`tinygpt serve`) shows the same table.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable
from pathlib import Path

from tinygpt.cli import EXIT_BAD_ARGUMENT, EXIT_FAILED, ArgumentParser, print_stderr, run_command
from tinygpt.code_completion import prepare_prompt
from tinygpt.generate import (
    DEFAULT_CHECKPOINT,
    DOOR_DEFAULTS,
    STRATEGY_DEFAULTS,
    Completion,
    GenerateError,
    decoding_config,
    encode_prompt,
    generate,
    load_generator,
)
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, check_isolation
from tinygpt.tasks.verify import first_candidate_config, has_statement, verify
from tinytorch.generation import (
    STRATEGIES,
    STRATEGY_SETTINGS,
    DecodingTrace,
    GenerationConfig,
    GenerationConfigError,
    GenerationError,
    StepTrace,
)

__all__ = ["DECODING_OPTIONS", "add_sampling_arguments", "build_parser", "config_from_args", "decoding_request",
           "format_trace", "main", "option_message", "run_generating_command", "setting_default", "show",
           "strategy_help"]

DOOR = "generate"  # this command's defaults in tinygpt.generate.DOOR_DEFAULTS
DECODING_OPTIONS = ("strategy", "max_new_tokens", "temperature", "top_k", "top_p", "min_p", "seed",
                    "repetition_penalty", "no_repeat_ngram_size", "num_beams", "length_penalty", "early_stopping",
                    "num_return_sequences")
EARLY_STOPPING = {"true": True, "false": False, "never": "never", None: None}
CONFIG_DEFAULTS = {field.name: field.default for field in dataclasses.fields(GenerationConfig)}


def setting_default(name: str) -> str:
    """What a decoding option left out means, for its help: its strategy's default (STRATEGY_DEFAULTS), else
    GenerationConfig's own ("0.8", "0", "false")."""
    strategy = next((strategy for strategy, own in STRATEGY_SETTINGS.items() if name in own), None)
    value = STRATEGY_DEFAULTS.get(strategy, {}).get(name, CONFIG_DEFAULTS[name])
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"


def strategy_help(door: str) -> str:
    """Which strategy a command line that names none decodes with (`tinygpt.generate.chosen_strategy`)."""
    default = DOOR_DEFAULTS[door].strategy
    others = " or ".join(strategy for strategy in STRATEGY_SETTINGS if strategy != default)
    return f"(default: {default}; {others} when an option only it reads is given)"


def add_sampling_arguments(decoding, door: str) -> None:
    """The sampling and penalty options, shared by `tinygpt generate` and the evaluation commands; the defaults their
    help states are the builder's, at the command's `door`."""
    seed = DOOR_DEFAULTS[door].seed
    decoding.add_argument("--temperature", type=float, help=f"sample: > 0 (default {setting_default('temperature')})")
    decoding.add_argument("--top-k", type=int, help="sample: keep the k most likely tokens, 0 = off "
                                                    f"(default {setting_default('top_k')})")
    decoding.add_argument("--top-p", type=float, help="sample: nucleus mass in (0, 1] "
                                                      f"(default {setting_default('top_p')})")
    decoding.add_argument("--min-p", type=float, help="sample: in [0, 1], relative to the top token "
                                                      f"(default {setting_default('min_p')})")
    decoding.add_argument("--seed", type=int, help="sample: makes the draws reproducible"
                                                   + ("" if seed is None else f" (default {seed})"))
    decoding.add_argument("--repetition-penalty", type=float,
                          help=f"> 0, 1 = off (default {setting_default('repetition_penalty')})")
    decoding.add_argument("--no-repeat-ngram-size", type=int, help="ban repeating n-grams of this size, 0 = off")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="tinygpt generate", description="Complete Python with a trained TinyGPT.")
    source = parser.add_argument_group("model")
    source.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="a trained TinyGPT (.safetensors)")
    source.add_argument("--tokenizer", type=Path, help="(default: tokenizer.json next to the checkpoint)")
    prompt = parser.add_argument_group("prompt (one of these, else stdin; \\n and \\t in --prompt and --stop are "
                                       "a newline and a tab)")
    prompt.add_argument("--prompt", action="append", help="prompt text; repeat for a batch of prompts")
    prompt.add_argument("--prompt-file", type=Path, help="read the prompt from this file")
    prompt.add_argument("--interactive", action="store_true", help="read prompts line by line, model kept loaded")
    prompt.add_argument("--unconditional", action="store_true", help="no prompt: start a new file from end-of-text")
    decoding = parser.add_argument_group("decoding")
    decoding.add_argument("--strategy", help=f"{', '.join(STRATEGIES)} {strategy_help(DOOR)}")
    decoding.add_argument("--max-new-tokens", type=int, default=DOOR_DEFAULTS[DOOR].max_new_tokens,
                          help="tokens to generate at most")
    add_sampling_arguments(decoding, DOOR)
    decoding.add_argument("--num-beams", type=int,
                          help=f"beam: beams kept per prompt (default {setting_default('num_beams')})")
    decoding.add_argument("--length-penalty", type=float,
                          help=f"beam: exponent of the length normalisation ({setting_default('length_penalty')})")
    decoding.add_argument("--early-stopping", choices=[key for key in EARLY_STOPPING if key],
                          help=f"beam: when to stop ({setting_default('early_stopping')})")
    decoding.add_argument("--num-return-sequences", type=int, help="sequences per prompt (beam: <= num_beams)")
    stopping = parser.add_argument_group("stopping and output")
    stopping.add_argument("--stop", action="append", default=[], help="stop before this string; repeatable")
    stopping.add_argument("--complete-function", action="store_true",
                          help="stop when the function or class body ends; print exactly that block")
    stopping.add_argument("--no-stream", action="store_true", help="print at the end instead of token by token")
    stopping.add_argument("--no-cache", action="store_true", help="recompute the whole context every token (slow)")
    stopping.add_argument("--explain", action="store_true",
                          help="after the text, print each step's candidates after each logits processor")
    stopping.add_argument("--explain-top", type=int, default=5, help="--explain: candidates shown per stage (1-50)")
    checking = parser.add_argument_group("code that checks itself (tinygpt.tasks.verify)")
    checking.add_argument("--verify", type=int, metavar="K", help="try K completions (greedy, or beam with "
                          "--strategy beam; then samples) and print the first that passes the prompt's >>> examples "
                          "(or --tests), else the first that compiles, defines the function and runs; implies "
                          "--complete-function")
    checking.add_argument("--tests", type=Path, metavar="FILE", help="--verify: asserts to check against instead")
    checking.add_argument("--allow-unconfined", action="store_true",
                          help="--verify: run the checks even where bubblewrap is missing (no isolation)")
    parser.set_defaults(door=DOOR)
    return parser


ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def unescape(text: str) -> str:
    """`\\n`, `\\t` and `\\\\` typed on a command line become a newline, a tab and a backslash."""
    return re.sub(r"\\([nt\\])", lambda match: ESCAPES[match.group(1)], text)


def decoding_request(args: argparse.Namespace) -> dict:
    """The decoding options of a command line by GenerationConfig field; None where left out, or where the command
    has no such option."""
    request = {name: getattr(args, name, None) for name in DECODING_OPTIONS}
    request["early_stopping"] = EARLY_STOPPING[request["early_stopping"]]
    return request


def config_from_args(args: argparse.Namespace, request: dict | None = None) -> GenerationConfig:
    """The GenerationConfig the options ask for (or `request`, the options as a command reworked them), from the one
    builder at the command's door (`args.door`): options left out keep its defaults; checked there, an error naming
    the option (GenerateError)."""
    try:
        return decoding_config(**(decoding_request(args) if request is None else request), door=args.door)
    except GenerationConfigError as err:
        raise GenerateError(option_message(err)) from None


def option_message(error: GenerationConfigError) -> str:
    """A GenerationConfigError in command-line terms: "top_p must be ..." becomes "--top-p must be ..."."""
    message, field = str(error), error.field
    if field is not None and message.startswith(field):
        message = "--" + field.replace("_", "-") + message[len(field):]
    return message


def read_prompts(args: argparse.Namespace) -> list[str] | None:
    """The prompts to run, or None for interactive mode."""
    given = [name for name in ("prompt", "prompt_file", "interactive", "unconditional") if getattr(args, name)]
    if len(given) > 1:
        raise GenerateError(f"give the prompt one way, not {' and '.join('--' + g.replace('_', '-') for g in given)}")
    if args.interactive:
        return None
    if args.unconditional:
        return [""]
    if args.prompt_file:
        try:
            prompts = [args.prompt_file.read_text(encoding="utf-8")]
        except (OSError, UnicodeDecodeError) as err:
            raise GenerateError(f"cannot read --prompt-file {args.prompt_file}: {err}") from None
    elif args.prompt:
        prompts = [unescape(p) for p in args.prompt]
    elif sys.stdin is not None and not sys.stdin.isatty():
        prompts = [read_stdin()]
    else:
        raise GenerateError("no prompt: pass --prompt, --prompt-file, text on stdin, --interactive or --unconditional")
    if any(not p.strip() for p in prompts):
        raise GenerateError("the prompt is empty; pass --unconditional to start a new file from end-of-text")
    return prompts


def read_stdin() -> str:
    """All of stdin, decoded as UTF-8 whatever the locale says."""
    try:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
        return data.decode("utf-8")
    except UnicodeError as err:
        raise GenerateError(f"the prompt on stdin is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise GenerateError(f"cannot read the prompt from stdin: {err.strerror or err}") from None


def show(completions: list[Completion], complete_function: bool, per_prompt: int) -> None:
    for index, completion in enumerate(completions):
        if len(completions) > 1:
            score = "" if completion.score is None else f", score {completion.score:.4f}"
            print(f"# --- prompt {index // per_prompt + 1}, sequence {index % per_prompt + 1}{score} ---")
        if not complete_function:
            print(completion.prompt + completion.text)
        elif completion.function is None:
            print(f"# (no def or class was generated)\n{completion.prompt + completion.text}")
        else:
            print(completion.function.text, end="")
            if completion.function.truncated:
                print_stderr("note: max_new_tokens ran out inside the body; trimmed to the last complete statement")
            if not completion.function.compiles:
                print_stderr("note: this block does not compile (compile() rejects it)")


def write_flushed(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def check_explain(args: argparse.Namespace, prompts: list[str] | None, config: GenerationConfig) -> None:
    if not 1 <= args.explain_top <= 50:
        raise GenerateError(f"--explain-top must be in [1, 50], got {args.explain_top}")
    if args.explain and (config.strategy == "beam" or config.num_return_sequences != 1
                         or (prompts is not None and len(prompts) != 1)):
        raise GenerateError("--explain follows one sequence: one prompt, --num-return-sequences 1, not beam search")


def token_text(decode: Callable[[list[int]], str], token: int) -> str:
    """A token as a quoted string literal, so spaces, newlines and tabs are visible."""
    return repr(decode([token]))


def format_step(step: StepTrace, decode: Callable[[list[int]], str], top: int) -> str:
    chosen = "?" if step.chosen is None else token_text(decode, step.chosen)
    probs = step.chosen_probs or [float("nan")]
    lines = [f"--- step {step.step + 1}: chose {chosen} (p {probs[-1]:.3f} after the processors, "
             f"{probs[0]:.3f} from the model) ---"]
    width = max(len(stage.name) for stage in step.stages)
    for index, stage in enumerate(step.stages):
        shown = [f"{token_text(decode, token)} {prob:.3f}"
                 for token, prob in zip(stage.token_ids[:top], stage.probs[:top]) if prob > 0]
        more = "  ..." if stage.kept > len(shown) else ""
        note = f"{stage.kept} tokens possible" if index == 0 else f"{stage.kept} kept"
        lines.append(f"  {stage.name:<{width}}  {'  '.join(shown)}{more}  ({note})")
    return "\n".join(lines)


def format_trace(trace: DecodingTrace, decode: Callable[[list[int]], str], top: int = 5) -> str:
    """--explain's table: every step of `trace`, `top` candidates per stage."""
    return "\n".join(format_step(step, decode, top) for step in trace.steps)


def run_prompts(model, tokenizer, prompts: list[str], config: GenerationConfig, args: argparse.Namespace) -> None:
    streaming = (not args.no_stream and len(prompts) == 1 and config.num_return_sequences == 1
                 and config.strategy != "beam" and not args.complete_function)
    stop = [unescape(s) for s in args.stop]
    trace = DecodingTrace(top=args.explain_top) if args.explain else None
    if streaming:
        print(encode_prompt(tokenizer, prepare_prompt(prompts[0])).text, end="", flush=True)
    completions = generate(model, tokenizer, prompts, config, stop_strings=stop,
                           complete_function=args.complete_function, stream=write_flushed if streaming else None,
                           use_cache=not args.no_cache, trace=trace)
    if streaming:
        print()
    else:
        show(completions, args.complete_function, config.num_return_sequences)
    if trace is not None:
        print(format_trace(trace, tokenizer.decode, args.explain_top))


def interact(model, tokenizer, config: GenerationConfig, args: argparse.Namespace) -> None:
    if sys.stdin is None:
        raise GenerateError("--interactive reads prompts from stdin, which is closed")
    print("TinyGPT interactive: one prompt per line (\\n for a newline), an empty line or Ctrl-D to quit.")
    while True:
        try:
            line = input(">>> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if not line.strip():
            return
        run_prompts(model, tokenizer, [unescape(line)], config, args)


def verify_options(args: argparse.Namespace, prompts: list[str] | None) -> tuple[str | None, SandboxLimits]:
    """The --tests text (None: the prompt's own examples) and the sandbox limits; errors name the option."""
    if args.verify is None:
        if args.tests is not None or args.allow_unconfined:
            raise GenerateError(f"--{'tests' if args.tests is not None else 'allow-unconfined'} needs --verify K")
        return None, SandboxLimits()
    if not 1 <= args.verify <= 100:
        raise GenerateError(f"--verify must be between 1 and 100 candidates, got {args.verify}")
    if prompts is None or len(prompts) != 1 or args.explain:
        raise GenerateError("--verify checks one prompt: give one --prompt (or --prompt-file), without --explain")
    tests = None
    if args.tests is not None:
        try:
            tests = args.tests.read_text(encoding="utf-8")
            compile(tests, str(args.tests), "exec")
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as err:
            raise GenerateError(f"cannot use --tests {args.tests}: {err}") from None
        if not has_statement(tests):  # an unsaved or wrong file: checking against nothing is never what was meant
            raise GenerateError(f"--tests {args.tests} holds no statement to run (it is empty or only comments): "
                                "write asserts in it, or leave --tests out to check against the prompt's >>> examples")
    limits = SandboxLimits(allow_unconfined=args.allow_unconfined)
    try:
        if not check_isolation(limits):
            print_stderr("warning: no sandbox here: generated code runs WITHOUT isolation (--allow-unconfined)")
    except SandboxUnavailable as err:
        raise GenerateError(f"--verify runs generated code: {err}, or pass --allow-unconfined") from None
    return tests, limits


def run_verified(model, tokenizer, prompt: str, config: GenerationConfig, args: argparse.Namespace,
                 tests: str | None, limits: SandboxLimits) -> None:
    """Print the chosen completion; on stderr, which candidate passed which checks, or that none did."""
    result = verify(model, tokenizer, prompt, args.verify, config, tests, limits,
                    seed=0 if args.seed is None else args.seed, stop_strings=[unescape(s) for s in args.stop])
    completion = result.completion
    print(completion.function.text if completion.function else completion.prompt + completion.text, end="")
    if result.verified:
        print_stderr(f"verified: candidate {result.tried} of {args.verify} passed {result.checks}")
    else:
        first = first_candidate_config(config).strategy
        print_stderr(f"not verified: none of {result.tried} candidates passed {result.checks}; this is the first, "
                     f"{first} ({result.results[0].reason})")


def run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    prompts = read_prompts(args)
    check_explain(args, prompts, config)
    tests, limits = verify_options(args, prompts)
    model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
    if args.verify is not None:
        run_verified(model, tokenizer, prompts[0], config, args, tests, limits)
    elif prompts is None:
        interact(model, tokenizer, config, args)
    else:
        run_prompts(model, tokenizer, prompts, config, args)
    return 0


def run_generating_command(prog: str, body: Callable[[], int]) -> int:
    """`cli.run_command` for the commands that generate (generate, eval-functions, eval-suite, eval-humaneval), each
    error one line: a model that cannot produce finite logits is exit 1; bad input (GenerateError, a setting out of
    range, a dataset or task file that cannot be read: ValueErrors) exit 2; Ctrl-C 130 (`run_command`)."""
    try:
        return run_command(prog, body)
    except GenerationError as err:  # the checkpoint cannot go on: not a bad argument
        print_stderr(f"{prog}: error: {err}")
        return EXIT_FAILED
    except GenerationConfigError as err:  # settings that would need too much memory
        print_stderr(f"{prog}: error: {option_message(err)}")
        return EXIT_BAD_ARGUMENT
    except ValueError as err:
        print_stderr(f"{prog}: error: {err}")
        return EXIT_BAD_ARGUMENT


def main(argv: list[str] | None = None) -> int:
    """`tinygpt generate [options]`: exit 0; 2 with one line on stderr for bad input; 1 with one line when the
    checkpoint cannot produce finite logits or the output cannot be written; 141 when the reader of stdout left."""
    return run_generating_command("tinygpt generate", lambda: run(argv))


if __name__ == "__main__":
    sys.exit(main())
