"""Generate Python with a trained TinyGPT: the `generate(model, tokenizer, prompt, ...)` API and the
`tinygpt generate` command.

    tinygpt generate --prompt "def fibonacci(n):" --strategy sample --top-p 0.95 --seed 0
    tinygpt generate --prompt-file head.py --strategy beam --num-beams 4 --complete-function
    echo "for i in" | tinygpt generate --strategy greedy
    tinygpt generate --interactive
    tinygpt generate --prompt "def add(a, b):" --strategy sample --temperature 0.7 --top-k 20 --explain

How a prompt is read:
- It starts after an end-of-text token, which is what the model saw at the start of each training file, so the
  prompt reads as the beginning of a file. An empty prompt is therefore allowed in the API (and with
  `--unconditional` on the command line): the model starts a new file from end-of-text alone.
- A prompt whose last line is a comment or a docstring gets a newline, so the model answers it with code
  (`# return the largest of three numbers`).
- Token healing: the prompt's last token is given back to the model, which regenerates it under the constraint
  that it spell the same text (or more). Without this, a prompt ending in a newline would end in a bare newline
  token, which in training only ever preceded an unindented line (indentation is merged into the newline token),
  and the model could never write an indented body after `def f(x):\n`. `Completion.prompt` is the prompt without
  that last token; `prompt + text` is the whole document.

The decoding itself (processors, greedy, sampling, beam search, KV cache) lives in `tinytorch.generation`; this
module connects it to a GPT and a tokenizer, adds code-aware stopping (`--complete-function`, see
`code_completion.py`) and the command line. Bad command-line input is one line on stderr and exit status 2; a
checkpoint that cannot produce finite logits, or output that cannot be written, one line and exit status 1; output
piped into a reader that stops early (`| head`) ends quietly (status 141, as for SIGPIPE).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinytorch as tt
from tinytorch.generation import (
    STRATEGIES,
    Decoder,
    DecodingTrace,
    FirstTokenPrefix,
    GenerationConfig,
    GenerationConfigError,
    GenerationError,
    StopStrings,
    TextStreamer,
    VocabularyLimit,
    truncate_at_stop_string,
)
from tinytorch.generation import generate as generate_ids
from tinytorch.text import END_OF_TEXT, load_tokenizer

from .checkpoint import CheckpointError, load_model
from .cli import EXIT_BAD_ARGUMENT, EXIT_FAILED, ArgumentParser, print_stderr, run_command
from .code_completion import FunctionBlock, FunctionEnd, extract_function, prepare_prompt
from .explain import format_trace
from .model import GPT

__all__ = ["Completion", "GenerateError", "generate", "gpt_decoder", "load_generator", "main", "option_message",
           "run_generating_command"]

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPOSITORY / "models" / "tinygpt-stdlib" / "model.safetensors"  # found from any directory


class GenerateError(ValueError):
    """Bad input to generation (checkpoint, tokenizer, prompt, settings); the message is one line for a person."""


@dataclass
class Completion:
    """One generated continuation.

    prompt: the prompt as the model read it (see token healing above); text: what the model added, without
    end-of-text or stop string;
    finish_reason: "end_of_text", "stop_string", "function_end" or "length"; score: beam search only;
    function: with complete_function, the completed block (None if the model wrote no def or class).
    """

    prompt: str
    text: str
    tokens: list[int]
    finish_reason: str
    score: float | None = None
    function: FunctionBlock | None = None


@dataclass
class EncodedPrompt:
    text: str  # the prompt the model continues: without the healed token
    ids: list[int]  # end-of-text, then the tokens of `text`
    healed: str  # the text of the last token, which the model regenerates ("" if none)


def end_of_text_id(tokenizer) -> int:
    return tokenizer.special_tokens[END_OF_TEXT]


def encode_prompt(tokenizer, prompt: str) -> EncodedPrompt:
    """Encode a prompt after end-of-text and take its last token back for healing (unless it is not plain text)."""
    ids = [end_of_text_id(tokenizer)] + tokenizer.encode(prompt, allow_special=False)
    last = tokenizer.decode(ids[-1:]) if len(ids) > 1 else ""
    if not last or "\ufffd" in last or not prompt.endswith(last):
        return EncodedPrompt(prompt, ids, "")
    return EncodedPrompt(prompt[:-len(last)], ids[:-1], last)


def healing_constraint(tokenizer, encoded: EncodedPrompt) -> list[FirstTokenPrefix]:
    """The first generated token must spell the healed text, possibly followed by more."""
    if not encoded.healed:
        return []
    special = set(tokenizer.special_tokens.values())
    allowed = [token for token in range(tokenizer.vocab_size)
               if token not in special and tokenizer.decode([token]).startswith(encoded.healed)]
    return [FirstTokenPrefix(np.array(allowed), len(encoded.ids))]


def load_generator(checkpoint: str | Path, tokenizer_path: str | Path | None = None):
    """(model in eval mode, tokenizer). The tokenizer defaults to `tokenizer.json` next to the checkpoint, then to
    the file the checkpoint's metadata names. Raises GenerateError naming the file and the problem."""
    checkpoint = Path(checkpoint)
    try:
        model, document, _ = load_model(checkpoint)
    except CheckpointError as err:
        hint = ""
        if not checkpoint.exists():
            hint = "; train one with `python train.py configs/stdlib.json` or pass --checkpoint PATH"
        raise GenerateError(f"{err}{hint}") from None
    model.eval()
    check_finite_weights(model, checkpoint)
    candidates = [Path(tokenizer_path)] if tokenizer_path else [checkpoint.with_name("tokenizer.json")]
    named = document.get("tokenizer")
    if tokenizer_path is None and isinstance(named, str):
        candidates.append(Path(named))
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise GenerateError(f"no tokenizer found (looked for {', '.join(map(str, candidates))}); pass --tokenizer")
    try:
        tokenizer = load_tokenizer(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise GenerateError(f"cannot read tokenizer {path}: {err}") from None
    if tokenizer.vocab_size > model.config.vocab_size or END_OF_TEXT not in tokenizer.special_tokens:
        raise GenerateError(f"tokenizer {path} ({tokenizer.vocab_size} tokens) does not fit the checkpoint "
                            f"({model.config.vocab_size} tokens) or lacks {END_OF_TEXT}")
    return model, tokenizer


def check_finite_weights(model: GPT, checkpoint: Path) -> None:
    """A diverged training run can leave NaN or infinite weights; such a model's logits are NaN from the first
    token, so refuse it at once, naming the first broken tensor."""
    for name, parameter in model.named_parameters():
        if not np.isfinite(parameter.data).all():
            raise GenerationError(f"checkpoint {checkpoint}: weight {name} holds NaN or infinity (the training run "
                                  "that wrote it diverged); use an earlier checkpoint")


def decoding_row_bytes(model: GPT) -> int:
    """Memory one sequence costs while `model` decodes it, an upper bound in bytes (float32): its KV cache at full
    context (2 x n_layer x block_size x n_embd), one layer's attention scores and MLP activations when a full window
    is prefilled (n_head x block_size^2 + 8 x block_size x n_embd), and the copies of its next-token scores that the
    search loops make (about 8 x vocab_size)."""
    c = model.config
    kv_cache = 2 * c.n_layer * c.block_size * c.n_embd
    prefill = c.n_head * c.block_size ** 2 + 8 * c.block_size * c.n_embd
    return 4 * (kv_cache + prefill + 8 * c.vocab_size)


def gpt_decoder(model: GPT, use_cache: bool = True) -> Decoder:
    """A `tinytorch.generation.Decoder` stepping `model`: last-position logits, KV cache on by default."""

    def step(tokens: np.ndarray, kv_caches: list | None) -> np.ndarray:
        with tt.no_grad():
            logits, _ = model(tokens, kv_caches=kv_caches, last_only=True)
        return logits.data[:, -1, :]

    return Decoder(step, model.config.block_size, model.new_kv_caches, use_cache=use_cache,
                   vocab_size=model.config.vocab_size, row_bytes=decoding_row_bytes(model))


def generate(model: GPT, tokenizer, prompts: str | Sequence[str], config: GenerationConfig | None = None, *,
             stop_strings: Sequence[str] = (), complete_function: bool = False,
             stream: Callable[[str], object] | None = None, use_cache: bool = True,
             trace: DecodingTrace | None = None, on_token: Callable[[int], object] | None = None) -> list[Completion]:
    """Continue each prompt; returns `config.num_return_sequences` completions per prompt, prompt by prompt.

    Prompts with the same number of tokens run as one batch (rows of a batch must line up position by position);
    with `complete_function` each prompt runs alone, because the end of a function depends on its own prompt.
    `stream` (one prompt, one sequence, not beam search, not complete_function) receives text as it is generated;
    `trace` (one prompt, not beam search) records the candidates after each logits processor at every step.
    `on_token` (one prompt, one sequence, not beam search) is called with each token id as soon as it is chosen,
    the end-of-text that may finish the sequence included, after `trace` has recorded its step; an exception it
    raises stops the generation and propagates (a web client that went away).
    Invalid settings raise `tinytorch.generation.GenerationConfigError`; a model whose logits are not finite,
    `tinytorch.generation.GenerationError`. Ids beyond the tokenizer's vocabulary (a padded embedding table) are
    never generated.
    """
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    encoded = [encode_prompt(tokenizer, prepare_prompt(prompt)) for prompt in prompts]
    eot = end_of_text_id(tokenizer)
    config = dataclasses.replace(config or GenerationConfig(), eos_token_id=eot)
    config.validate()
    if stream is not None and (len(encoded) != 1 or config.num_return_sequences != 1 or complete_function):
        raise ValueError("streaming shows a single sequence: one prompt, one return sequence, no complete_function")
    if trace is not None and len(encoded) != 1:
        raise ValueError("a decoding trace follows a single prompt")
    if on_token is not None and (len(encoded) != 1 or config.num_return_sequences != 1):
        raise ValueError("on_token follows a single sequence: one prompt, one return sequence")
    groups: dict[object, list[int]] = {}  # prompts that can share a batch: same length, same healed token
    for index, prompt in enumerate(encoded):
        groups.setdefault(index if complete_function else (len(prompt.ids), prompt.healed), []).append(index)

    decoder = gpt_decoder(model, use_cache)
    decodable = [VocabularyLimit(tokenizer.vocab_size)] if tokenizer.vocab_size < model.config.vocab_size else []
    results: list[list[Completion]] = [[] for _ in encoded]
    for indices in groups.values():
        first = encoded[indices[0]]
        criteria = [StopStrings(stop_strings, tokenizer.decode)] if stop_strings else []
        if complete_function:
            criteria.append(FunctionEnd(first.text, tokenizer.decode))
        streamer = None if stream is None else TextStreamer(tokenizer.decode, stream, stop_strings, eot)
        if on_token is not None:
            streamer = TokenCallback(on_token, trace, streamer)
        prompt_ids = np.array([encoded[i].ids for i in indices], dtype=np.int64)
        constraints = decodable + healing_constraint(tokenizer, first)
        output = generate_ids(decoder, prompt_ids, config, criteria, streamer, constraints, trace)
        for row, tokens in enumerate(output.tokens):
            index = indices[row // config.num_return_sequences]
            score = None if output.scores is None else output.scores[row]
            results[index].append(
                make_completion(encoded[index].text, tokens, tokenizer, eot, stop_strings, complete_function, score))
    return [completion for per_prompt in results for completion in per_prompt]


class TokenCallback:
    """A streamer that settles the trace's step, calls `on_token` with the chosen token, then feeds `inner`."""

    def __init__(self, on_token: Callable[[int], object], trace: DecodingTrace | None, inner: TextStreamer | None):
        self.on_token, self.trace, self.inner = on_token, trace, inner

    def put(self, tokens: np.ndarray) -> None:
        token = int(np.asarray(tokens).reshape(-1)[0])
        if self.trace is not None:
            self.trace.settle(token)
        self.on_token(token)
        if self.inner is not None:
            self.inner.put(tokens)

    def end(self) -> None:
        if self.inner is not None:
            self.inner.end()


def make_completion(prompt: str, tokens: list[int], tokenizer, eot: int, stop_strings: Sequence[str],
                    complete_function: bool, score: float | None) -> Completion:
    """Decode a generated token list, cut it at a stop string, and extract the function if asked."""
    ended_by_eot = bool(tokens) and tokens[-1] == eot
    text, stop = truncate_at_stop_string(tokenizer.decode(tokens[:-1] if ended_by_eot else tokens), stop_strings)
    reason = "end_of_text" if ended_by_eot else "stop_string" if stop is not None else "length"
    function = None
    if complete_function:
        function = extract_function(prompt, text, end_of_file=ended_by_eot or stop is not None)
        if function is not None and function.ended and reason == "length":
            reason = "function_end"
    return Completion(prompt, text, tokens, reason, score, function)


def add_sampling_arguments(decoding) -> None:
    """The sampling and penalty options, shared by `tinygpt generate` and the evaluation commands."""
    decoding.add_argument("--temperature", type=float, help="sample: > 0 (default 0.8)")
    decoding.add_argument("--top-k", type=int, help="sample: keep the k most likely tokens, 0 = off (default 0)")
    decoding.add_argument("--top-p", type=float, help="sample: nucleus mass in (0, 1] (default 0.95)")
    decoding.add_argument("--min-p", type=float, help="sample: in [0, 1], relative to the top token (default 0)")
    decoding.add_argument("--seed", type=int, help="sample: makes the draws reproducible")
    decoding.add_argument("--repetition-penalty", type=float, help="> 0, 1 = off (default 1)")
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
    decoding.add_argument("--strategy", help=f"{', '.join(STRATEGIES)} (default: beam with --num-beams, else sample)")
    decoding.add_argument("--max-new-tokens", type=int, default=128, help="tokens to generate at most")
    add_sampling_arguments(decoding)
    decoding.add_argument("--num-beams", type=int, help="beam: beams kept per prompt (default 4)")
    decoding.add_argument("--length-penalty", type=float, help="beam: exponent of the length normalisation (1)")
    decoding.add_argument("--early-stopping", choices=["true", "false", "never"], help="beam: when to stop (false)")
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
    return parser


ESCAPES = {"n": "\n", "t": "\t", "\\": "\\"}


def unescape(text: str) -> str:
    """`\\n`, `\\t` and `\\\\` typed on a command line become a newline, a tab and a backslash."""
    return re.sub(r"\\([nt\\])", lambda match: ESCAPES[match.group(1)], text)


def config_from_args(args: argparse.Namespace) -> GenerationConfig:
    """The GenerationConfig the options ask for (options left out keep their defaults); validated."""
    if args.max_new_tokens < 1:  # 0 would print the prompt without the last token that healing took back
        raise GenerateError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    strategy = args.strategy or ("beam" if args.num_beams is not None else "sample")
    settings = {"strategy": strategy, "max_new_tokens": args.max_new_tokens}
    if strategy == "sample":
        settings |= {"temperature": 0.8, "top_p": 0.95}
    if strategy == "beam":
        settings["num_beams"] = 4
    for name in ("temperature", "top_k", "top_p", "min_p", "seed", "repetition_penalty", "no_repeat_ngram_size",
                 "num_beams", "length_penalty", "num_return_sequences"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.early_stopping is not None:
        settings["early_stopping"] = {"true": True, "false": False, "never": "never"}[args.early_stopping]
    config = GenerationConfig(**settings)
    try:
        config.validate()
    except GenerationConfigError as err:
        raise GenerateError(option_message(err)) from None
    return config


def option_message(error: GenerationConfigError) -> str:
    """A GenerationConfigError in command-line terms: "top_p must be ..." becomes "--top-p must be ..."."""
    message = str(error)
    name = re.match(r"\w*", message).group()
    if name in {field.name for field in dataclasses.fields(GenerationConfig)}:
        message = "--" + name.replace("_", "-") + message[len(name):]
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
            if not completion.function.parses:
                print_stderr("note: this block does not parse (ast.parse rejects it)")


def write_flushed(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def check_explain(args: argparse.Namespace, prompts: list[str] | None, config: GenerationConfig) -> None:
    if not 1 <= args.explain_top <= 50:
        raise GenerateError(f"--explain-top must be in [1, 50], got {args.explain_top}")
    if args.explain and (config.strategy == "beam" or config.num_return_sequences != 1
                         or (prompts is not None and len(prompts) != 1)):
        raise GenerateError("--explain follows one sequence: one prompt, --num-return-sequences 1, not beam search")


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


def run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    prompts = read_prompts(args)
    check_explain(args, prompts, config)
    model, tokenizer = load_generator(args.checkpoint, args.tokenizer)
    if prompts is None:
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
